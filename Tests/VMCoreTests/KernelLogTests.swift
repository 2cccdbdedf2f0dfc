import Testing
import VMCore
import VMCoreTestSupport

/// Writes `texts` into a lockless printk ring of 2^countBits descriptors and 2^sizeBits data
/// bytes the way `prb_reserve()`/`prb_commit()` do, older records overwritten; returns the
/// dump and the records that must survive.
func locklessDump(_ texts: [String], countBits: Int = 4, sizeBits: Int = 10, reserveLast: Bool = false) throws -> (Dump, [(UInt64, String)]) {
    let (bytes, survivors) = locklessMemory(texts, countBits: countBits, sizeBits: sizeBits, reserveLast: reserveLast)
    return (try openDump(bytes, name: "kernel.elf"), survivors)
}

@Suite("kernel log formats")
struct KernelLogTests {
    @Test("lockless ring: every surviving record, in order, through wraps and overwrites", arguments: [3, 12, 40, 100])
    func lockless(_ n: Int) throws {
        let texts = (0..<n).map { "message \($0): " + String(repeating: "x", count: $0 % 37) }
        let (dump, expected) = try locklessDump(texts)
        let log = try LinuxKernel(dump: dump).kernelLog()
        #expect(log.format == "lockless ring buffer (Linux 5.10+)")
        #expect(log.records.map(\.text) == expected.map(\.1))
        #expect(log.records.map(\.sequence) == expected.map(\.0))
        let first = try #require(log.records.first)
        #expect(first.timestampNanoseconds == first.sequence * 1_500_000)
        #expect(first.level == 6)
        #expect(first.caller == "T\(100 + first.sequence)")
        #expect(first.formatted() == "[    " + String(format: "%d.%06d", first.sequence * 1_500_000 / 1_000_000_000, first.sequence * 1_500_000 % 1_000_000_000 / 1000) + "] " + first.text)
    }

    @Test("a record still being written is skipped")
    func reserved() throws {
        let (dump, expected) = try locklessDump(["one", "two", "three"], reserveLast: true)
        #expect(try LinuxKernel(dump: dump).kernelLog().records.map(\.text) == expected.map(\.1))
        #expect(expected.map(\.1) == ["one", "two"])
    }

    @Test("an impossible ring size is an error, not a huge allocation")
    func hostileRing() throws {
        var k = KernelMemoryBuilder()
        var rb = [UInt8](repeating: 0, count: 88)
        rb.replaceSubrange(0..<4, with: le(60, 4))
        let rbVA = k.place(rb)
        k.vmcoreinfo = ["SYMBOL(prb)=" + String(k.placeWord(rbVA), radix: 16)] + locklessKeys
        let e = caught { try LinuxKernel(dump: openDump(k.build(), name: "kernel.elf")).kernelLog() }
        #expect(e?.description == "kernel.elf: corrupt printk ring buffer at \(hex(rbVA)): count_bits 60 and size_bits 0 are beyond any kernel's")
    }

    /// struct printk_log: {u64 ts_nsec; u16 len, text_len, dict_len; u8 facility; u8 flags:5, level:3; [u32 caller_id]}.
    func printkLogDump(caller: Bool, corruptLoop: Bool = false) throws -> Dump {
        var k = KernelMemoryBuilder()
        let header = caller ? 20 : 16
        var buf = [UInt8](repeating: 0, count: 256)
        func record(_ at: Int, _ text: String, _ ts: UInt64, level: UInt8) -> Int {
            let len = (header + text.utf8.count + 3) / 4 * 4
            var r = le(ts, 8) + le(UInt64(len), 2) + le(UInt64(text.utf8.count), 2) + le(0, 2) + [0, level << 5]
            if caller { r += le(0x8000_0001, 4) }
            buf.replaceSubrange(at..<at + header, with: r)
            buf.replaceSubrange(at + header..<at + header + text.utf8.count, with: Array(text.utf8))
            return at + len
        }
        // Oldest record near the end of the buffer, a wrap marker, then records from 0.
        var p = record(180, "oldest record", 1_000_000, level: 4)
        buf.replaceSubrange(p..<p + 16, with: [UInt8](repeating: 0, count: 16))  // len 0: wrap
        p = record(0, "after the wrap", 2_000_000, level: 6)
        p = record(p, "newest", 3_000_000_000, level: 0)
        if corruptLoop { buf.replaceSubrange(8..<10, with: le(0xff00, 2)) }
        let bufVA = k.place(buf)
        k.vmcoreinfo = ["SYMBOL(log_buf)=" + String(k.placeWord(bufVA), radix: 16),
                        "SYMBOL(log_buf_len)=" + String(k.placeWord(256), radix: 16),
                        "SYMBOL(log_first_idx)=" + String(k.placeWord(180), radix: 16),
                        "SYMBOL(clear_idx)=" + String(k.placeWord(180), radix: 16),
                        "SYMBOL(log_next_idx)=" + String(k.placeWord(UInt64(p)), radix: 16),
                        "SIZE(printk_log)=\(header)", "OFFSET(printk_log.ts_nsec)=0", "OFFSET(printk_log.len)=8",
                        "OFFSET(printk_log.text_len)=10", "OFFSET(printk_log.dict_len)=12"]
            + (caller ? ["OFFSET(printk_log.caller_id)=16"] : [])
        return try openDump(k.build(), name: "kernel.elf")
    }

