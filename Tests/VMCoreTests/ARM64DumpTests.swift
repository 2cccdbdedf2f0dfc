import Foundation
import Testing
import VMCore

/// A guest's `truth.txt` and `marker.txt`, beside its dump in `folder`.
func guestRecord(_ folder: URL) throws -> (truth: GuestTruth, marker: String) {
    (try GuestTruth(folder.appendingPathComponent("truth.txt")),
     try String(contentsOf: folder.appendingPathComponent("marker.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
}

/// Checks one genuine arm64 Linux dump against what its guest printed about itself (`truth.txt`
/// and the lab's LAB-DERIVED block): placement, the banner read by virtual address, the log's
/// marker and the sysrq panic.
/// Returns the kernel, for checks of its own.
@discardableResult
func checkARM64Dump(_ path: String, truth: GuestTruth, marker: String, crasher: String = "lab-crasher") throws -> LinuxKernel {
    let dump = try Dump.open(path)
    #expect(dump.architecture == .aarch64, "\(path)")
    let kernel = try LinuxKernel(dump: dump)
    let layout = try #require(kernel.aarch64, "\(path)")
    if let kaslr = truth.derived["KASLR offset"] { #expect(kernel.kaslrOffset.value == kaslr, "\(path)") }
    if let voffset = truth.derived["kimage_voffset"] { #expect(layout.kimageVoffset.value == voffset, "\(path)") }
    if let physOffset = truth.derived["serial PHYS_OFFSET"] { #expect(layout.physOffset?.value == physOffset, "\(path)") }
    #expect(layout.warnings.isEmpty, "\(path): \(layout.warnings)")
    // The page tables map the image where the guest's own kimage_voffset puts it.
    let stext = try #require(truth.kallsyms["_stext"])
    if let voffset = truth.derived["kimage_voffset"] { #expect(try kernel.addressSpace.physical(stext) == stext &- voffset, "\(path)") }
    let banner = try kernel.addressSpace.read(virtual: try #require(truth.kallsyms["linux_banner"]), count: 512)
    let line = String(decoding: banner.prefix { $0 != 0 }, as: UTF8.self)
    #expect(line.hasPrefix("Linux version \(truth.release) "), "\(path)")
    #expect(line.hasSuffix(") \(truth.version)\n"), "\(path)")
    let facts = try kernel.facts()
    #expect(facts.kernel.kernelRelease == truth.release, "\(path)")
    #expect(facts.linux?.kernelBanner.map { $0 + "\n" } == line, "\(path)")
    // Found where it lives, in the image's read-only data, and the kernel's own uts version.
    #expect(facts.linux?.kernelBannerSource?.hasPrefix("kernel rodata at physical ") == true, "\(path)")
    #expect(facts.kernel.kernelVersion == truth.version, "\(path)")
    #expect(facts.linux?.kimageVoffset == hex(layout.kimageVoffset.value), "\(path)")
    // kallsyms: through the VMCOREINFO keys from 6.0, found by structure before (5.10).
    let k = try kernel.kallsyms()
    #expect(k.symbol(named: "_stext")?.address == stext, "\(path)")
    #expect(k.source.hasPrefix(truth.release.hasPrefix("5.") ? "found by structure" : "VMCOREINFO kallsyms keys"), "\(path): \(k.source)")
    let log = try kernel.kernelLog()
    #expect(log.records.contains { $0.text == marker }, "\(path)")
    let panic = try #require(PanicSummary(records: log.records), "\(path)")
    #expect(panic.message == "Kernel panic - not syncing: sysrq triggered crash", "\(path)")
    #expect(panic.cpu == 1, "\(path)")
    #expect(panic.command == crasher, "\(path)")
    // (6.1 and 5.10 arm64 kallsyms lack the static sysrq_handle_crash: the kernel printed a neighbour.)
    #expect(panic.callTrace.contains { $0.hasPrefix("__handle_sysrq+") }, "\(path)")
    return kernel
}

@Suite("committed arm64 fixture (Tests/Fixtures/linux-6.12-arm64-small)")
struct ARM64FixtureTests {
    var folder: URL { committedFixtures.appendingPathComponent("linux-6.12-arm64-small") }

    @Test("a window of a real 6.12 arm64 crash: the guest's placement, banner by virtual address, log and panic")
    func window() throws {
        let (truth, marker) = try guestRecord(folder)
        let kernel = try checkARM64Dump(folder.appendingPathComponent("vmcore.qemu-elf-window.zst").path, truth: truth, marker: marker)
        let layout = try #require(kernel.aarch64)
        #expect(layout.configuredVABits == 52 && layout.vaBits.value == 48)
        #expect(kernel.pagingLevels.value == 4)
        #expect(layout.physOffset?.value == truth.derived["serial PHYS_OFFSET"])
        // The linear map's tables lie outside the window: PHYS_OFFSET and VA_BITS place it.
        #expect(layout.linearOffset?.source == "VMCOREINFO PHYS_OFFSET and VA_BITS")
        // translate shows the four levels of the image mapping, ending in a read-only block.
        let t = try kernel.addressSpace.translate(truth.kallsyms["linux_banner"]!)
        #expect(t.steps.map(\.level) == ["l0", "l1", "l2"])
        #expect(t.steps.last!.flags.contains("BLOCK") && t.steps.last!.flags.contains("RO") && t.steps.last!.flags.contains("PXN"))
    }
}

@Suite("genuine Linux 6.12 arm64 dump in ../shared/dumps",
       .enabled(if: sharedDumps.map { FileManager.default.fileExists(atPath: $0.appendingPathComponent("linux-6.12-arm64-qemu").path) } ?? false,
                "../shared/dumps/linux-6.12-arm64-qemu is absent beside this checkout: skipped"))
struct SharedARM64DumpTests {
    var folder: URL { sharedDumps!.appendingPathComponent("linux-6.12-arm64-qemu") }

    @Test("52-bit kernel on 48-bit hardware: negative PHYS_OFFSET, the guest's placement, banner, log and panic")
    func placement() throws {
        let (truth, marker) = try guestRecord(folder)
        let kernel = try checkARM64Dump(folder.appendingPathComponent("vmcore.elf.zst").path, truth: truth, marker: marker)
        let layout = try #require(kernel.aarch64)
        #expect(layout.configuredVABits == 52)
        #expect(layout.vaBits.value == 48)
        #expect(kernel.pagingLevels.value == 4)
        #expect(layout.physOffset!.value >> 63 == 1, "PHYS_OFFSET is negative on this kernel")
        // The linear map's offset from the page tables equals what PHYS_OFFSET and the 52-bit
        // PAGE_OFFSET imply.
        #expect(layout.linearOffset?.source.hasPrefix("page tables") == true)
        #expect(layout.linearOffset?.value == 0xfff0_0000_0000_0000 &- layout.physOffset!.value)
    }

    @Test("dmesg agrees line for line with drgn's (DWARF) on the same dump")
    func dmesgAgainstDrgn() throws {
        let kernel = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.elf.zst").path))
        let drgn = try String(contentsOf: folder.appendingPathComponent("ref/vmcore.elf/drgn-dwarf-dmesg.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let ours = try kernel.messages().entries.map { $0.formatted(withLevel: false) }.joined(separator: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(ours == Array(drgn.dropLast(drgn.last == "" ? 1 : 0)))
    }
}

/// The arm64 lab's output (`../shared/lab/arm64/make-dumps.sh`: `$HLAB/<KVER>/dumps/<variant>/`),
/// named by `VMCORE_ARM64_LAB`.
let arm64Lab: URL? = ProcessInfo.processInfo.environment["VMCORE_ARM64_LAB"].map { URL(fileURLWithPath: $0) }

@Suite("arm64 dumps the lab makes (set VMCORE_ARM64_LAB to its folder)", .enabled(if: arm64Lab != nil, "VMCORE_ARM64_LAB is not set: arm64 lab-dump checks skipped"))
struct ARM64LabDumpTests {
    @Test("every arm64 lab dump, every kernel, variant and container: the guest's own values")
    func everyDump() throws {
        let fm = FileManager.default
        var checked: [String] = []
        for kver in try fm.contentsOfDirectory(atPath: arm64Lab!.path).sorted() where kver.hasSuffix("-arm64") {
            let dumps = arm64Lab!.appendingPathComponent("\(kver)/dumps")
            for variant in (try? fm.contentsOfDirectory(atPath: dumps.path).sorted()) ?? [] {
                let dir = dumps.appendingPathComponent(variant)
                // Only variants the lab has finished: truth.py's LAB-DERIVED block written.
                guard let (truth, marker) = try? guestRecord(dir), truth.kernelCodeStart != nil,
                      truth.derived["KASLR offset"] != nil else { continue }
                // bullseye's busybox leaves a script's comm as "sh".
                let crasher = kver.hasPrefix("5.10.") ? "sh" : "lab-crasher"
                for file in try fm.contentsOfDirectory(atPath: dir.path).sorted()
                where file.hasPrefix("vmcore.") && !file.hasSuffix(".txt") && !file.hasSuffix(".log") {
                    // An empty output is a tool that refused (makedumpfile on 6.12 arm64).
                    guard (try? fm.attributesOfItem(atPath: dir.appendingPathComponent(file).path)[.size] as? Int) ?? 0 > 0 else { continue }
                    try checkARM64Dump(dir.appendingPathComponent(file).path, truth: truth, marker: marker, crasher: crasher)
                    checked.append("\(kver)/\(variant)/\(file)")
                }
            }
        }
        #expect(!checked.isEmpty)
        print("arm64 lab dumps checked: \(checked.count)\n  " + checked.joined(separator: "\n  "))
    }

    @Test("BTF on every lab kernel: the central types equal gdb's ptype /o on its DWARF vmlinux; VMCOREINFO agrees; the guest's uname")
    func btfEveryKernel() throws {
        let fm = FileManager.default
        let gdb = ["/usr/bin/gdb", "/usr/local/bin/gdb"].first { fm.isExecutableFile(atPath: $0) }
        for kver in try fm.contentsOfDirectory(atPath: arm64Lab!.path).sorted() where kver.hasSuffix("-arm64") {
            let dumps = arm64Lab!.appendingPathComponent("\(kver)/dumps")
            guard let variant = ((try? fm.contentsOfDirectory(atPath: dumps.path)) ?? []).sorted().first(where: {
                fm.fileExists(atPath: dumps.appendingPathComponent("\($0)/vmcore.elf").path) && (try? guestRecord(dumps.appendingPathComponent($0))) != nil
            }) else { continue }
            let dump = dumps.appendingPathComponent("\(variant)/vmcore.elf")
            let (truth, _) = try guestRecord(dumps.appendingPathComponent(variant))
            try checkVMCoreInfoAgainstBTF(dump.path)
            try checkUTSName(dump, truth: truth, direct: !kver.hasPrefix("5.10."))
            let vmlinux = arm64Lab!.appendingPathComponent("\(kver)/dbg/usr/lib/debug/boot/vmlinux-\(kver)")
            guard gdb != nil, fm.fileExists(atPath: vmlinux.path) else { print("\(kver): no gdb or DWARF vmlinux; layouts not compared"); continue }
            let recorded = try temporaryDirectory().appendingPathComponent("gdb-ptype.txt")
            let p = Process()
            p.executableURL = repositoryRoot.appendingPathComponent("Scripts/record-ptype.sh")
            p.arguments = [vmlinux.path, recorded.path]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let kernel = try LinuxKernel(dump: try Dump.open(dump.path))
            for (name, text) in try gdbLayouts(recorded) {
                let t = try kernel.type("struct \(name)")
                #expect(sameLayout(try t.btf.layoutText(t.id).get(), text), "\(kver): struct \(name)")
            }
        }
    }
}
