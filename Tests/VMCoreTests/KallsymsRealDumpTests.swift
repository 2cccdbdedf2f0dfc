import Foundation
import Testing
import VMCore

/// Every symbol the guest printed from its /proc/kallsyms resolves to the same address, and
/// the address back to the same name.
func checkKallsyms(_ path: String, truth: GuestTruth) throws {
    let kernel = try LinuxKernel(dump: try Dump.open(path))
    let k = try kernel.kallsyms()
    #expect(k.source == "VMCOREINFO kallsyms keys", "\(path)")
    #expect(k.symbols.count > 40_000, "\(path)")
    for name in ["_text", "_stext", "linux_banner", "init_task", "_end"] {
        guard let address = truth.kallsyms[name] else { continue }
        #expect(k.symbol(named: name)?.address == address, "\(path): \(name)")
        #expect(kernel.symbol(name) == address, "\(path): \(name) through the facade")
        // Back from the address: the first symbol the kernel lists there (on x86-64 that is
        // startup_64, not _text, as the kernel's own lookup says too).
        if name != "_end" {
            let hit = k.symbolize(address + 1)
            #expect(hit?.symbol.address == address && hit?.offset == 1, "\(path): \(name)")
            #expect(hit?.symbol.name == k.symbols.first { $0.address == address }?.name, "\(path): \(name)")
        }
    }
}

@Suite("kallsyms on the committed real samples")
struct KallsymsFixtureTests {
    @Test("x86-64 6.1 kdump piece and arm64 6.12 window", arguments: [
        "linux-6.1-small/vmcore.kdump-zlib-d31-split", "linux-6.12-arm64-small/vmcore.qemu-elf-window.zst",
    ])
    func fixture(_ file: String) throws {
        let url = committedFixtures.appendingPathComponent(file)
        try checkKallsyms(url.path, truth: GuestTruth(url.deletingLastPathComponent().appendingPathComponent("truth.txt")))
    }
}

