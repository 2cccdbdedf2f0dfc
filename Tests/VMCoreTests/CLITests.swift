import Foundation
import Testing
import VMCore
import VMCoreTestSupport

/// The `vmcore` executable built beside the test bundle.
let vmcoreBinary: URL? = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent(), repositoryRoot.appendingPathComponent(".build/debug")] {
        let url = candidate.appendingPathComponent("vmcore")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return nil
}()

struct Run {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

func vmcore(_ args: [String], environment: [String: String]? = nil) throws -> Run {
    let p = Process()
    p.executableURL = vmcoreBinary!
    p.arguments = args
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stdout: o, stderr: String(decoding: e, as: UTF8.self))
}

@Suite("the vmcore command", .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct CLITests {
    let dir: URL
    let dumpPath: String
    let builder: KdumpBuilder

    init() throws {
        dir = try temporaryDirectory()
        builder = sampleKdump()
        dumpPath = dir.appendingPathComponent("vmcore.0").path
        try Data(builder.build()).write(to: URL(fileURLWithPath: dumpPath))
    }

    @Test("info prints the facts; --json has the documented keys, addresses as 0x strings")
    func info() throws {
        let text = try vmcore(["info", dumpPath])
        #expect(text.status == 0)
        #expect(text.text.contains("format:          kdump-compressed v6 (makedumpfile)\n"))
        #expect(text.text.contains("kernel release:  6.1.0-test\n"))
        #expect(text.text.contains("phys_base:       0xfffffffff5000000 (VMCOREINFO)\n"))
        #expect(text.text.contains("  cpu 1: pid 132  pc 0xffffffff81234567  sp 0xffffc90000453a28\n"))

        let json = try vmcore(["info", "--json", dumpPath])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(object["format"] as? String == "kdump-compressed")
        #expect(object["architecture"] as? String == "x86_64")
        #expect(object["pageSize"] as? Int == 4096)
        #expect(object["kernelRelease"] as? String == "6.1.0-test")
        #expect(object["vmcoreinfo"] as? Bool == true)
        #expect(object["physBase"] as? String == "0xfffffffff5000000")
        #expect(object["kaslrOffset"] as? String == "0x13a00000")
        let pages = try #require(object["pages"] as? [String: Any])
        #expect(pages["present"] as? Int == builder.pages.count)
        #expect(pages["excluded"] as? Int == builder.excluded.count)
        let cpus = try #require(object["cpus"] as? [[String: Any]])
        #expect(cpus.map { $0["pc"] as? String } == ["0xffffffff81000010", "0xffffffff81234567"])
    }

    @Test("vmcoreinfo prints the note's text as written")
    func vmcoreinfoText() throws {
        let r = try vmcore(["vmcoreinfo", dumpPath])
        #expect(r.status == 0)
        #expect(r.text == builder.vmcoreinfo!)
    }

    @Test("read: hexdump -C lines, and raw bytes")
    func read() throws {
        let r = try vmcore(["read", dumpPath, "--physical", "0x1ff8", "--length", "24"])
        #expect(r.status == 0)
        let page1 = builder.pages[1]!, page2 = builder.pages[2]!
        let bytes = Array(page1[4088...]) + Array(page2[0..<16])
        func line(_ address: Int, _ b: ArraySlice<UInt8>) -> String {
            let hexes = b.map { String(format: "%02x", $0) }
            let left = hexes.prefix(8).joined(separator: " "), right = hexes.dropFirst(8).joined(separator: " ")
            let ascii = String(b.map { $0 >= 0x20 && $0 < 0x7f ? Character(UnicodeScalar($0)) : "." })
            return String(format: "%016lx", address) + "  " + (left + "  " + right).padding(toLength: 48, withPad: " ", startingAt: 0) + "  |\(ascii)|\n"
        }
        #expect(r.text == line(0x1ff8, bytes[0..<16]) + line(0x2008, bytes[16..<24]) + "0000000000002010\n")

        let raw = try vmcore(["read", dumpPath, "--physical", "0x2000", "--length", "4096", "--raw"])
        #expect(raw.status == 0)
        #expect(Array(raw.stdout) == page2)
    }

    @Test("check decodes every stored page and fails on a corrupt one")
    func check() throws {
        let ok = try vmcore(["check", dumpPath])
        #expect(ok.status == 0)
        #expect(ok.text.hasPrefix("\(builder.pages.count) pages decoded"))

        var w = ByteWriter(order: .little)
        w.bytes = builder.build()
        let r = ByteReader(w.bytes, file: "", base: 0, order: .little)
        let offset = Int(try r.u64(4 * 4096, ""))
        for i in 0..<32 { w.bytes[offset + i] ^= 0x5a }
        let bad = dir.appendingPathComponent("vmcore.bad").path
        try Data(w.bytes).write(to: URL(fileURLWithPath: bad))
        let failed = try vmcore(["check", bad])
        #expect(failed.status == 1)
        #expect(failed.text.contains(" 1 failed\n"))
        #expect(failed.text.contains("  PFN 0x1: \(bad): corrupt zlib data for PFN 0x1 at offset \(hex(offset)): the zlib stream does not decode\n"))
    }

    @Test("errors a user can cause: one sentence on stderr, exit status 1")
    func errors() throws {
        let missing = try vmcore(["info", dir.appendingPathComponent("nope").path])
        #expect(missing.status == 1)
        #expect(missing.stderr == "vmcore: \(dir.appendingPathComponent("nope").path): cannot open: No such file or directory\n")

        let text = dir.appendingPathComponent("notes.txt")
        try Data("just some text, not a dump".utf8).write(to: text)
        let unknown = try vmcore(["info", text.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("vmcore: \(text.path): unknown dump format at offset 0x0: the first bytes are 6a 75 73 74"))

        let excluded = try vmcore(["read", dumpPath, "--physical", "0x3000"])
        #expect(excluded.status == 1)
        #expect(excluded.stderr == "vmcore: \(dumpPath): physical address 0x3000 was excluded from the dump: makedumpfile dump level 31 filtered out PFN 0x3\n")

        let truncated = dir.appendingPathComponent("vmcore.cut")
        try Data(builder.build().prefix(5000)).write(to: truncated)
        let cut = try vmcore(["info", truncated.path])
        #expect(cut.status == 1)
        #expect(cut.stderr == "vmcore: \(truncated.path): page bitmaps (2 blocks of 4096 bytes) run past the end of the file at offset 0x2000: the file has 5000 bytes\n")

        let badAddress = try vmcore(["read", dumpPath, "--physical", "zzz"])
        #expect(badAddress.status != 0)
        #expect(badAddress.stderr.contains("--physical takes an address"))

        var noInfo = sampleKdump()
        noInfo.vmcoreinfo = nil
        let plain = dir.appendingPathComponent("vmcore.plain")
        try Data(noInfo.build()).write(to: plain)
        let none = try vmcore(["vmcoreinfo", plain.path])
        #expect(none.status == 1)
        #expect(none.stderr.hasPrefix("vmcore: \(plain.path): has no VMCOREINFO"))
    }

    @Test("translate and read --virtual on the committed real fixture")
    func kernelAddresses() throws {
        let fixture = committedFixtures.appendingPathComponent("linux-6.1-small")
        let dump = fixture.appendingPathComponent("vmcore.kdump-zlib-d31-split").path
        let truth = try GuestTruth(fixture.appendingPathComponent("truth.txt"))
        let banner = truth.kallsyms["linux_banner"]!

        let t = try vmcore(["translate", dump, hex(banner), "--json"])
        #expect(t.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: t.stdout) as? [String: Any])
        #expect(object["physical"] as? String == hex(truth.physical("linux_banner")))
        #expect((object["steps"] as? [[String: Any]])?.map { $0["level"] as? String } == ["pgd", "pud", "pmd"])
        let text = try vmcore(["translate", dump, hex(banner)])
        #expect(text.text.hasSuffix("  -> physical \(hex(truth.physical("linux_banner"))) (2.0 MiB page)\n"))

        let r = try vmcore(["read", dump, "--virtual", hex(banner), "--length", "64", "--raw"])
        #expect(r.status == 0)
        #expect(String(decoding: r.stdout, as: UTF8.self) == String("Linux version \(truth.release) (debian-kernel@lists.debian.org) (gcc-12".prefix(64)))

        // A page table outside this split piece: the error says where the walk stopped and why.
        let lzo = fixture.appendingPathComponent("vmcore.kdump-lzo-d31-split").path
        let e = try vmcore(["read", lzo, "--virtual", hex(banner)])
        #expect(e.status == 1)
        #expect(e.stderr.contains("PGD table at physical ") && e.stderr.contains("is in a split file that was not given"))

        let both = try vmcore(["read", dump, "--virtual", "0x1", "--physical", "0x1"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("Give one of --physical and --virtual."))
    }

    @Test("dmesg (text, --raw, --tail, --json) and panic on a kernel's memory")
    func dmesgAndPanic() throws {
        let texts = ["Linux version 5.4.0-test", "sysrq: Trigger a crash", "Kernel panic - not syncing: sysrq triggered crash",
                     "CPU: 1 PID: 132 Comm: lab-crasher Not tainted 5.4.0-test #1", "Call Trace:", " <TASK>", " panic+0x118/0x2f4",
                     " sysrq_handle_crash+0x16/0x20", " </TASK>"]
        let file = dir.appendingPathComponent("kernel.elf")
        try Data(locklessDumpBytes(texts)).write(to: file)

        let all = try vmcore(["dmesg", file.path])
        #expect(all.status == 0)
        #expect(all.text.hasPrefix("[    0.000000] Linux version 5.4.0-test\n[    0.001500] sysrq: Trigger a crash\n"))
        #expect(all.text.split(separator: "\n").count == texts.count)
        let tail = try vmcore(["dmesg", file.path, "--tail", "2", "--raw"])
        #expect(tail.text == "<6>[    0.010500]  sysrq_handle_crash+0x16/0x20\n<6>[    0.012000]  </TASK>\n")
        let json = try vmcore(["dmesg", file.path, "--json", "--tail", "1"])
        let record = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(record["text"] as? String == " </TASK>")
        #expect(record["caller"] as? String == "T108")
        #expect(record["level"] as? Int == 6)

        let panic = try vmcore(["panic", file.path])
        #expect(panic.status == 0)
        #expect(panic.text.hasPrefix("Kernel panic - not syncing: sysrq triggered crash\nCPU 1, PID 132, command lab-crasher (Not tainted 5.4.0-test #1)\n"))
        #expect(panic.text.hasSuffix("Call Trace:\n  panic+0x118/0x2f4\n  sysrq_handle_crash+0x16/0x20\n"))
        let pj = try #require(try JSONSerialization.jsonObject(with: try vmcore(["panic", file.path, "--json"]).stdout) as? [String: Any])
        let p = try #require(pj["panic"] as? [String: Any])
        #expect(p["message"] as? String == "Kernel panic - not syncing: sysrq triggered crash")
        #expect(p["cpu"] as? Int == 1)
        #expect(p["pid"] as? Int == 132)
        #expect(p["command"] as? String == "lab-crasher")
        #expect(p["callTrace"] as? [String] == ["panic+0x118/0x2f4", "sysrq_handle_crash+0x16/0x20"])

        let quiet = dir.appendingPathComponent("quiet.elf")
        try Data(locklessDumpBytes(["all is well"])).write(to: quiet)
        let none = try vmcore(["panic", quiet.path])
        #expect(none.status == 1)
        #expect(none.stderr == "vmcore: \(quiet.path): the kernel log reports no panic, oops, BUG, warning or lockup: 1 records read; vmcore dmesg prints them\n")
    }
}
