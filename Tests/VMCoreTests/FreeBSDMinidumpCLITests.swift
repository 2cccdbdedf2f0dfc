import Foundation
import Testing
import VMCore
import VMCoreTestSupport

@Suite("the vmcore command on FreeBSD minidumps", .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct FreeBSDMinidumpCLITests {
    let dir: URL

    init() throws { dir = try temporaryDirectory() }

    func write(_ s: MinidumpSample, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(s.bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("info: arm64 with 16 KiB pages")
    func infoARM64() throws {
        let s = MinidumpSample(MinidumpLayout(machine: .arm64, version: 3, pageSize: 16384))
        let r = try vmcore(["info", try write(s, "vmcore.arm64")])
        #expect(r.status == 0)
        #expect(r.text.contains("format:          FreeBSD/arm64 minidump v3, 16 KiB pages\n"))
        #expect(r.text.contains("architecture:    aarch64\n"))
        #expect(r.text.contains("page size:       16384\n"))
        #expect(r.text.contains("kernel release:  14.1-RELEASE\n"))
        #expect(r.text.contains("panic:           panic: vm_fault_lookup: fault on nofault entry, addr: 0xdeadc000\n"))
        #expect(r.text.contains("minidump:        FreeBSD/arm64 version 3, flags 0x1, kernbase 0xffff000000000000, direct map 0xffffa00000000000-0xffffff0000000000 at physical 0x40000000\n"))
        #expect(r.text.contains("message buffer:  \(s.log.utf8.count) bytes, ordered by struct msgbuf (write position 23) (vmcore dmesg prints it)\n"))
    }

    @Test("info: i386 with PAE, as text and JSON")
    func infoI386() throws {
        let s = MinidumpSample(MinidumpLayout(machine: .i386, version: 2, pae: true))
        let path = try write(s, "vmcore.i386")
        let r = try vmcore(["info", path])
        #expect(r.status == 0)
        #expect(r.text.contains("format:          FreeBSD/i386 minidump v2 (PAE)\n"))
        #expect(r.text.contains("architecture:    i386\n"))
        #expect(r.text.contains("minidump:        FreeBSD/i386 version 2, PAE page tables, kernbase 0x800000, no direct map\n"))
        let json = try vmcore(["info", "--json", path])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let freebsd = try #require(object["freebsd"] as? [String: Any])
        #expect(freebsd["machine"] as? String == "i386")
        #expect(freebsd["paeMode"] as? Bool == true)
        #expect(freebsd["directMapBase"] == nil)
        #expect(object["pageSize"] as? Int == 4096)
    }

    @Test("info: riscv v1")
    func infoRISCV() throws {
        let r = try vmcore(["info", try write(MinidumpSample(MinidumpLayout(machine: .riscv, version: 1)), "vmcore.riscv")])
        #expect(r.status == 0)
        #expect(r.text.contains("format:          FreeBSD/riscv minidump v1\n"))
        #expect(r.text.contains("architecture:    riscv64\n"))
        #expect(r.text.contains("minidump:        FreeBSD/riscv version 1, kernbase 0xffffffc000000000, direct map 0xffffffd000000000-0xfffffff000000000 at physical 0x80000000\n"))
    }

    @Test("dmesg prints the wrapped buffer oldest first", arguments: [MinidumpLayout(machine: .arm64, version: 3, pageSize: 16384),
                                                                      MinidumpLayout(machine: .i386, version: 1), MinidumpLayout(machine: .riscv, version: 2)])
    func dmesg(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let path = try write(s, "vmcore.dmesg.\(layout.machine.rawValue)")
        let r = try vmcore(["dmesg", path])
        #expect(r.status == 0)
        #expect(r.text == s.log)
        let tail = try vmcore(["dmesg", path, "--tail", "2"])
        #expect(tail.text == s.log.split(separator: "\n").suffix(2).joined(separator: "\n") + "\n")
    }

    @Test("translate and read --virtual: arm64 16 KiB pages, i386 PAE above 4 GiB")
    func translateAndRead() throws {
        let a = MinidumpSample(MinidumpLayout(machine: .arm64, version: 3, pageSize: 16384))
        let arm = try write(a, "vmcore.translate.arm64")
        let va = a.textVA + 0x2468
        let t = try vmcore(["translate", arm, hex(va)])
        #expect(t.status == 0)
        #expect(t.text.hasPrefix("\(hex(va)) (FreeBSD/arm64 minidump v3, 16 KiB pages, root 0xffff000000000000 from the minidump's pmap from kernbase, and the direct map)\n"))
        #expect(t.text.contains("  L3   table "))
        #expect(t.text.hasSuffix("  -> physical \(hex(a.textPA + 0x2468)) (16.0 KiB page)\n"))
        let r = try vmcore(["read", arm, "--virtual", hex(va), "--length", "16", "--raw"])
        #expect(Array(r.stdout) == Array(a.page(a.textPA)[0x2468..<0x2478]))

        let i = MinidumpSample(MinidumpLayout(machine: .i386, version: 2, pae: true))
        let pae = try write(i, "vmcore.translate.i386")
        let j = try vmcore(["translate", pae, hex(i.attributeVA + 0x10), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: j.stdout) as? [String: Any])
        #expect(object["physical"] as? String == "0x100006010")
        #expect((object["steps"] as? [[String: Any]])?.first?["flags"] as? [String] == ["P", "RW", "A", "D", "NX"])
        let raw = try vmcore(["read", pae, "--virtual", hex(i.attributeVA), "--length", "4096", "--raw"])
        #expect(Array(raw.stdout) == i.page(i.attributePA))

        let below = try vmcore(["read", pae, "--virtual", "0x1000"])
        #expect(below.status == 1)
        #expect(below.stderr == "vmcore: \(pae): 0x1000 is not a kernel address in this minidump: it holds KVA from 0x800000; i386 kernels have no direct map\n")
    }

    @Test("a minidump of an architecture the tool does not read")
    func unsupported() throws {
        var w = ByteWriter(order: .little)
        w.cString("minidump FreeBSD/arm", at: 0, size: 24)
        w.u32(2, at: 24)
        w.grow(to: 8192)
        let path = dir.appendingPathComponent("vmcore.arm").path
        try Data(w.bytes).write(to: URL(fileURLWithPath: path))
        let r = try vmcore(["info", path])
        #expect(r.status == 1)
        #expect(r.stderr == "vmcore: \(path): FreeBSD/arm minidumps are not supported at offset 0x0: this library reads FreeBSD/amd64, arm64, i386 and riscv minidumps\n")
    }
}
