import NIOCore
import VMCore

/// One client's dump as the server sees it, and what each packet means for it: the protocol
/// of netdumpd's `client_event()` and its `handle_*()` functions (freebsd.md §7.3) as a value,
/// with no sockets and no files, so every rule can be tested on its own.
///
/// The caller decodes a datagram into a `NetdumpMessage`, asks `receive(_:at:)` for a
/// `Verdict`, does what the verdict says (write the bytes, note the header) and then sends the
/// ack the verdict carries. A dropped packet is never acked, so a real client retransmits it.
public struct NetdumpSession: Sendable {
    /// What a client may ask the server to store.
    public struct Limits: Sendable, Equatable {
        /// The largest core file: no VMCORE byte may land at or past this offset.
        public var maxDumpSize: UInt64
        /// The largest key file (`Netdump.maxKeySize`, the kernel's own bound).
        public var maxKeySize: UInt64
        /// How many separate received ranges the server tracks per dump (`ByteRangeSet.limit`).
        public var maxRanges: Int

        public init(maxDumpSize: UInt64 = 1 << 40, maxKeySize: UInt64 = UInt64(Netdump.maxKeySize), maxRanges: Int = 4096) {
            // Offsets past 2^63 are beyond any file (off_t); no dump reaches them.
            self.maxDumpSize = min(maxDumpSize, UInt64(Int64.max) - UInt64(Netdump.maxPayload))
            self.maxKeySize = maxKeySize
            self.maxRanges = maxRanges
        }
    }

    /// How a dump ended when its client said FINISHED.
    public enum Outcome: Sendable, Equatable {
        /// The header arrived and every byte it promises (and the key it announces) too.
        case complete
        /// FINISHED came, but something is missing: the reason, for the info file.
        case incomplete(String)
    }

    /// What to do with one packet.
    public enum Verdict: Sendable, Equatable {
        /// Log it and count it; send nothing (netdumpd drops these unacked).
        case drop(VMCoreNetError)
        /// Write the first `count` payload bytes at `offset` of the core file, then ack.
        case data(offset: UInt64, count: Int, ack: UInt32)
        /// Write the payload at `offset` of the key file, then ack.
        case key(offset: UInt64, ack: UInt32)
        /// The kernel dump header arrived (`header` holds it): record it, rename, then ack.
        case header(ack: UInt32)
        /// A KDH shorter than 512 bytes: netdumpd acks it and notes "Bad KDH: packet too small".
        case badHeader(ack: UInt32)
        /// The dump is over: flush, record the outcome, then ack.
        case finished(Outcome, ack: UInt32)
        /// A retransmission of a KDH or FINISHED already handled (its ack was lost): ack again.
        case repeated(ack: UInt32)
    }

    public let limits: Limits
    /// When the last well-formed packet arrived (netdumpd's `last_msg`).
    public private(set) var lastPacket: NIODeadline
    /// netdumpd's `any_data_rcvd`: set by VMCORE and KDH (not by the key). A second herald
    /// before any data is a retransmission; after it, a new dump.
    public private(set) var anyDataReceived = false
    /// The header, once a full one has arrived.
    public private(set) var header: ReceivedDumpHeader?
    /// The core-file bytes received.
    public private(set) var data: ByteRangeSet
    /// The key-file bytes received.
    public private(set) var key: ByteRangeSet
    /// Set by the first FINISHED; after it only FINISHED retransmissions are answered.
    public private(set) var outcome: Outcome?
    /// Whether a KDH too short to hold a header has been noted (once: the info file must not
    /// grow with every such packet).
    public private(set) var shortHeaderSeen = false

    public init(limits: Limits = Limits(), now: NIODeadline) {
        self.limits = limits
        lastPacket = now
        data = ByteRangeSet(limit: limits.maxRanges)
        key = ByteRangeSet(limit: 64)
    }

