/// One record of the kernel log.
public struct LogRecord: Sendable, Codable, Equatable {
    public var sequence: UInt64
    public var timestampNanoseconds: UInt64
    /// Syslog level 0 (emerg) … 7 (debug), when the format records it.
    public var level: Int?
    /// Syslog facility (0 kernel, 1 user, …), when the format records it.
    public var facility: Int?
    /// "T<pid>" for a task, "C<cpu>" for a CPU context (5.1+ with CONFIG_PRINTK_CALLER, always since 5.10).
    public var caller: String?
    public var text: String
    /// Dictionary fields of dev_printk() records (SUBSYSTEM=, DEVICE=).
    public var subsystem: String?
    public var device: String?

    public init(sequence: UInt64, timestampNanoseconds: UInt64, level: Int?, facility: Int?, caller: String?, text: String,
                subsystem: String? = nil, device: String? = nil) {
        self.sequence = sequence
        self.timestampNanoseconds = timestampNanoseconds
        self.level = level
        self.facility = facility
        self.caller = caller
        self.text = text
        self.subsystem = subsystem
        self.device = device
    }

    /// `[    8.540964] text` as dmesg and `makedumpfile --dump-dmesg` print it; continuation
    /// lines indented under the text; bytes that are neither printable nor space as `\xNN`.
    public func formatted(withLevel: Bool = false) -> String {
        let seconds = timestampNanoseconds / 1_000_000_000
        let micros = (timestampNanoseconds % 1_000_000_000) / 1000
        var prefix = ""
        if withLevel, let level { prefix = "<\((facility ?? 0) << 3 | level)>" }
        let stamp = "[" + String(seconds).leftPadded(5, with: " ") + "." + String(micros).leftPadded(6) + "] "
        return prefix + stamp + text
    }
}

/// The kernel log as read from a dump, with the records that could not be read.
public struct KernelLog: Sendable, Codable {
    /// Which printk implementation the kernel used.
    public var format: String
    public var records: [LogRecord]
    /// Records skipped, and why (overwritten while the kernel was writing, corrupt).
    public var problems: [String]
}

extension LinuxKernel {
    /// The kernel log, from VMCOREINFO offsets alone (linux.md A5): the lockless ring buffer
    /// (5.10+), `struct printk_log` records (3.5–5.9), or the plain character ring (older).
    public func kernelLog() throws(VMCoreError) -> KernelLog {
        guard let info = vmcoreinfo?.value else {
            throw VMCoreError(.notInDump, file: dump.files[0], "cannot read the kernel log", "no VMCOREINFO (in the dump or in memory)")
        }
        if info.symbol("prb") != nil { return try locklessLog(info) }
        if info.symbol("log_buf") != nil, info.size("printk_log") != nil || info.size("log") != nil { return try recordLog(info) }
        if info.symbol("log_buf") != nil, info.symbol("log_end") != nil { return try plainLog(info) }
        throw VMCoreError(.unsupported, file: dump.files[0], "cannot read the kernel log",
                          "VMCOREINFO describes no printk buffer this tool knows (no SYMBOL(prb) or SYMBOL(log_buf))")
    }

    func word(_ va: UInt64) throws(VMCoreError) -> UInt64 {
        try readPointer(at: va, "pointer")
    }

    func key(_ info: VMCoreInfo, _ kind: String, _ name: String) throws(VMCoreError) -> UInt64 {
        let v: UInt64? = switch kind {
        case "OFFSET": info.offset(name)
        case "SIZE": info.size(name)
        case "LENGTH": info.length(name)
        default: info.symbol(name)
        }
        guard let v else {
            throw VMCoreError(.notInDump, file: dump.files[0], "cannot read the kernel log", "VMCOREINFO lacks \(kind)(\(name))")
        }
        return v
    }

