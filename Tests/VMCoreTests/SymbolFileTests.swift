import Foundation
import Testing
import VMCore

/// A System.map of `kernel`'s own symbols at their link-time addresses (every `step`th, with
/// the ones the checks need), the way the kernel's build writes it.
func systemMap(of kernel: LinuxKernel, step: Int, dropping dropped: Set<String> = []) throws -> String {
    let k = try kernel.kallsyms()
    let offset = kernel.kaslrOffset.value
    var lines: [String] = []
    for (i, s) in k.symbols.enumerated() where (i % step == 0 || ["_stext", "linux_banner", "init_task"].contains(s.name)) && !dropped.contains(s.name) {
        lines.append("\(String(s.address &- offset, radix: 16).leftPadded(16)) \(s.type) \(s.name)")
    }
    return lines.joined(separator: "\n") + "\n"
}

@Suite("--symbols: a System.map or vmlinux the user has")
struct SymbolFileTests {
    let dump = committedFixtures.appendingPathComponent("linux-6.12-arm64-small/vmcore.qemu-elf-window.zst").path

    @Test("a System.map moves by the dump's _stext and names what kallsyms does; one of another kernel is refused")
    func systemMapFile() throws {
        let kernel = try LinuxKernel(dump: try Dump.open(dump))
        let dir = try temporaryDirectory()
        let map = dir.appendingPathComponent("System.map")
        try systemMap(of: kernel, step: 50).write(to: map, atomically: true, encoding: .utf8)
        let file = try SymbolFile.open(map.path)
        #expect(file.kind == "System.map" && file.symbols.count > 2000)
        try kernel.useSymbols(file)
        let truth = try GuestTruth(committedFixtures.appendingPathComponent("linux-6.12-arm64-small/truth.txt"))
        for name in ["linux_banner", "init_task"] {
            #expect(kernel.fileSymbols().first { $0.name == name }?.address == truth.kallsyms[name], "\(name)")
        }
        // Through the command: a name only the file has (dropped from nothing here, so ask
        // by address too), and the file named in --json.
        let banner = truth.kallsyms["linux_banner"]!
        let r = try vmcore(["sym", dump, "linux_banner", hex(banner + 4), "--symbols", map.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        #expect((object["symbolFile"] as? String)?.hasPrefix("System.map \(map.path), moved by ") == true)
        // A map whose linux_banner lies elsewhere is another kernel's.
        let wrong = dir.appendingPathComponent("other.map")
        try systemMap(of: kernel, step: 50).replacingOccurrences(of: " D linux_banner", with: " D linux_banner_old")
            .appending("ffff800080001000 D linux_banner\n").write(to: wrong, atomically: true, encoding: .utf8)
        let refused = try vmcore(["sym", dump, "linux_banner", "--symbols", wrong.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("System.map does not fit this dump: its linux_banner, moved by"))
        // Not a System.map at all.
        let text = dir.appendingPathComponent("notes.txt")
        try "hello\nworld\n".write(to: text, atomically: true, encoding: .utf8)
        #expect(caught { try SymbolFile.open(text.path) }?.message == "line 1 is not 'address type name'")
    }

    @Test("kallsyms without data symbols: the System.map supplies init_task and modules (6.1 arm64, lab)",
          .enabled(if: arm64Lab != nil, "VMCORE_ARM64_LAB is not set"))
    func labSystemMap() throws {
        let kver = "6.1.0-50-cloud-arm64"
        let folder = arm64Lab!.appendingPathComponent("\(kver)/dumps/qemu-arm64-a57-kaslr-vmci-256M")
        let map = arm64Lab!.appendingPathComponent("\(kver)/dbg/usr/lib/debug/boot/System.map-\(kver)")
        let vmlinux = arm64Lab!.appendingPathComponent("\(kver)/dbg/usr/lib/debug/boot/vmlinux-\(kver)")
        guard FileManager.default.fileExists(atPath: map.path) else { return }
        let (truth, _) = try guestRecord(folder)
        for file in [map, vmlinux] where FileManager.default.fileExists(atPath: file.path) {
            let kernel = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.elf").path))
            #expect((try? kernel.kallsyms())?.symbol(named: "init_task") == nil)
            try kernel.useSymbols(try SymbolFile.open(file.path))
            for name in ["init_task", "linux_banner", "_end"] {
                #expect(kernel.symbol(name) == truth.kallsyms[name], "\(file.lastPathComponent): \(name)")
            }
            let kernel2 = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.elf").path))
            try kernel2.useSymbols(try SymbolFile.open(file.path))
            #expect(try kernel2.modules().count >= 3)
            let comm = try kernel2.object(kernel2.type("struct task_struct"), member: "comm", at: kernel2.symbol("init_task")!)
            #expect("\(comm)" == "string(\"swapper/0\")")
        }
    }
}

@Suite("init_task and modules found by their structure")
struct StructuralGlobalsTests {
    @Test("where kallsyms names them too, the search finds the same addresses (x86-64 6.1, arm64 6.12)",
          .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: skipped"), arguments: [
        "linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31", "linux-6.1-x86_64-qemu/vmcore.kdump-zlib", "linux-6.12-arm64-qemu/vmcore.elf.zst",
    ])
    func agreesWithKallsyms(_ file: String) throws {
        let url = sharedDumps!.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let kernel = try LinuxKernel(dump: try Dump.open(url.path))
        let k = try kernel.kallsyms()
        for name in ["init_task", "modules"] {
            #expect(kernel.structuralGlobal(name) == k.symbol(named: name)?.address, "\(file): \(name)")
        }
    }

    @Test("without CONFIG_KALLSYMS_ALL and without a System.map: init_task where the guest had it, modules where System.map puts it (arm64 5.10, 6.1; lab)",
          .enabled(if: arm64Lab != nil, "VMCORE_ARM64_LAB is not set"), arguments: ["5.10.0-32-cloud-arm64", "6.1.0-50-cloud-arm64"])
    func withoutKallsymsAll(_ kver: String) throws {
        let folder = arm64Lab!.appendingPathComponent("\(kver)/dumps/qemu-arm64-a57-kaslr-vmci-256M")
        let map = arm64Lab!.appendingPathComponent("\(kver)/dbg/usr/lib/debug/boot/System.map-\(kver)")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("vmcore.elf").path) else { return }
        let (truth, _) = try guestRecord(folder)
        let kernel = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.elf").path))
        #expect((try kernel.kallsyms()).symbol(named: "init_task") == nil)
        #expect(kernel.symbol("init_task") == truth.kallsyms["init_task"])
        let withMap = try LinuxKernel(dump: try Dump.open(folder.appendingPathComponent("vmcore.elf").path))
        try withMap.useSymbols(try SymbolFile.open(map.path))
        #expect(kernel.symbol("modules") != nil && kernel.symbol("modules") == withMap.symbol("modules"))
        #expect(try kernel.modules().map(\.name) == withMap.modules().map(\.name))
        let r = try vmcore(["sym", folder.appendingPathComponent("vmcore.elf").path, "init_task"])
        #expect(r.text == "\(String(truth.kallsyms["init_task"]!, radix: 16)) D init_task\n")
    }
}