    public mutating func receive(_ message: NetdumpMessage, at now: NIODeadline) -> Verdict {
        lastPacket = now
        let h = message.header
        if outcome != nil {
            if message.type == .finished { return .repeated(ack: h.seqno) }
            return .drop(VMCoreNetError(.unexpected, "", "\(message.type.name) after FINISHED"))
        }
        switch message.type {
        case .vmcore:
            return receiveData(h)
        case .ekcdKey:
            let (end, overflow) = h.offset.addingReportingOverflow(UInt64(h.length))
            guard !overflow, end <= limits.maxKeySize else {
                return .drop(VMCoreNetError(.outOfRange, "", "EKCD key bytes beyond the key size limit",
                                            "offset \(h.offset) + \(h.length) bytes > \(limits.maxKeySize)"))
            }
            guard key.insert(h.offset..<end) else {
                return .drop(VMCoreNetError(.outOfRange, "", "EKCD key arrives in too many pieces"))
            }
            return .key(offset: h.offset, ack: h.seqno)
        case .kernelDumpHeader:
            return receiveHeader(message)
        case .finished:
            let result = finalOutcome()
            outcome = result
            return .finished(result, ack: h.seqno)
        case .herald:
            // Heralds go to the herald port; netdumpd's client socket logs any other type
            // as unexpected and drops it.
            return .drop(VMCoreNetError(.unexpected, "", "HERALD on the session port"))
        }
    }

    private mutating func receiveData(_ h: NetdumpMessageHeader) -> Verdict {
        let (end, overflow) = h.offset.addingReportingOverflow(UInt64(h.length))
        guard !overflow, end <= limits.maxDumpSize else {
            return .drop(VMCoreNetError(.outOfRange, "", "VMCORE bytes beyond the dump size limit",
                                        "offset \(h.offset) + \(h.length) bytes > \(limits.maxDumpSize)"))
        }
        // Once a compressed dump's header has set the file's length, a late duplicate must
        // not grow it again (netdumpd truncates once, at the KDH).
        var count = Int(h.length)
        if let header, header.header != nil, header.compressedSuffix != nil, let length = header.header?.dumpLength {
            count = h.offset >= length ? 0 : Int(min(UInt64(count), length - h.offset))
        }
        guard data.insert(h.offset..<(h.offset + UInt64(count))) else {
            return .drop(VMCoreNetError(.outOfRange, "", "VMCORE data scattered over too many ranges",
                                        "more than \(limits.maxRanges) separate pieces"))
        }
        anyDataReceived = true
        return .data(offset: h.offset, count: count, ack: h.seqno)
    }

    private mutating func receiveHeader(_ message: NetdumpMessage) -> Verdict {
        let h = message.header
        guard message.payload.readableBytes >= KernelDumpHeader.size else {
            guard !shortHeaderSeen else {
                return .drop(VMCoreNetError(.unexpected, "", "another KDH too short to hold a header",
                                            "\(message.payload.readableBytes) bytes"))
            }
            shortHeaderSeen = true
            anyDataReceived = true
            return .badHeader(ack: h.seqno)
        }
        let raw = message.payload.getBytes(at: message.payload.readerIndex, length: KernelDumpHeader.size)!
        if let header {
            if header.raw == raw { return .repeated(ack: h.seqno) }
            return .drop(VMCoreNetError(.unexpected, "", "a second, different kernel dump header"))
        }
        anyDataReceived = true
        header = ReceivedDumpHeader(raw: raw)
        return .header(ack: h.seqno)
    }

    /// Complete only with a readable header, every byte of `dumplength` and the whole key.
    private func finalOutcome() -> Outcome {
        guard let header else { return .incomplete("no kernel dump header was received") }
        guard let kdh = header.header else {
            return .incomplete("the kernel dump header is unreadable (\(header.problem ?? "unknown reason"))")
        }
        let have = data.coveredBytes(in: 0..<kdh.dumpLength)
        if have < kdh.dumpLength {
            return .incomplete("received \(have) of the \(kdh.dumpLength) bytes the header announces")
        }
        if header.isEncrypted {
            let keyHave = key.coveredBytes(in: 0..<UInt64(kdh.dumpKeySize))
            if keyHave < UInt64(kdh.dumpKeySize) {
                return .incomplete("received \(keyHave) of the \(kdh.dumpKeySize) key bytes the header announces")
            }
        }
        return .complete
    }

    /// Whether the client has been silent for longer than `timeout` at `now`.
    public func isSilent(for timeout: TimeAmount, at now: NIODeadline) -> Bool {
        now - lastPacket > timeout
    }
}
