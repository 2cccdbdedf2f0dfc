import Foundation
import Testing
import VMCore

/// The genuine small dump committed in Tests/Fixtures/linux-6.1-small, checked against what
/// makedumpfile and libkdumpfile printed on the same files and the guest's own truth.
@Suite("committed real fixture (Tests/Fixtures/linux-6.1-small)")
struct FixtureTests {
    let dir = committedFixtures.appendingPathComponent("linux-6.1-small")
    var truth: GuestTruth { get throws { try GuestTruth(dir.appendingPathComponent("truth.txt")) } }

    func open(_ name: String) throws -> Dump { try Dump.open(dir.appendingPathComponent(name).path) }
    func reference(_ file: String, _ name: String) throws -> String {
        try String(contentsOf: dir.appendingPathComponent("reference/\(file)/\(name)"), encoding: .utf8)
    }

    /// "  field : value" lines of makedumpfile -D.
    func makedumpfileField(_ text: String, _ field: String) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == field {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    @Test("kdump split pieces: headers as makedumpfile read them, VMCOREINFO as libkdumpfile did",
          arguments: ["vmcore.kdump-zlib-d31-split", "vmcore.kdump-lzo-d31-split"])
    func pieces(_ name: String) throws {
        let dump = try open(name)
        let k = try #require(dump.kdump)
        let headers = try reference(name, "makedumpfile-headers.txt")
        #expect(k.parts[0].startPFN == UInt64(makedumpfileField(headers, "start_pfn_64")!.dropFirst(2), radix: 16))
        #expect(k.parts[0].endPFN == UInt64(makedumpfileField(headers, "end_pfn_64")!.dropFirst(2), radix: 16))
        #expect(k.maxPFN == UInt64(makedumpfileField(headers, "max_mapnr_64")!.dropFirst(2), radix: 16))
        #expect(k.subHeader.dumpLevel == Int32(makedumpfileField(headers, "dump_level")!))
        #expect(hex(k.subHeader.physBase) == makedumpfileField(headers, "phys_base"))
        #expect(dump.vmcoreinfoOffset == UInt64(makedumpfileField(headers, "offset_vmcoreinfo")!.dropFirst(2), radix: 16))
        #expect(dump.vmcoreinfo!.entries.map { "\($0.key)=\($0.value)" } == kdumpfileVMCoreInfo(try reference(name, "kdumpfile.txt")))
        // Every page the piece stores decodes.
        let scan = dump.memory.scanStoredPages()
        #expect(scan.failureCount == 0)
        let range = k.parts[0].startPFN..<k.parts[0].endPFN
        let dumpedInRange = range.filter { k.dumped.isSet($0) }.count
        #expect(scan.pagesRead == UInt64(dumpedInRange))
        // linux_banner by the physical address the guest's own numbers give.
        let t = try truth
        let banner = try dump.memory.read(physical: t.physical("linux_banner"), count: 512)
        #expect(String(decoding: banner.prefix { $0 != 0 }, as: UTF8.self) == "Linux version \(t.release) (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) \(t.version)\n")
    }

    @Test("the zlib piece holds the kernel page tables: linux_banner by virtual address, as libkdumpfile read it")
    func virtualBanner() throws {
        let dump = try open("vmcore.kdump-zlib-d31-split")
        let kernel = try LinuxKernel(dump: dump)
        let t = try truth
        #expect(kernel.kaslrOffset.value == t.kallsyms["_text"]! - LinuxKernel.defaultText)
        #expect(kernel.physBase?.value == t.physBase)
        let translation = try kernel.addressSpace.translate(t.kallsyms["linux_banner"]!)
        #expect(translation.physical == t.physical("linux_banner"))
        let bytes = try kernel.addressSpace.read(virtual: t.kallsyms["linux_banner"]!, count: 200)
        let printed = try reference("vmcore.kdump-zlib-d31-split", "kdumpfile.txt").split(separator: "\n")
            .first { $0.hasPrefix("linux_banner: ") }!.dropFirst("linux_banner: ".count)
        #expect(String(decoding: bytes, as: UTF8.self) == printed)
        // The facade's typed reads: the same string, its first pointer-sized words, a pointer.
        let facade = try dump.kernel()
        #expect(try facade.readCString(at: t.kallsyms["linux_banner"]!, limit: 200) == printed)
        // init_uts_ns lies in the piece that was not kept: the error says which address.
        let uts = try facade.resolve("init_uts_ns")
        #expect(caught { try facade.readCString(at: uts) }?.message.hasPrefix("physical address 0x") == true)
        let words = try facade.readPointers(at: t.kallsyms["linux_banner"]!, count: 2, "linux_banner")
        #expect(words == [0, 8].map { i in bytes[i..<i + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } })
        #expect(try facade.readPointer(at: t.kallsyms["linux_banner"]! + 8, "word") == words[1])
        #expect(caught { try facade.resolve("no_such_symbol") }?.message == "unknown address or symbol 'no_such_symbol'")
        let facts = try dump.analyzedFacts()
        #expect(facts.linux?.kernelBanner == "Linux version \(t.release) (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) \(t.version)")
        #expect(facts.kernel.kernelVersion == t.version)
    }

    @Test("QEMU's 1 MiB ELF window: QEMU layout, notes, VMCOREINFO")
    func qemuWindow() throws {
        let dump = try open("vmcore.qemu-elf-1M")
        #expect(dump.variant == "QEMU ELF")
        // One 1 MiB window, holding linux_banner.
        let window = try #require(dump.memory.ranges.first)
        #expect(dump.memory.ranges.count == 1)
        #expect(window.size == 1 << 20)
        let banner = try truth.physical("linux_banner")
        #expect(window.start <= banner && banner < window.end)
        #expect(dump.qemuCPUs.count == 2)
        #expect(dump.cpus.count == 2)
        #expect(dump.vmcoreinfo!.entries.map { "\($0.key)=\($0.value)" } == kdumpfileVMCoreInfo(try reference("vmcore.qemu-elf-1M", "kdumpfile.txt")))
    }

    @Test("the three files hold the same bytes where they overlap")
    func sameBytes() throws {
        let zlib = try open("vmcore.kdump-zlib-d31-split"), lzo = try open("vmcore.kdump-lzo-d31-split"), elf = try open("vmcore.qemu-elf-1M")
        var a = [UInt8](repeating: 0, count: 4096), b = a
        var compared = 0
        let window = try #require(elf.memory.ranges.first)
        for pfn in (window.start / 4096)..<(window.end / 4096) {
            guard zlib.memory.state(ofPage: pfn) == .present || zlib.memory.state(ofPage: pfn) == .zero else { continue }
            try zlib.memory.readPage(pfn, into: &a)
            try elf.memory.readPage(pfn, into: &b)
            #expect(a == b, "PFN \(hex(pfn)): zlib piece vs QEMU ELF")
            if lzo.memory.state(ofPage: pfn) == .present || lzo.memory.state(ofPage: pfn) == .zero {
                try lzo.memory.readPage(pfn, into: &b)
                #expect(a == b, "PFN \(hex(pfn)): zlib piece vs lzo piece")
            }
            compared += 1
        }
        #expect(compared > 100)
    }
}
