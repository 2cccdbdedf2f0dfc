import Foundation
import Testing
import VMCore

/// The lab's output folder (`../shared/lab/make-linux-dumps.sh`), named by `VMCORE_LAB`.
let labDumps: URL? = ProcessInfo.processInfo.environment["VMCORE_LAB"].map {
    URL(fileURLWithPath: $0).appendingPathComponent("dumps")
}

@Suite("dumps the lab makes (set VMCORE_LAB to its folder)", .enabled(if: labDumps != nil, "VMCORE_LAB is not set: lab-dump checks skipped"))
struct LabDumpTests {
    func path(_ p: String) -> String? {
        let url = labDumps!.appendingPathComponent(p)
        return FileManager.default.fileExists(atPath: url.path) ? url.path : nil
    }

    /// Every page `filtered` stores equals the same page of the full `/proc/vmcore` ELF.
    func compareWithFullELF(_ file: String) throws {
        guard let full = path("kdump-kaslr-1G/vmcore.elf"), let other = path(file) else { return }
        let a = try Dump.open(full), b = try Dump.open(other)
        var pa = [UInt8](repeating: 0, count: 4096), pb = pa
        var compared = 0
        for range in b.memory.ranges {
            // Whole pages only: a RAM range may end mid-page (0x9fc00).
            var pfn = (range.start + 4095) / 4096
            while (pfn + 1) * 4096 <= range.end {
                defer { pfn += 1 }
                let s = b.memory.state(ofPage: pfn)
                // In makedumpfile -E output the zero-filled tails of segments hold filtered
                // pages too: only a kdump file's zero page is known to be zero.
                let stored = s == .present || (s == .zero && b.format == .kdumpCompressed)
                guard stored, a.memory.state(ofPage: pfn) == .present else { continue }
                try b.memory.readPage(pfn, into: &pb)
                try a.memory.readPage(pfn, into: &pa)
                if pa != pb { Issue.record("\(file): PFN \(hex(pfn)) differs from the full ELF"); return }
                compared += 1
            }
        }
        #expect(compared > 20000, "\(file): \(compared) pages compared")
    }

    @Test("makedumpfile outputs of the kdump guest equal /proc/vmcore page for page",
          arguments: ["kdump-kaslr-1G/vmcore.kdump-zlib-d31", "kdump-kaslr-1G/vmcore.kdump-lzo-d31",
                      "kdump-kaslr-1G/vmcore.kdump-nocompress-d31", "kdump-kaslr-1G/vmcore.kdump-zlib-d0",
                      "kdump-kaslr-1G/vmcore.flat-zlib-d31", "kdump-kaslr-1G/vmcore.elf-d31",
                      "host-makedumpfile/vmcore.kdump-lzo-d31", "host-makedumpfile/vmcore.kdump-nocompress-d1"])
    func makedumpfileOutputs(_ file: String) throws {
        try compareWithFullELF(file)
    }