    /// Text with bytes that are neither printable nor whitespace shown as `\xNN`, and
    /// continuation lines indented under the first (makedumpfile's `dump_log_entry`).
    static func printable(_ bytes: ArraySlice<UInt8>, indent: Int) -> String {
        // Most records are plain printable ASCII: decode them in one step.
        if !bytes.contains(where: { $0 < 0x20 || $0 > 0x7e }) { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        let hexDigits = Array("0123456789abcdef".utf8)
        for b in bytes {
            switch b {
            case 0x0a:
                out.append(0x0a)
                out.append(contentsOf: repeatElement(0x20, count: indent))
            case 0x09, 0x0b, 0x0c, 0x0d, 0x20...0x7e:
                out.append(b)
            default:
                out.append(contentsOf: [0x5c, 0x78, hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]])  // \xNN
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func callerID(_ id: UInt32) -> String {
        id & 0x8000_0000 != 0 ? "C\(id & 0x7fff_ffff)" : "T\(id)"
    }

    /// 5.10+: descriptors, infos and a data ring (`kernel/printk/printk_ringbuffer.c`).
    func locklessLog(_ info: VMCoreInfo) throws(VMCoreError) -> KernelLog {
        let file = dump.files[0]
        let rb = try word(try key(info, "SYMBOL", "prb"))
        let descRing = rb &+ (try key(info, "OFFSET", "printk_ringbuffer.desc_ring"))
        let textRing = rb &+ (try key(info, "OFFSET", "printk_ringbuffer.text_data_ring"))
        let countBits = try word(descRing &+ (try key(info, "OFFSET", "prb_desc_ring.count_bits"))) & 0xffff_ffff
        let sizeBits = try word(textRing &+ (try key(info, "OFFSET", "prb_data_ring.size_bits"))) & 0xffff_ffff
        // Kernels cap CONFIG_LOG_BUF_SHIFT at 25; anything far above that is not a printk ring.
        guard countBits <= 25, sizeBits <= 28 else {
            throw VMCoreError(.corrupt, file: file, "corrupt printk ring buffer at \(hex(rb))",
                              "count_bits \(countBits) and size_bits \(sizeBits) are beyond any kernel's")
        }
        let count = UInt64(1) << countBits, textSize = UInt64(1) << sizeBits
        let descSize = try key(info, "SIZE", "prb_desc"), infoSize = try key(info, "SIZE", "printk_info")
        // Sizes are below VMCoreInfo.structureLimit, so these products fit; a ring whose
        // descriptors or infos would pass 256 MiB is no kernel's (2^20 records of 88 bytes at most).
        guard count * descSize <= 256 << 20, count * infoSize <= 256 << 20 else {
            throw VMCoreError(.corrupt, file: file, "corrupt printk ring buffer at \(hex(rb))",
                              "\(count) descriptors of \(descSize) bytes and infos of \(infoSize) bytes are beyond any kernel's")
        }
        let descs = try addressSpace.read(virtual: try word(descRing &+ (try key(info, "OFFSET", "prb_desc_ring.descs"))), count: Int(count * descSize))
        let infos = try addressSpace.read(virtual: try word(descRing &+ (try key(info, "OFFSET", "prb_desc_ring.infos"))), count: Int(count * infoSize))
        let data = try addressSpace.read(virtual: try word(textRing &+ (try key(info, "OFFSET", "prb_data_ring.data"))), count: Int(textSize))
        let counter = info.offset("atomic_long_t.counter") ?? 0
        let head = try word(descRing &+ (try key(info, "OFFSET", "prb_desc_ring.head_id")) &+ counter)
        let tail = try word(descRing &+ (try key(info, "OFFSET", "prb_desc_ring.tail_id")) &+ counter)

        let d = ByteReader(descs, file: file, base: 0, order: .little)
        let n = ByteReader(infos, file: file, base: 0, order: .little)
        let stateVar = try key(info, "OFFSET", "prb_desc.state_var") + counter
        let textPos = try key(info, "OFFSET", "prb_desc.text_blk_lpos")
        let beginOff = try key(info, "OFFSET", "prb_data_blk_lpos.begin"), nextOff = try key(info, "OFFSET", "prb_data_blk_lpos.next")
        let seqOff = try key(info, "OFFSET", "printk_info.seq"), tsOff = try key(info, "OFFSET", "printk_info.ts_nsec")
        let lenOff = try key(info, "OFFSET", "printk_info.text_len"), callerOff = info.offset("printk_info.caller_id")
        let devOff = info.offset("printk_info.dev_info"), subOff = info.offset("dev_printk_info.subsystem")
        let devNameOff = info.offset("dev_printk_info.device")
        let subLen = Int(info.length("printk_info_subsystem") ?? 16), devLen = Int(info.length("printk_info_device") ?? 48)
        let idMask: UInt64 = ~(3 << 62)

        var records: [LogRecord] = []
        var problems: [String] = []
        var id = tail & idMask
        // At most `count` descriptors exist; the walk from tail to head can never be longer.
        for _ in 0..<count {
            defer { id = (id + 1) & idMask }
            let slot = Int(id % count)
            let dOff = slot * Int(descSize), iOff = slot * Int(infoSize)
            let sv = try d.u64(dOff + Int(stateVar), "prb_desc.state_var")
            let state = sv >> 62
            if sv & idMask != id || !(state == 1 || state == 2) {
                // Reserved (being written) or reused: not a record to print.
                if id == head & idMask { break }
                continue
            }
            var begin = try d.u64(dOff + Int(textPos + beginOff), "text_blk_lpos.begin") % textSize
            let next = try d.u64(dOff + Int(textPos + nextOff), "text_blk_lpos.next") % textSize
            let seq = try n.u64(iOff + Int(seqOff), "printk_info.seq")
            if begin == next { if id == head & idMask { break }; continue }  // a record without text
            if begin > next { begin = 0 }  // the block wrapped: its data starts at the ring's start
            begin += 8  // the block's leading descriptor ID
            guard begin <= next else {
                problems.append("record \(seq): data block \(begin)-\(next) is too small")
                if id == head & idMask { break }
                continue
            }
            let length = min(UInt64(try n.u16(iOff + Int(lenOff), "printk_info.text_len")), next - begin)
            let ts = try n.u64(iOff + Int(tsOff), "printk_info.ts_nsec")
            let facility = Int(try n.u8(iOff + Int(lenOff) + 2, "printk_info.facility"))
            let flagsLevel = try n.u8(iOff + Int(lenOff) + 3, "printk_info.level")
            var record = LogRecord(sequence: seq, timestampNanoseconds: ts, level: Int(flagsLevel >> 5), facility: facility,
                                   caller: nil, text: Self.printable(data[Int(begin)..<Int(begin + length)], indent: 15))
            if let callerOff { record.caller = Self.callerID(try n.u32(iOff + Int(callerOff), "printk_info.caller_id")) }
            if let devOff, let subOff, let devNameOff {
                let sub = try n.cString(iOff + Int(devOff + subOff), subLen, "dev_info.subsystem")
                let dev = try n.cString(iOff + Int(devOff + devNameOff), devLen, "dev_info.device")
                record.subsystem = sub.isEmpty ? nil : sub
                record.device = dev.isEmpty ? nil : dev
            }
            records.append(record)
            if id == head & idMask { break }
        }
        return KernelLog(format: "lockless ring buffer (Linux 5.10+)", records: records, problems: problems)
    }

    /// 3.5–5.9: variable-length `struct printk_log` records in `log_buf` (makedumpfile `dump_dmesg`).
    func recordLog(_ info: VMCoreInfo) throws(VMCoreError) -> KernelLog {
        let file = dump.files[0]
        let s = info.size("printk_log") != nil ? "printk_log" : "log"  // "log" in 3.5–3.10
        let buf = try word(try key(info, "SYMBOL", "log_buf"))
        let len = try word(try key(info, "SYMBOL", "log_buf_len")) & 0xffff_ffff
        guard len > 0, len <= 1 << 31 else {
            throw VMCoreError(.corrupt, file: file, "corrupt log_buf_len \(len)", "expected a buffer size up to 2 GiB")
        }
        let first = try word(try key(info, "SYMBOL", "log_first_idx")) & 0xffff_ffff
        let next = try word(try key(info, "SYMBOL", "log_next_idx")) & 0xffff_ffff
        let header = Int(try key(info, "SIZE", s))
        let tsOff = Int(try key(info, "OFFSET", "\(s).ts_nsec")), lenOff = Int(try key(info, "OFFSET", "\(s).len"))
        let textLenOff = Int(try key(info, "OFFSET", "\(s).text_len"))
        let callerOff = info.offset("\(s).caller_id").map(Int.init)
        // struct printk_log is 16 bytes; a smaller header could not hold its fields, and a
        // zero-length record would never move the walk on.
        guard header >= 16, lenOff + 2 <= header, textLenOff + 6 <= header, tsOff + 8 <= header else {
            throw VMCoreError(.corrupt, file: file, "corrupt VMCOREINFO for struct \(s)",
                              "SIZE \(header) with len at \(lenOff), text_len at \(textLenOff), ts_nsec at \(tsOff)")
        }
        let data = try addressSpace.read(virtual: buf, count: Int(len))
        let r = ByteReader(data, file: file, base: 0, order: .little)
        var records: [LogRecord] = []
        var problems: [String] = []
        var p = Int(first)
        var seq: UInt64 = 0
        var steps = 0
        // Each record is at least a header long, so more steps than that means a cycle.
        let maxSteps = Int(len) / max(header, 1) + 2
        while p != Int(next) {
            steps += 1
            guard steps <= maxSteps, p + header <= data.count else {
                problems.append("record at log_buf+\(p): the chain does not reach log_next_idx \(next)")
                break
            }
            var recLen = Int(try r.u16(p + lenOff, "\(s).len"))
            if recLen == 0 {  // wrap marker: the record is really at the start of the buffer
                p = 0
                if p == Int(next) { break }
                recLen = Int(try r.u16(p + lenOff, "\(s).len"))
            }
            guard recLen >= header, p + recLen <= data.count else {
                problems.append("record at log_buf+\(p): length \(recLen) is corrupt")
                break
            }
            let textLen = min(Int(try r.u16(p + textLenOff, "\(s).text_len")), recLen - header)
            var record = LogRecord(sequence: seq, timestampNanoseconds: try r.u64(p + tsOff, "\(s).ts_nsec"),
                                   level: Int(try r.u8(p + textLenOff + 5, "\(s).level") >> 5),
                                   facility: Int(try r.u8(p + textLenOff + 4, "\(s).facility")), caller: nil,
                                   text: Self.printable(data[(p + header)..<(p + header + textLen)], indent: 15))
            if let callerOff { record.caller = Self.callerID(try r.u32(p + callerOff, "\(s).caller_id")) }
            records.append(record)
            seq += 1
            p += recLen
        }
        return KernelLog(format: "struct \(s) records (Linux 3.5-5.9)", records: records, problems: problems)
    }

    /// Before 3.5: a plain character ring, `log_end` counting every byte ever written.
    func plainLog(_ info: VMCoreInfo) throws(VMCoreError) -> KernelLog {
        let buf = try word(try key(info, "SYMBOL", "log_buf"))
        let len = try word(try key(info, "SYMBOL", "log_buf_len")) & 0xffff_ffff
        guard len > 0, len <= 1 << 31, len & (len - 1) == 0 else {
            throw VMCoreError(.corrupt, file: dump.files[0], "corrupt log_buf_len \(len)", "expected a power of two up to 2 GiB")
        }
        let end = try word(try key(info, "SYMBOL", "log_end")) & 0xffff_ffff
        let data = try addressSpace.read(virtual: buf, count: Int(len))
        let text: [UInt8] = end < len ? Array(data[0..<Int(end)]) : Array(data[Int(end & (len - 1))...] + data[..<Int(end & (len - 1))])
        var records: [LogRecord] = []
        for (i, line) in text.split(separator: 0x0a, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            // Lines carry their own "<level>[timestamp] " prefix in these kernels.
            var body = line[...]
            var level: Int?
            if body.count >= 3, body.first == 0x3c, body[body.startIndex + 2] == 0x3e, let d = body.dropFirst().first, (0x30...0x37).contains(d) {
                level = Int(d - 0x30)
                body = body.dropFirst(3)
            }
            var ts: UInt64 = 0
            if body.first == 0x5b, let close = body.firstIndex(of: 0x5d) {
                let stamp = String(decoding: body[body.index(after: body.startIndex)..<close], as: UTF8.self).trimmingSpaces
                let parts = stamp.split(separator: ".")
                if parts.count == 2, let s = UInt64(parts[0]), let us = UInt64(parts[1]),
                   let n = Checked.product(s, 1_000_000_000).flatMap({ n in Checked.product(us, 1000).flatMap { Checked.sum(n, $0) } }) {
                    ts = n
                    body = body[body.index(after: close)...]
                    if body.first == 0x20 { body = body.dropFirst() }
                }
            }
            records.append(LogRecord(sequence: UInt64(i), timestampNanoseconds: ts, level: level, facility: nil, caller: nil,
                                     text: Self.printable(body, indent: 15)))
        }
        return KernelLog(format: "character ring (before Linux 3.5)", records: records, problems: [])
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
