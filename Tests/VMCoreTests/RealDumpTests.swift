import Foundation
import Testing
import VMCore

/// What the guest printed about itself before it crashed (`truth.txt`).
struct GuestTruth {
    var release = ""
    var version = ""
    var kallsyms: [String: UInt64] = [:]
    var kernelCodeStart: UInt64?
    /// The lab's LAB-DERIVED values ("guest KASLR offset", "guest kimage_voffset", …), which it
    /// works out from what the guest printed (its kallsyms, iomem and panic lines).
    var derived: [String: UInt64] = [:]

    init(_ url: URL) throws {
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("guest "), let colon = line.lastIndex(of: ":"), let v = UInt64(line[colon...].dropFirst(2).dropFirst(2), radix: 16) {
                derived[String(line[line.index(line.startIndex, offsetBy: 6)..<colon])] = v
            }
            // Kernels without CONFIG_KALLSYMS_ALL: the lab adds System.map + KASLR offset
            // ("System.map+KASLR linux_banner: 0x… (not in /proc/kallsyms)").
            for prefix in ["kallsyms ", "System.map+KASLR "] where line.hasPrefix(prefix) && !line.hasPrefix("kallsyms: ") {
                let rest = line.dropFirst(prefix.count)
                guard let colon = rest.firstIndex(of: ":"),
                      let v = UInt64(rest[colon...].dropFirst(4).prefix { $0.isHexDigit }, radix: 16) else { continue }
                let name = String(rest[..<colon])
                if kallsyms[name] == nil { kallsyms[name] = v }
            }
            if line.hasPrefix("uname -r: ") { release = String(line.dropFirst(10)) }
            if line.hasPrefix("uname -v: ") { version = String(line.dropFirst(10)) }
            if line.hasPrefix("kallsyms: ") {
                let f = line.split(separator: " ")
                kallsyms[String(f[3])] = UInt64(f[1], radix: 16)
            }
            if line.hasSuffix(": Kernel code") {
                let range = line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
                kernelCodeStart = UInt64(range.split(separator: "-")[0], radix: 16)
            }
        }
    }

    /// phys_base as the guest's own numbers imply: where "Kernel code" sits in physical memory,
    /// minus `_text`'s offset in the kernel map (`__START_KERNEL_map` = 0xffffffff80000000).
    var physBase: UInt64 { kernelCodeStart! &- (kallsyms["_text"]! &- 0xffffffff80000000) }

    /// The physical address of a kernel-image symbol.
    func physical(_ symbol: String) -> UInt64 { kallsyms[symbol]! &- 0xffffffff80000000 &+ physBase }
}

/// The first value crash printed for `field` ("   total_valid_pages: 22269" → "22269").
func crashField(_ text: String, _ field: String) -> String? {
    for line in text.split(separator: "\n") {
        let t = line.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix(field + ":") { return t.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces) }
    }
    return nil
}

/// The VMCOREINFO lines libkdumpfile printed ("  VMCOREINFO: KEY=VALUE").
func kdumpfileVMCoreInfo(_ text: String) -> [String] {
    text.split(separator: "\n").filter { $0.hasPrefix("  VMCOREINFO: ") }.map { String($0.dropFirst(14)) }
}

