import Testing
import VMCore
import VMCoreTestSupport

/// The VMCOREINFO printk keys of a 6.1 x86-64 kernel (the shared dumps' values).
let locklessKeys = """
    SIZE(printk_ringbuffer)=88
    OFFSET(printk_ringbuffer.desc_ring)=0
    OFFSET(printk_ringbuffer.text_data_ring)=48
    OFFSET(printk_ringbuffer.fail)=80
    SIZE(prb_desc_ring)=48
    OFFSET(prb_desc_ring.count_bits)=0
    OFFSET(prb_desc_ring.descs)=8
    OFFSET(prb_desc_ring.infos)=16
    OFFSET(prb_desc_ring.head_id)=24
    OFFSET(prb_desc_ring.tail_id)=32
    SIZE(prb_desc)=24
    OFFSET(prb_desc.state_var)=0
    OFFSET(prb_desc.text_blk_lpos)=8
    SIZE(prb_data_blk_lpos)=16
    OFFSET(prb_data_blk_lpos.begin)=0
    OFFSET(prb_data_blk_lpos.next)=8
    SIZE(printk_info)=88
    OFFSET(printk_info.seq)=0
    OFFSET(printk_info.ts_nsec)=8
    OFFSET(printk_info.text_len)=16
    OFFSET(printk_info.caller_id)=20
    OFFSET(printk_info.dev_info)=24
    SIZE(dev_printk_info)=64
    OFFSET(dev_printk_info.subsystem)=0
    LENGTH(printk_info_subsystem)=16
    OFFSET(dev_printk_info.device)=16
    LENGTH(printk_info_device)=48
    SIZE(prb_data_ring)=32
    OFFSET(prb_data_ring.size_bits)=0
    OFFSET(prb_data_ring.data)=8
    OFFSET(prb_data_ring.head_lpos)=16
    OFFSET(prb_data_ring.tail_lpos)=24
    SIZE(atomic_long_t)=8
    OFFSET(atomic_long_t.counter)=0
    """.split(separator: "\n").map(String.init)

func le(_ v: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) } }

/// Writes `texts` into a lockless printk ring of 2^countBits descriptors and 2^sizeBits data
/// bytes the way `prb_reserve()`/`prb_commit()` do, older records overwritten; returns the
/// dump and the records that must survive.
func locklessDump(_ texts: [String], countBits: Int = 4, sizeBits: Int = 10, reserveLast: Bool = false) throws -> (Dump, [(UInt64, String)]) {
    let (bytes, survivors) = locklessMemory(texts, countBits: countBits, sizeBits: sizeBits, reserveLast: reserveLast)
    return (try openDump(bytes, name: "kernel.elf"), survivors)
}

/// The ELF core bytes of `locklessDump`.
func locklessDumpBytes(_ texts: [String]) -> [UInt8] { locklessMemory(texts, countBits: 4, sizeBits: 10, reserveLast: false).0 }

func locklessMemory(_ texts: [String], countBits: Int, sizeBits: Int, reserveLast: Bool) -> ([UInt8], [(UInt64, String)]) {
    var k = KernelMemoryBuilder()
    let count = 1 << countBits, size = UInt64(1) << sizeBits
    var descs = [UInt8](repeating: 0, count: count * 24)
    var infos = [UInt8](repeating: 0, count: count * 88)
    var data = [UInt8](repeating: 0, count: Int(size))
    var lpos: UInt64 = 0
    var blocks: [(id: UInt64, begin: UInt64, next: UInt64)] = []
    let firstID: UInt64 = 1000  // ids need not start at 0
    for (i, text) in texts.enumerated() {
        let id = firstID + UInt64(i)
        let blockSize = (8 + UInt64(text.utf8.count) + 7) / 8 * 8
        var begin = lpos
        // A block never wraps, nor ends exactly at the ring's end (get_next_lpos()): then its
        // data starts at the beginning of the next wrap.
        if begin % size + blockSize >= size { begin = (begin / size + 1) * size }
        let next = begin + blockSize
        let at = Int(begin % size)
        data.replaceSubrange(at..<at + 8, with: le(id, 8))
        data.replaceSubrange(at + 8..<at + 8 + text.utf8.count, with: Array(text.utf8))
        // The block as prb_desc records it: begin is where the previous block ended.
        blocks.append((id, lpos, next))
        lpos = next
        let slot = Int(id % UInt64(count))
        let state: UInt64 = reserveLast && i == texts.count - 1 ? 0 : 2  // reserved, or finalized
        descs.replaceSubrange(slot * 24..<slot * 24 + 24, with: le(state << 62 | id, 8) + le(lpos - blockSize == begin ? blocks.last!.begin : begin, 8) + le(next, 8))
        infos.replaceSubrange(slot * 88..<slot * 88 + 24, with: le(UInt64(i), 8) + le(UInt64(i) * 1_500_000, 8) + le(UInt64(text.utf8.count), 2) + [0, 6 << 5] + le(UInt64(100 + i), 4))
    }
    // Surviving records: the last `count` ids whose data was not overwritten.
    let headID = firstID + UInt64(texts.count - 1)
    var tailID = headID
    while tailID > firstID, headID - (tailID - 1) < UInt64(count), blocks[Int(tailID - 1 - firstID)].begin + size >= lpos { tailID -= 1 }
    let descsVA = k.place(descs), infosVA = k.place(infos), dataVA = k.place(data, align: 4096)
    var rb = [UInt8](repeating: 0, count: 88)
    rb.replaceSubrange(0..<4, with: le(UInt64(countBits), 4))
    rb.replaceSubrange(8..<16, with: le(descsVA, 8))
    rb.replaceSubrange(16..<24, with: le(infosVA, 8))
    rb.replaceSubrange(24..<32, with: le(headID, 8))
    rb.replaceSubrange(32..<40, with: le(tailID, 8))
    rb.replaceSubrange(48..<52, with: le(UInt64(sizeBits), 4))
    rb.replaceSubrange(56..<64, with: le(dataVA, 8))
    let rbVA = k.place(rb)
    let prb = k.placeWord(rbVA)
    k.vmcoreinfo = ["SYMBOL(prb)=" + String(prb, radix: 16)] + locklessKeys
    let survivors = (tailID...headID).filter { !(reserveLast && $0 == headID) }.map { ($0 - firstID, texts[Int($0 - firstID)]) }
    return (k.build(), survivors)
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