@Suite("kallsyms on the shared dumps", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: skipped"))
struct KallsymsSharedDumpTests {
    @Test("with VMCOREINFO, recovered VMCOREINFO, x86-64 and arm64", arguments: [
        "linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31", "linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31",
        "linux-6.1-x86_64-qemu/vmcore.kdump-zlib", "linux-6.1-x86_64-qemu-novmcoreinfo/vmcore.elf.zst",
        "linux-6.12-arm64-qemu/vmcore.elf.zst",
    ])
    func shared(_ file: String) throws {
        let url = sharedDumps!.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        try checkKallsyms(url.path, truth: GuestTruth(url.deletingLastPathComponent().appendingPathComponent("truth.txt")))
    }
}

@Suite("CPU program counters named as crash and drgn name them", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: skipped"))
struct SymbolizedCPUTests {
    @Test("x86-64: crash 8.0.6's 'exception RIP: name+offset' lines")
    func crashRIP() throws {
        let folder = sharedDumps!.appendingPathComponent("linux-6.1-x86_64-kdump")
        let crash = try String(contentsOf: folder.appendingPathComponent("ref/vmcore.kdump-zlib-d31/crash-8.0.6.txt"), encoding: .utf8)
        // "[exception RIP: native_safe_halt+11]": decimal offset.
        let rips = crash.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "[exception RIP: ") else { return nil }
            let named = line[r.upperBound...].prefix { $0 != "]" }
            guard let plus = named.lastIndex(of: "+"), let off = UInt64(named[named.index(after: plus)...]) else { return nil }
            return "\(named[..<plus])+\(hex(off))"
        }
        #expect(!rips.isEmpty)
        let facts = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.kdump-zlib-d31").path)).facts()
        let ours = facts.memory.cpus.compactMap { $0.pcSymbol?.split(separator: "/").first.map(String.init) }
        for rip in Set(rips) { #expect(ours.contains(rip), "\(rip) in \(ours)") }
    }

    @Test("arm64: the crashed CPU stopped in __delay_cycles, drgn's first non-inline frame")
    func arm64() throws {
        let folder = sharedDumps!.appendingPathComponent("linux-6.12-arm64-qemu")
        guard FileManager.default.fileExists(atPath: folder.path) else { return }
        let drgn = try String(contentsOf: folder.appendingPathComponent("ref/vmcore.elf/drgn-dwarf.txt"), encoding: .utf8)
        #expect(drgn.contains("#1  __delay_cycles "))
        let facts = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.elf.zst").path)).facts()
        #expect(facts.memory.cpus[1].pcSymbol?.hasPrefix("__delay_cycles+") == true)
    }
}

@Suite("kallsyms against System.map (set VMCORE_ARM64_LAB)", .enabled(if: arm64Lab != nil, "VMCORE_ARM64_LAB is not set: skipped"))
struct KallsymsSystemMapTests {
    @Test("the 6.12 arm64 kernel (CONFIG_KALLSYMS_ALL): at least 99.9 % of System.map's text and data at the same address")
    func systemMap() throws {
        let kver = "6.12.117+deb13-cloud-arm64"
        let dir = arm64Lab!.appendingPathComponent("\(kver)/dumps/qemu-arm64-a57-kaslr-vmci-256M")
        let map = arm64Lab!.appendingPathComponent("\(kver)/dbg/usr/lib/debug/boot/System.map-\(kver)")
        guard FileManager.default.fileExists(atPath: map.path) else { return }
        let truth = try GuestTruth(dir.appendingPathComponent("truth.txt"))
        let kaslr = try #require(truth.derived["KASLR offset"])
        let k = try LinuxKernel(dump: try Dump.open(dir.appendingPathComponent("vmcore.elf").path)).kallsyms()
        var ours: [String: Set<UInt64>] = [:]
        for s in k.symbols { ours[s.name, default: []].insert(s.address) }
        var total = 0, found = 0
        for line in try String(contentsOf: map, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, "TtDdBbRr".contains(f[1]), let a = UInt64(f[0], radix: 16) else { continue }
            total += 1
            // Per-CPU symbols (below 2^63) are offsets, not relocated by KASLR.
            if ours[String(f[2])]?.contains(a >> 63 == 1 ? a &+ kaslr : a) == true { found += 1 }
        }
        #expect(total > 100_000)
        #expect(Double(found) / Double(total) >= 0.999, "\(found) of \(total)")
    }
}

@Suite("vmcore sym", .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct SymCommandTests {
    let dump = committedFixtures.appendingPathComponent("linux-6.12-arm64-small/vmcore.qemu-elf-window.zst").path

    @Test("names to addresses, addresses to name+offset/size, --list, and what it cannot find")
    func sym() throws {
        let truth = try GuestTruth(committedFixtures.appendingPathComponent("linux-6.12-arm64-small/truth.txt"))
        let banner = truth.kallsyms["linux_banner"]!
        let r = try vmcore(["sym", dump, "linux_banner", hex(banner + 0x10)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text == "\(String(banner, radix: 16)) D linux_banner  (size 0xd0)\n\(hex(banner + 0x10)) = linux_banner+0x10/0xd0\n")
        let list = try vmcore(["sym", dump, "--list", "linux_b*nner"])
        #expect(list.text == "\(String(banner, radix: 16)) D linux_banner  (size 0xd0)\n")
        let missing = try vmcore(["sym", dump, "no_such_symbol"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "vmcore: no_such_symbol: no such symbol in kallsyms\n")
        let json = try vmcore(["sym", dump, "init_task", "--json"])
        let object = try JSONSerialization.jsonObject(with: json.stdout) as! [String: Any]
        #expect(object["encoding"] as? String == "base-relative")
        #expect((object["symbols"] as? [[String: Any]])?.first?["address"] as? String == hex(truth.kallsyms["init_task"]!))
        // read --virtual takes kallsyms names VMCOREINFO does not give.
        let read = try vmcore(["read", dump, "--virtual", "linux_banner", "--length", "13", "--raw"])
        #expect(read.text == "Linux version")
        // The hexdump names what it shows.
        let dumped = try vmcore(["read", dump, "--virtual", "linux_banner", "--length", "16"])
        #expect(dumped.text.hasPrefix("\(hex(banner)) = linux_banner+0x0/0xd0:\n"))
    }
}