    @Test("struct printk_log records (3.5-5.9), with and without caller ids, across the wrap", arguments: [false, true])
    func printkLog(_ caller: Bool) throws {
        let log = try LinuxKernel(dump: printkLogDump(caller: caller)).kernelLog()
        #expect(log.format == "struct printk_log records (Linux 3.5-5.9)")
        #expect(log.records.map { $0.formatted() } == ["[    0.001000] oldest record", "[    0.002000] after the wrap", "[    3.000000] newest"])
        #expect(log.records.map(\.level) == [4, 6, 0])
        #expect(log.records.first?.caller == (caller ? "C1" : nil))
        #expect(log.records.map { $0.formatted(withLevel: true) }.first == "<4>[    0.001000] oldest record")
        #expect(log.problems.isEmpty)
    }

    @Test("a corrupt printk_log chain is reported and reading stops")
    func printkLogCorrupt() throws {
        let log = try LinuxKernel(dump: printkLogDump(caller: false, corruptLoop: true)).kernelLog()
        #expect(log.records.map(\.text).first == "oldest record")
        #expect(log.problems.count == 1)
        #expect(log.problems[0].contains("is corrupt") || log.problems[0].contains("does not reach"))
    }

    @Test("the plain character ring (before 3.5), rotated once it filled")
    func plainRing() throws {
        var k = KernelMemoryBuilder()
        let lines = "<6>[    0.000000] Linux version 2.6.32-test\n<4>[    1.250000] hello\n<0>[    2.000000] Kernel panic - not syncing: test\n"
        var buf = [UInt8](repeating: 0x20, count: 128)
        // 300 bytes were ever written: the ring starts at 300 % 128 = 44.
        let text = Array(lines.utf8)
        let start = 300 - text.count
        for (i, b) in text.enumerated() { buf[(start + i) % 128] = b }
        for i in 0..<(128 - text.count) { buf[(start - 1 - i + 128 * 4) % 128] = 0x0a }
        let bufVA = k.place(buf)
        k.vmcoreinfo = ["SYMBOL(log_buf)=" + String(k.placeWord(bufVA), radix: 16),
                        "SYMBOL(log_buf_len)=" + String(k.placeWord(128), radix: 16),
                        "SYMBOL(log_end)=" + String(k.placeWord(300), radix: 16)]
        let log = try LinuxKernel(dump: openDump(k.build(), name: "kernel.elf")).kernelLog()
        #expect(log.format == "character ring (before Linux 3.5)")
        #expect(log.records.map { $0.formatted() } == ["[    0.000000] Linux version 2.6.32-test", "[    1.250000] hello", "[    2.000000] Kernel panic - not syncing: test"])
        #expect(log.records.map(\.level) == [6, 4, 0])
    }

    @Test("unprintable bytes and continuation lines print as makedumpfile prints them")
    func printable() throws {
        let (dump, _) = try locklessDump(["first line\nsecond line", "bell \u{7} and tab\t"])
        let log = try LinuxKernel(dump: dump).kernelLog()
        #expect(log.records.map(\.text) == ["first line\n               second line", "bell \\x07 and tab\t"])
    }
}

@Suite("panic summaries")
struct PanicSummaryTests {
    func records(_ lines: [String]) -> [LogRecord] {
        lines.enumerated().map { LogRecord(sequence: UInt64($0.offset), timestampNanoseconds: UInt64($0.offset) * 1000, level: nil, facility: nil, caller: nil, text: $0.element) }
    }