@Suite("genuine Linux 6.1 dumps in ../shared/dumps", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: real-dump checks skipped"))
struct RealDumpTests {
    var dumps: URL { sharedDumps! }

    func read(_ path: String) throws -> String {
        try String(contentsOf: dumps.appendingPathComponent(path), encoding: .utf8)
    }

    /// Facts every tool agrees on, checked against what crash 8.0.6 and libkdumpfile printed.
    func checkAgainstReferences(_ dump: Dump, folder: String, file: String) throws {
        let truth = try GuestTruth(dumps.appendingPathComponent("\(folder)/truth.txt"))
        let crash = try read("\(folder)/ref/\(file)/crash-8.0.6.txt")
        let kdumpfile = try read("\(folder)/ref/\(file)/kdumpfile-0.5.4.txt")
        let k = try #require(dump.kdump)
        let facts = try dump.facts()

        #expect(facts.memory.pages.present == UInt64(crashField(crash, "total_valid_pages")!))
        #expect(k.maxPFN == UInt64(crashField(crash, "max_mapnr")!))
        #expect(k.header.nrCPUs == Int32(crashField(crash, "nr_cpus")!))
        #expect(crashField(crash, "dump_level")!.hasPrefix("\(k.subHeader.dumpLevel) "))
        #expect(crashField(crash, "offset_vmcoreinfo")!.hasPrefix("\(dump.vmcoreinfoOffset!) "))
        #expect(dump.vmcoreinfo!.entries.map { "\($0.key)=\($0.value)" } == kdumpfileVMCoreInfo(kdumpfile))
        #expect(facts.linux?.physBase == crashPlacement(crash).map { hex($0.physBase) })
        #expect(facts.linux?.physBase == hex(truth.physBase))
        #expect(facts.kernel.kernelRelease == truth.release)
        #expect(dump.cpus.count == 2)
        for cpu in dump.cpus {
            #expect(crash.contains("RIP: " + String(cpu.pc, radix: 16).leftPadded16), "cpu \(cpu.index) pc")
            #expect(crash.contains("pid: \(cpu.pid) "), "cpu \(cpu.index) pid")
        }
        // linux_banner, by its physical address as the guest's own numbers place it.
        let banner = try dump.memory.read(physical: truth.physical("linux_banner"), count: 512)
        let text = String(decoding: banner.prefix { $0 != 0 }, as: UTF8.self)
        #expect(text.hasPrefix("Linux version \(truth.release) "))
        #expect(text.contains(truth.version))
    }

    @Test("kdump-compressed from the kdump capture kernel (makedumpfile -c -d 31)")
    func kdumpCompressed() throws {
        let dump = try Dump.open(dumps.appendingPathComponent("linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31").path)
        #expect(dump.variant == "kdump-compressed v6 (makedumpfile)")
        try checkAgainstReferences(dump, folder: "linux-6.1-x86_64-kdump", file: "vmcore.kdump-zlib-d31")
    }

    @Test("the same dump flattened (makedumpfile -F) reads in place")
    func flattened() throws {
        let dump = try Dump.open(dumps.appendingPathComponent("linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31").path)
        #expect(dump.variant == "flattened kdump-compressed v6 (makedumpfile)")
        try checkAgainstReferences(dump, folder: "linux-6.1-x86_64-kdump", file: "vmcore.flat-zlib-d31")
    }

    @Test("kdump-zlib-d31 and flat-zlib-d31: every page has the same state and bytes")
    func sameGuestSameBytes() throws {
        let a = try Dump.open(dumps.appendingPathComponent("linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31").path)
        let b = try Dump.open(dumps.appendingPathComponent("linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31").path)
        let maxPFN = try #require(a.kdump?.maxPFN)
        #expect(b.kdump?.maxPFN == maxPFN)
        var pa = [UInt8](repeating: 0, count: 4096), pb = pa
        var compared = 0
        for pfn in 0..<maxPFN {
            let s = a.memory.state(ofPage: pfn)
            #expect(b.memory.state(ofPage: pfn) == s)
            guard s == .present || s == .zero else { continue }
            try a.memory.readPage(pfn, into: &pa)
            try b.memory.readPage(pfn, into: &pb)
            if pa != pb { Issue.record("PFN \(hex(pfn)) differs"); break }
            compared += 1
        }
        #expect(compared == 22269)
    }

    @Test("QEMU 7.2 kdump-zlib (flattened, QEMU's header quirks)")
    func qemuKdump() throws {
        let folder = "linux-6.1-x86_64-qemu"
        let dump = try Dump.open(dumps.appendingPathComponent("\(folder)/vmcore.kdump-zlib").path)
        #expect(dump.variant == "flattened kdump-compressed v6 (QEMU)")
        try checkAgainstReferences(dump, folder: folder, file: "vmcore.kdump-zlib")
        // QEMU's sub-header phys_base is the decimal VMCOREINFO value parsed as hex; crash
        // prints it raw. VMCOREINFO is what counts.
        let crash = try read("\(folder)/ref/vmcore.kdump-zlib/crash-8.0.6.txt")
        #expect(String(dump.kdump!.subHeader.physBase, radix: 16) == crashField(crash, "phys_base"))
        #expect(dump.qemuCPUs.count == Int(crashField(crash, "num_qemu_notes")!))
        // Every stored page decodes.
        var page = [UInt8](repeating: 0, count: 4096)
        var n = 0
        for pfn in 0..<dump.kdump!.maxPFN where dump.memory.state(ofPage: pfn) != .notInDump {
            try dump.memory.readPage(pfn, into: &page)
            n += 1
        }
        #expect(UInt64(n) == UInt64(crashField(crash, "total_valid_pages")!))
    }

    @Test("QEMU ELF without VMCOREINFO", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd"), "needs zstd to unpack the dump"))
    func qemuELF() throws {
        let folder = "linux-6.1-x86_64-qemu-novmcoreinfo"
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let elf = tmp.appendingPathComponent("vmcore.elf")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
        p.arguments = ["-q", "-d", dumps.appendingPathComponent("\(folder)/vmcore.elf.zst").path, "-o", elf.path]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)

        let dump = try Dump.open(elf.path)
        let truth = try GuestTruth(dumps.appendingPathComponent("\(folder)/truth.txt"))
        let crash = try read("\(folder)/ref/vmcore.elf/crash-8.0.6.txt")
        #expect(dump.variant == "QEMU ELF")
        #expect(dump.vmcoreinfo == nil)
        #expect(dump.elf!.programHeaders.count == Int(crashField(crash, "e_phnum")!))
        #expect(dump.cpus.count == 2)
        #expect(dump.qemuCPUs.count == 2)
        for (cpu, state) in zip(dump.cpus, dump.qemuCPUs) {
            #expect(crash.contains("RIP: " + String(cpu.pc, radix: 16).leftPadded16))
            #expect(crash.contains("CR3: " + String(state.cr3, radix: 16).leftPadded16))
        }
        // The README's phys_base for this dump, derived from the guest's own numbers.
        #expect(truth.physBase == 0xffffffffdc000000)
        let banner = try dump.memory.read(physical: truth.physical("linux_banner"), count: 512)
        #expect(String(decoding: banner.prefix { $0 != 0 }, as: UTF8.self).hasPrefix("Linux version \(truth.release) (debian-kernel@lists.debian.org)"))
    }
}

/// KASLR offset and phys_base as crash 8.0.6 printed them (`help -k` relocate line, `help -m`).
func crashPlacement(_ text: String) -> (kaslr: UInt64, physBase: UInt64)? {
    guard let k = text.split(separator: "\n").first(where: { $0.contains("(KASLR offset: ") }),
          let p = text.split(separator: "\n").last(where: { $0.contains("phys_base: ") }) else { return nil }
    let kaslr = k.split(separator: "(KASLR offset: ")[1].split(separator: " ")[0]
    let phys = p.split(separator: "phys_base: ")[1].split(separator: " ")[0]
    return (UInt64(kaslr, radix: 16)!, UInt64(phys, radix: 16)!)
}

@Suite("the kernel in the shared dumps: KASLR, phys_base, page tables, banner", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: real-dump checks skipped"))
struct RealKernelTests {
    static let cases: [(folder: String, file: String)] = [
        ("linux-6.1-x86_64-kdump", "vmcore.kdump-zlib-d31"), ("linux-6.1-x86_64-kdump", "vmcore.flat-zlib-d31"),
        ("linux-6.1-x86_64-qemu", "vmcore.kdump-zlib"), ("linux-6.1-x86_64-qemu-novmcoreinfo", "vmcore.elf"),
    ]

    func open(_ folder: String, _ file: String, in tmp: URL) throws -> Dump {
        let url = sharedDumps!.appendingPathComponent("\(folder)/\(file)")
        if FileManager.default.fileExists(atPath: url.path) { return try Dump.open(url.path) }
        // The ELF is stored zstd-compressed.
        let out = tmp.appendingPathComponent(file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
        p.arguments = ["-q", "-d", url.path + ".zst", "-o", out.path]
        try p.run()
        p.waitUntilExit()
        return try Dump.open(out.path)
    }

    @Test("agrees with crash and the guest's own numbers", arguments: 0..<4)
    func placement(_ i: Int) throws {
        let (folder, file) = Self.cases[i]
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dump = try open(folder, file, in: tmp)
        let truth = try GuestTruth(sharedDumps!.appendingPathComponent("\(folder)/truth.txt"))
        let crash = try String(contentsOf: sharedDumps!.appendingPathComponent("\(folder)/ref/\(file)/crash-8.0.6.txt"), encoding: .utf8)
        let expected = try #require(crashPlacement(crash))
        let kernel = try LinuxKernel(dump: dump)
        #expect(kernel.kaslrOffset.value == expected.kaslr)
        #expect(kernel.physBase?.value == expected.physBase)
        #expect(kernel.kaslrOffset.value == truth.kallsyms["_text"]! - LinuxKernel.defaultText)
        #expect(kernel.physBase?.value == truth.physBase)
        #expect(kernel.pagingLevels.value == 4)
        // _text maps to where the guest's iomem put "Kernel code".
        #expect(try kernel.addressSpace.translate(truth.kallsyms["_text"]!).physical == truth.kernelCodeStart)
        // linux_banner by its virtual address equals the guest's uname.
        let bytes = try kernel.addressSpace.read(virtual: truth.kallsyms["linux_banner"]!, count: 512)
        let banner = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        #expect(banner.hasPrefix("Linux version \(truth.release) (") && banner.hasSuffix(") \(truth.version)\n"))
        let facts = try dump.analyzedFacts()
        #expect(facts.linux?.kernelBanner.map { $0 + "\n" } == banner)
        #expect(facts.kernel.kernelRelease == truth.release)
        #expect(facts.kernel.kernelVersion == truth.version)
        #expect(try kernel.utsname().release == truth.release)
    }

    @Test("without VMCOREINFO: recovered from RAM, and from CR3 alone, the same answers")
    func withoutVMCoreInfo() throws {
        let folder = "linux-6.1-x86_64-qemu-novmcoreinfo"
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dump = try open(folder, "vmcore.elf", in: tmp)
        #expect(dump.vmcoreinfo == nil)
        let truthText = try String(contentsOf: sharedDumps!.appendingPathComponent("\(folder)/truth.txt"), encoding: .utf8)
        let notePhysical = truthText.split(separator: "\n").first { $0.hasPrefix("vmcoreinfo sysfs: ") }!
            .split(separator: " ")[2]
        let recovered = try LinuxKernel(dump: dump)
        // The note header is 24 bytes ("VMCOREINFO" name padded), then the text.
        #expect(recovered.recoveredVMCoreInfoAddress == UInt64(notePhysical.dropFirst(2), radix: 16)! + 24)
        #expect(recovered.vmcoreinfo?.source.hasPrefix("VMCOREINFO recovered from guest RAM") == true)
        let fromCR3 = try LinuxKernel(dump: dump, recoverVMCoreInfo: false)
        #expect(fromCR3.pageTableRoot.source.hasSuffix("CR3"))
        #expect(fromCR3.kaslrOffset.value == recovered.kaslrOffset.value)
        #expect(fromCR3.physBase?.value == recovered.physBase?.value)
        let truth = try GuestTruth(sharedDumps!.appendingPathComponent("\(folder)/truth.txt"))
        #expect(try fromCR3.addressSpace.translate(truth.kallsyms["linux_banner"]!).physical == truth.physical("linux_banner"))
    }
}

@Suite("the kernel log and the panic in the shared dumps", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: real-dump checks skipped"))
struct RealLogTests {
    @Test("dmesg equals makedumpfile's where it worked and crash's log where it did not; the panic is the sysrq crash",
          arguments: 0..<4)
    func log(_ i: Int) throws {
        let (folder, file) = RealKernelTests.cases[i]
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dump = try RealKernelTests().open(folder, file, in: tmp)
        let kernel = try LinuxKernel(dump: dump)
        let log = try kernel.kernelLog()
        #expect(log.problems.isEmpty)
        let ours = log.records.map { $0.formatted() + "\n" }.joined()
        let ref = sharedDumps!.appendingPathComponent("\(folder)/ref")
        // makedumpfile --dump-dmesg worked on the kdump file: the same bytes. The flattened
        // file is the same crash, so its log must equal that too.
        let mdf = ref.appendingPathComponent(folder == "linux-6.1-x86_64-kdump" ? "vmcore.kdump-zlib-d31/mdf-dmesg.txt" : "\(file)/mdf-dmesg.txt")
        if let expected = try? String(contentsOf: mdf, encoding: .utf8) {
            #expect(ours == expected)
        } else {
            // makedumpfile failed: crash's log, its timestamped lines.
            let crash = try String(contentsOf: ref.appendingPathComponent("\(file)/crash-8.0.6.txt"), encoding: .utf8)
            let isStamp = { (l: Substring) in l.hasPrefix("[") && l.dropFirst().drop { $0 == " " }.first?.isNumber == true && l.contains("] ") }
            let crashLines = crash.split(separator: "\n").filter(isStamp).map(String.init)
            let ourLines = ours.split(separator: "\n").filter(isStamp).map(String.init)
            #expect(ourLines == crashLines)
        }
        let marker = try String(contentsOf: sharedDumps!.appendingPathComponent("\(folder)/marker.txt"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(log.records.contains { $0.text == marker })

        let panic = try #require(PanicSummary(records: log.records))
        #expect(panic.kind == "panic")
        #expect(panic.message == "Kernel panic - not syncing: sysrq triggered crash")
        #expect(panic.cpu == 1)
        #expect(panic.command == "lab-crasher")
        #expect(panic.callTrace.contains { $0.hasPrefix("sysrq_handle_crash+") })
        let truth = try GuestTruth(sharedDumps!.appendingPathComponent("\(folder)/truth.txt"))
        let facts = try dump.analyzedFacts()
        #expect(facts.kernel.kernelRelease == truth.release)
        #expect(facts.kernel.panic == panic)
        #expect(facts.kernel.hostname == (dump.kdump?.header.nodename).flatMap { $0.isEmpty ? nil : $0 } ?? "(none)")
        #expect(facts.kernel.uptime == Double(log.records.last!.timestampNanoseconds) / 1e9)
    }
}

extension String {
    /// Zero-padded to 16 characters, as crash prints registers.
    var leftPadded16: String { count >= 16 ? self : String(repeating: "0", count: 16 - count) + self }
}