    @Test("a makedumpfile --split set of the kdump guest equals /proc/vmcore",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/makedumpfile") || FileManager.default.isExecutableFile(atPath: "/usr/bin/makedumpfile"), "needs makedumpfile"))
    func splitSet() throws {
        guard let full = path("kdump-kaslr-1G/vmcore.elf") else { return }
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let parts = (0..<3).map { tmp.appendingPathComponent("vmcore.split-\($0)").path }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["makedumpfile", "-c", "-d", "31", "--split", full] + parts
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let set = try Dump.open(parts.reversed())
        #expect(set.kdump?.parts.count == 3)
        let single = try Dump.open(path("kdump-kaslr-1G/vmcore.kdump-zlib-d31")!)
        #expect(try set.facts().memory.pages.present == single.facts().memory.pages.present)
        let elf = try Dump.open(full)
        var pa = [UInt8](repeating: 0, count: 4096), pb = pa
        for run in set.memory.storedPageRuns() {
            for pfn in run where elf.memory.state(ofPage: pfn) == .present {
                try set.memory.readPage(pfn, into: &pa)
                try elf.memory.readPage(pfn, into: &pb)
                if pa != pb { Issue.record("split set: PFN \(hex(pfn)) differs from /proc/vmcore"); return }
            }
        }
    }

    @Test("every lab dump: KASLR offset, phys_base and linux_banner agree with the guest's truth")
    func kernelPlacement() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: labDumps!.path).sorted()
        var checked = 0
        for folder in folders {
            let truthURL = labDumps!.appendingPathComponent("\(folder)/truth.txt")
            guard let truth = try? GuestTruth(truthURL), truth.kernelCodeStart != nil else { continue }
            let files = try FileManager.default.contentsOfDirectory(atPath: labDumps!.appendingPathComponent(folder).path)
                .filter { $0.hasPrefix("vmcore.") && !$0.hasSuffix(".txt") && !$0.hasSuffix(".log") }.sorted()
            for file in files {
                let dump = try Dump.open(labDumps!.appendingPathComponent("\(folder)/\(file)").path)
                let kernel = try LinuxKernel(dump: dump)
                #expect(kernel.kaslrOffset.value == truth.kallsyms["_text"]! - LinuxKernel.defaultText, "\(folder)/\(file)")
                if !dump.qemuCPUs.isEmpty {
                    // The saved CR3 (and CR4.LA57) alone give the same placement.
                    let fromCR3 = try LinuxKernel(dump: dump, recoverVMCoreInfo: false)
                    if dump.vmcoreinfo == nil {
                        #expect(fromCR3.kaslrOffset.value == kernel.kaslrOffset.value, "\(folder)/\(file) from CR3")
                        #expect(fromCR3.physBase?.value == kernel.physBase?.value, "\(folder)/\(file) from CR3")
                        #expect(fromCR3.pagingLevels.value == kernel.pagingLevels.value, "\(folder)/\(file) from CR3")
                    }
                }
                #expect(kernel.physBase?.value == truth.physBase, "\(folder)/\(file)")
                // The log holds the marker and the sysrq panic.
                let log = try kernel.kernelLog()
                let marker = try String(contentsOf: labDumps!.appendingPathComponent("\(folder)/marker.txt"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(log.records.contains { $0.text == marker }, "\(folder)/\(file)")
                #expect(PanicSummary(records: log.records)?.message == "Kernel panic - not syncing: sysrq triggered crash", "\(folder)/\(file)")
                let bytes = try kernel.addressSpace.read(virtual: truth.kallsyms["linux_banner"]!, count: 512)
                #expect(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).hasSuffix(") \(truth.version)\n"), "\(folder)/\(file)")
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    @Test("the direct map: /proc/vmcore's PT_LOAD virtual addresses translate to their physical ones")
    func directMap() throws {
        guard let full = path("kdump-kaslr-1G/vmcore.elf") else { return }
        let dump = try Dump.open(full)
        let kernel = try LinuxKernel(dump: dump)
        let loads = dump.elf!.programHeaders.filter { $0.type == ProgramHeader.load && $0.memorySize >= 1 << 20 }
        #expect(loads.count >= 3)
        for ph in loads {
            // The kernel-text segment is the image mapping; the others are the (randomised) direct map.
            for offset in stride(from: UInt64(0), to: ph.memorySize, by: UInt64.Stride(max(4096, ph.memorySize / 64 / 4096 * 4096))) {
                #expect(try kernel.addressSpace.translate(ph.virtualAddress + offset).physical == ph.physicalAddress + offset,
                        "vaddr \(hex(ph.virtualAddress + offset))")
            }
        }
    }

    @Test("QEMU writes the same memory in every format",
          arguments: ["qemu-kaslr-vmci-256M", "qemu10-kaslr-vmci-256M"])
    func qemuFormats(_ folder: String) throws {
        guard let elfPath = path("\(folder)/vmcore.elf") else { return }
        let elf = try Dump.open(elfPath)
        for name in ["vmcore.kdump-zlib", "vmcore.kdump-lzo", "vmcore.kdump-snappy", "vmcore.kdump-raw-zlib", "vmcore.kdump-raw-lzo", "vmcore.kdump-raw-snappy"] {
            guard let p = path("\(folder)/\(name)") else { continue }
            let k = try Dump.open(p)
            #expect(k.vmcoreinfo == elf.vmcoreinfo)
            var pa = [UInt8](repeating: 0, count: 4096), pb = pa
            for range in elf.memory.ranges {
                for pfn in (range.start / 4096)..<(range.end / 4096) {
                    try elf.memory.readPage(pfn, into: &pa)
                    try k.memory.readPage(pfn, into: &pb)
                    if pa != pb { Issue.record("\(folder)/\(name): PFN \(hex(pfn)) differs from the ELF"); return }
                }
            }
        }
    }
}