    @Test("an oops that went on to panic: the oops is the cause, with its RIP and trace")
    func oops() throws {
        let p = try #require(PanicSummary(records: records([
            "random boot line",
            "BUG: kernel NULL pointer dereference, address: 0000000000000000",
            "#PF: supervisor read access in kernel mode",
            "Oops: 0000 [#1] PREEMPT SMP NOPTI",
            "CPU: 3 PID: 4242 Comm: kworker/3:1 Tainted: G        W          6.1.0 #1",
            "RIP: 0010:my_driver_poll+0x12/0x40 [my_driver]",
            "Call Trace:", " <TASK>", " process_one_work+0x1c7/0x380", " worker_thread+0x4d/0x380", " </TASK>",
            "Kernel panic - not syncing: Fatal exception",
        ])))
        #expect(p.kind == "BUG")
        #expect(p.message == "BUG: kernel NULL pointer dereference, address: 0000000000000000")
        #expect(p.panicMessage == "Kernel panic - not syncing: Fatal exception")
        #expect(p.cpu == 3 && p.pid == 4242 && p.command == "kworker/3:1")
        #expect(p.rip == "RIP: 0010:my_driver_poll+0x12/0x40 [my_driver]")
        #expect(p.callTrace == ["process_one_work+0x1c7/0x380", "worker_thread+0x4d/0x380"])
    }

    @Test("an arm64 oops: the fault is the cause, with pc, lr and the call trace")
    func arm64Oops() throws {
        // As arch/arm64/mm/fault.c, kernel/traps.c (die) and process.c (__show_regs) print it.
        let p = try #require(PanicSummary(records: records([
            "random boot line",
            "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000",
            "Mem abort info:", "  ESR = 0x0000000096000045",
            "Internal error: Oops: 0000000096000045 [#1] SMP",
            "Modules linked in: my_driver",
            "CPU: 1 UID: 0 PID: 170 Comm: lab-crasher Not tainted 6.12.117+deb13-cloud-arm64 #1  Debian 6.12.117-1",
            "pstate: 60400005 (nZCv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)",
            "pc : my_driver_poll+0x14/0x30 [my_driver]",
            "lr : process_one_work+0x178/0x3c8",
            "sp : ffff800082b3bd40",
            "Call trace:", " my_driver_poll+0x14/0x30 [my_driver]", " process_one_work+0x178/0x3c8", " kthread+0x118/0x128",
            "Code: d2800001 f9400000 b9000001 d65f03c0 (f9000020)",
            "Kernel panic - not syncing: Oops: Fatal exception",
        ])))
        #expect(p.kind == "BUG")
        #expect(p.message == "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000")
        #expect(p.panicMessage == "Kernel panic - not syncing: Oops: Fatal exception")
        #expect(p.cpu == 1 && p.pid == 170 && p.command == "lab-crasher")
        #expect(p.rip == nil)
        #expect(p.pc == "pc : my_driver_poll+0x14/0x30 [my_driver]")
        #expect(p.lr == "lr : process_one_work+0x178/0x3c8")
        #expect(p.callTrace == ["my_driver_poll+0x14/0x30 [my_driver]", "process_one_work+0x178/0x3c8", "kthread+0x118/0x128"])
        let report = PanicReport(panic: p, operatingSystem: .linux).text
        #expect(report.contains("pc : my_driver_poll+0x14/0x30 [my_driver]\nlr : process_one_work+0x178/0x3c8\nCall Trace:\n"))
        // A BUG() on arm64 is an "Internal error: Oops - BUG".
        let bug = try #require(PanicSummary(records: records(["boot", "kernel BUG at mm/slub.c:1:", "Internal error: Oops - BUG: 00000000f2000800 [#1] SMP"])))
        #expect(bug.kind == "BUG" && bug.message == "kernel BUG at mm/slub.c:1:")
    }

    @Test("hung tasks, soft lockups and warnings are named", arguments: [
        ("INFO: task kworker:12 blocked for more than 120 seconds.", "hung task"),
        ("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [spin:99]", "soft lockup"),
        ("WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:5000 foo+0x1/0x2", "WARNING"),
        ("general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP", "general protection fault"),
    ])
    func kinds(_ line: String, _ kind: String) throws {
        let p = try #require(PanicSummary(records: records(["boot", line, "CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1"])))
        #expect(p.kind == kind)
        #expect(p.panicMessage == nil)
        #expect(p.command == "init")
    }

    @Test("a quiet log has no summary")
    func none() {
        #expect(PanicSummary(records: records(["boot", "all fine"])) == nil)
    }
}
