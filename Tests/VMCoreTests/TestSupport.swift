import Foundation
import VMCore
import VMCoreTestSupport

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The genuine Linux dumps shared beside the checkout (`../shared/dumps`), when present.
let sharedDumps: URL? = {
    let url = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/dumps")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}()

/// The small real dump committed with the project.
let committedFixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")

/// Opens `bytes` as a dump named `name`.
func openDump(_ bytes: [UInt8], name: String = "test.vmcore") throws -> Dump {
    try Dump(sources: [MemorySource(name: name, bytes: bytes)])
}

/// The error `body` throws, or nil.
func caught<T>(_ body: () throws -> T) -> VMCoreError? {
    do { _ = try body(); return nil } catch let e as VMCoreError { return e } catch { return nil }
}

/// A temporary directory removed when the test process ends.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vmcore-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A builder with a spread of pages: pattern pages, all-zero pages, excluded pages and holes.
func sampleKdump(maxPFN: UInt64 = 300) -> KdumpBuilder {
    var b = KdumpBuilder(maxPFN: maxPFN)
    for pfn in stride(from: UInt64(1), to: maxPFN, by: 1) {
        switch pfn % 10 {
        case 3: b.excluded.insert(pfn)           // filtered
        case 7: b.pages[pfn] = [UInt8](repeating: 0, count: 4096)  // zero page
        case 9 where pfn > 200: break            // hole
        default: b.pages[pfn] = patternPage(pfn)
        }
    }
    b.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff82e10000\nNUMBER(phys_base)=-184549376\nKERNELOFFSET=13a00000\nCRASHTIME=1795360562\n"
    b.notes = [ELFNote(name: "CORE", type: 1, descriptor: x86_64PRStatus(pid: 0, rip: 0xffffffff81000010, rsp: 0xffffffff82003e98)),
               ELFNote(name: "CORE", type: 1, descriptor: x86_64PRStatus(pid: 132, rip: 0xffffffff81234567, rsp: 0xffffc90000453a28))]
    return b
}
