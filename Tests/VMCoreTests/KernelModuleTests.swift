import Foundation
import Testing
import VMCore

/// crash's `mod` table from its recorded output: MODULE, NAME, BASE, SIZE per line.
func crashModules(_ url: URL) throws -> [(address: UInt64, name: String, base: UInt64, size: UInt64)] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var out: [(UInt64, String, UInt64, UInt64)] = []
    var inTable = false
    for line in text.split(separator: "\n") {
        if line.hasPrefix("     MODULE       NAME") { inTable = true; continue }
        guard inTable else { continue }
        let f = line.split(separator: " ")
        guard f.count >= 4, let a = UInt64(f[0], radix: 16), let b = UInt64(f[2], radix: 16), let s = UInt64(f[3]) else { break }
        out.append((a, String(f[1]), b, s))
    }
    return out
}

@Suite("kernel modules on the shared dumps", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: skipped"))
struct KernelModuleTests {
    @Test("mod equals crash 8.0.6's mod: struct module, name, base and size", arguments: [
        ("linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31", "vmcore.kdump-zlib-d31"), ("linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31", "vmcore.flat-zlib-d31"),
        ("linux-6.1-x86_64-qemu/vmcore.kdump-zlib", "vmcore.kdump-zlib"), ("linux-6.1-x86_64-qemu-novmcoreinfo/vmcore.elf.zst", "vmcore.elf"),
    ])
    func againstCrash(_ file: String, _ ref: String) throws {
        let url = sharedDumps!.appendingPathComponent(file)
        let crash = url.deletingLastPathComponent().appendingPathComponent("ref/\(ref)/crash-8.0.6.txt")
        guard FileManager.default.fileExists(atPath: url.path), FileManager.default.fileExists(atPath: crash.path) else { return }
        let expected = try crashModules(crash)
        #expect(expected.count >= 3)
        let kernel = try LinuxKernel(dump: try Dump.open(url.path))
        let ours = try kernel.modules().sorted { $0.address < $1.address }
        #expect(ours.map(\.name) == expected.map(\.name), "\(file)")
        #expect(ours.map(\.address) == expected.map(\.address), "\(file)")
        #expect(ours.map(\.base) == expected.map(\.base), "\(file)")
        #expect(ours.map(\.size) == expected.map(\.size), "\(file)")
        for m in ours {
            #expect(m.symbolProblem == nil && m.symbols.count > 5, "\(file): \(m.name)")
            #expect(m.symbols.allSatisfy { m.contains($0.address) && $0.module == m.name }, "\(file): \(m.name)")
        }
        // The command prints the same table, in crash's order.
        let r = try vmcore(["mod", url.path])
        #expect(r.status == 0)
        #expect(r.text.split(separator: "\n").dropFirst().map { $0.split(separator: " ").prefix(4).joined(separator: " ") }
            == expected.map { "\(String($0.address, radix: 16)) \($0.name) \(String($0.base, radix: 16)) \($0.size)" })
    }

    @Test("the QEMU dump's CPU stopped in pvpanic: its pc resolves into [pvpanic], and back by name")
    func pvpanic() throws {
        let url = sharedDumps!.appendingPathComponent("linux-6.1-x86_64-qemu/vmcore.kdump-zlib")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let kernel = try LinuxKernel(dump: try Dump.open(url.path))
        let pvpanic = try #require(try kernel.modules().first { $0.name == "pvpanic" })
        let pcs = kernel.dump.cpus.map(\.pc).filter { pvpanic.contains($0) }
        #expect(pcs.count == 1)
        let named = try #require(kernel.symbolize(pcs[0]))
        #expect(named.hasPrefix("pvpanic_") && named.hasSuffix(" [pvpanic]"), "\(named)")
        let function = String(named.prefix { $0 != "+" })
        let address = try #require(kernel.symbol(function))
        #expect(pvpanic.contains(address) && address <= pcs[0])
        let info = try vmcore(["info", url.path])
        #expect(info.text.contains("(\(named))"))
        let sym = try vmcore(["sym", url.path, hex(pcs[0])])
        #expect(sym.text == "\(hex(pcs[0])) = \(named)\n")
    }

    @Test("each module's split BTF continues vmlinux's: pvpanic's own struct, laid out as drivers/misc/pvpanic/pvpanic.h declares it")
    func moduleBTF() throws {
        let url = sharedDumps!.appendingPathComponent("linux-6.1-x86_64-qemu/vmcore.kdump-zlib")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let kernel = try LinuxKernel(dump: try Dump.open(url.path))
        let base = try kernel.btf()
        let splits = kernel.moduleBTFs()
        #expect(Set(splits.map(\.module)) == Set(try kernel.modules().map(\.name)))
        #expect(splits.allSatisfy { $0.btf.firstID == base.endID && $0.btf.base === base })
        let t = try kernel.type("struct pvpanic_instance")
        #expect(t.btf !== base && t.size == 32)
        let members = t.btf.type(t.id)!.members.map { "\(t.btf.declaration($0.type, $0.name))@\($0.bitOffset / 8)" }
        #expect(members == ["void *base@0", "unsigned int capability@8", "unsigned int events@12", "struct list_head list@16"])
        #expect(try kernel.type("pvpanic:pvpanic_instance").id == t.id)
        #expect(caught { try kernel.type("virtio_blk:pvpanic_instance") }?.message == "no type 'pvpanic_instance' in module virtio_blk's BTF")
        let r = try vmcore(["types", url.path, "pvpanic_*"])
        #expect(r.text == "struct pvpanic_instance  struct  32 bytes  [pvpanic]\n")
    }

    @Test("arm64 6.12: every module's symbols lie in its memory; names resolve both ways")
    func arm64() throws {
        let url = sharedDumps!.appendingPathComponent("linux-6.12-arm64-qemu/vmcore.elf.zst")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let kernel = try LinuxKernel(dump: try Dump.open(url.path))
        let modules = try kernel.modules()
        #expect(Set(modules.map(\.name)).isSuperset(of: ["virtio_mmio", "qemu_fw_cfg"]))
        for m in modules {
            #expect(m.state == "live" && m.regions.contains { $0.kind == "text" } && m.base == m.regions.first { $0.kind == "text" }?.start)
            #expect(m.symbols.count > 5 && m.symbols.allSatisfy { m.contains($0.address) }, "\(m.name)")
            let s = m.symbols.first { $0.type == "t" || $0.type == "T" }!
            #expect(kernel.symbolize(s.address + 1)?.hasPrefix("\(s.name)+0x1") == true)
        }
    }
}
