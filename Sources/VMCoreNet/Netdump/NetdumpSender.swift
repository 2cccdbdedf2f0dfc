import NIOCore

/// The sending side of netdump as a value: the kernel's `debugnet_send()` loop (freebsd.md
/// §7.2; FreeBSD `sys/net/debugnet.c`, `sys/netinet/netdump/netdump_client.c`) without sockets,
/// so windows, acks and retransmission can be tested with a fake clock.
///
/// A dump is a list of messages sent in order (HERALD, EKCD_KEY, VMCORE, KDH, FINISHED),
/// each cut into packets of at most `payloadSize` bytes with consecutive sequence numbers
/// starting at 1, `mh_offset` the packet's place in its message. A message starts only when
/// every packet of the one before has been acked, as each `debugnet_send()` call returns only
/// then. Within a message up to `window` packets are unacknowledged at once.
///
/// Where we differ from the kernel, and why the server cannot tell:
/// - the kernel sends the data in 64 KiB calls and waits for all their acks before the next;
///   we slide the window instead, one new packet per ack;
/// - besides the kernel's timer (resend what is unacked every `retransmitTimeout`, about a
///   second, and give up after 10 resends), a packet passed by `fastRetransmitAfter` acks of
///   packets sent after it is resent at once, and with `earlyRetransmit` a packet unacked for
///   a few round trips is resent before the second is up (backing off, twice as long each
///   time). On a lossy network the kernel loses a second per lost packet whose window has
///   nothing behind it; these keep a sender going at near the link's pace.
///
/// Use: feed `acknowledge(_:at:)` and `tick(at:)`, and after each call take `nextPacket(at:)`
/// until it returns nil; `state` says when it is over.
public struct NetdumpSender: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Payload bytes per packet: `Netdump.payloadSize(mtu:)` (1448 at MTU 1500), at most
        /// `NETDUMP_DATASIZE`.
        public var payloadSize: Int
        /// Packets unacknowledged at once, 1 to 64 (`DEBUGNET_MAX_IN_FLIGHT`).
        public var window: Int
        /// How long to wait for an ack before resending (the kernel: 2000 polls of 0.5 ms).
        public var retransmitTimeout: TimeAmount
        /// Resends of one packet before giving up (`net.debugnet.nretries`).
        public var maxRetransmissions: Int
        /// Resend a packet as soon as this many later-sent packets are acked before it; nil
        /// to rely on the timer alone, as the kernel does.
        public var fastRetransmitAfter: Int?
        /// Resend a packet unacked for four smoothed round trips (at least
        /// `minimumEarlyRetransmit`), doubling the wait each time, until the timer takes over.
        public var earlyRetransmit: Bool
        public var minimumEarlyRetransmit: TimeAmount

        public init(payloadSize: Int = Netdump.payloadSize(mtu: 1500), window: Int = Netdump.maxInFlight,
                    retransmitTimeout: TimeAmount = .seconds(Netdump.retransmitSeconds), maxRetransmissions: Int = Netdump.retries,
                    fastRetransmitAfter: Int? = 3, earlyRetransmit: Bool = true, minimumEarlyRetransmit: TimeAmount = .milliseconds(2)) {
            self.payloadSize = payloadSize
            self.window = window
            self.retransmitTimeout = retransmitTimeout
            self.maxRetransmissions = maxRetransmissions
            self.fastRetransmitAfter = fastRetransmitAfter
            self.earlyRetransmit = earlyRetransmit
            self.minimumEarlyRetransmit = minimumEarlyRetransmit
        }

        /// The kernel's behaviour: resends only on the timer.
        public static func kernel(payloadSize: Int = Netdump.payloadSize(mtu: 1500)) -> Configuration {
            Configuration(payloadSize: payloadSize, fastRetransmitAfter: nil, earlyRetransmit: false)
        }

        /// How often `tick(at:)` should run for the timers to be on time.
        public var tickInterval: TimeAmount {
            let timer = retransmitTimeout.nanoseconds / 4
            let early = earlyRetransmit ? minimumEarlyRetransmit.nanoseconds : timer
            return .nanoseconds(max(1_000_000, min(timer, early, 250_000_000)))
        }
    }

    /// One message of the dump: its type and how many payload bytes it carries.
    public struct Message: Sendable, Equatable {
        public var type: NetdumpMessageType
        public var length: UInt64
        public init(_ type: NetdumpMessageType, length: UInt64) {
            self.type = type
            self.length = length
        }
    }

    /// A packet to put on the wire: its header, and which bytes of message `message` it
    /// carries (`header.offset ..< header.offset + header.length`).
    public struct Packet: Sendable, Equatable {
        public var message: Int
        public var header: NetdumpMessageHeader
        public var isRetransmission: Bool
    }

    public enum State: Sendable, Equatable {
        case running
        /// FINISHED was acked.
        case completed
        case failed(VMCoreNetError)
    }

    public struct Statistics: Sendable, Equatable {
        public var packetsSent: UInt64 = 0
        public var payloadBytesSent: UInt64 = 0
        /// Resends by the kernel's timer (each counts towards `maxRetransmissions`).
        public var timerRetransmissions: UInt64 = 0
        /// Resends after three later packets were acked.
        public var fastRetransmissions: UInt64 = 0
        /// Resends after a few round trips without an ack.
        public var earlyRetransmissions: UInt64 = 0
        public var acks: UInt64 = 0
        /// Acks for packets already acked or outside the window (duplicates, strays).
        public var ignoredAcks: UInt64 = 0
    }

    private struct Slot {
        var seqno: UInt32 = 0
        var offset: UInt64 = 0
        var length: UInt32 = 0
        var firstSentAt: NIODeadline = .uptimeNanoseconds(0)
        var sentAt: NIODeadline = .uptimeNanoseconds(0)
        /// Order of the latest transmission, to tell acks of later packets from reordering.
        var transmission: UInt64 = 0
        var sends = 0
        var timeouts = 0
        var earlyResends = 0
        var laterAcks = 0
        var acked = true
        var queued = false
    }

    public let configuration: Configuration
    public let messages: [Message]
    public private(set) var state: State = .running
    public private(set) var statistics = Statistics()
    /// The message being sent.
    public private(set) var current = 0
    /// Bytes of the current message handed out so far.
    private var sentInMessage: UInt64 = 0
    private var messageStarted = false
    /// Lowest unacked sequence number and the next one to use (`dp_seqno` starts at 1).
    public private(set) var base: UInt32 = 1
    public private(set) var next: UInt32 = 1
    private var slots: [Slot]
    private var resend: [UInt32] = []
    private var transmissions: UInt64 = 0
    /// Smoothed round-trip time in nanoseconds, from packets acked after one transmission
    /// (Karn's rule: a resent packet's ack could answer either copy).
    public private(set) var smoothedRTT: Int64?

    public init(messages: [Message], configuration: Configuration = Configuration()) {
        precondition(!messages.isEmpty)
        precondition((1...Netdump.maxInFlight).contains(configuration.window))
        precondition(configuration.payloadSize > 0 && configuration.payloadSize <= Netdump.maxPayload)
        self.messages = messages
        self.configuration = configuration
        slots = Array(repeating: Slot(), count: configuration.window)
    }

    /// The messages of a dump in the kernel's order: HERALD (the path and its NUL, or
    /// nothing), EKCD_KEY if there is a key, VMCORE, the 512-byte KDH, FINISHED.
    public static func dump(pathLength: Int, keyLength: Int, dataLength: UInt64) -> [Message] {
        var m = [Message(.herald, length: UInt64(pathLength))]
        if keyLength > 0 { m.append(Message(.ekcdKey, length: UInt64(keyLength))) }
        m.append(Message(.vmcore, length: dataLength))
        m.append(Message(.kernelDumpHeader, length: 512))
        m.append(Message(.finished, length: 0))
        return m
    }

    private var inFlight: Int { Int(next &- base) }

    private func slotIndex(_ seqno: UInt32) -> Int { Int(seqno % UInt32(configuration.window)) }

    /// The next packet to send at `now` (a resend first), or nil when the window is full, the
    /// message is waiting for its acks, or the dump is over.
    public mutating func nextPacket(at now: NIODeadline) -> Packet? {
        guard state == .running else { return nil }
        while let seqno = resend.first {
            resend.removeFirst()
            let i = slotIndex(seqno)
            guard slots[i].seqno == seqno, !slots[i].acked else { continue }
            slots[i].queued = false
            slots[i].sentAt = now
            slots[i].sends += 1
            transmissions += 1
            slots[i].transmission = transmissions
            slots[i].laterAcks = 0
            statistics.packetsSent += 1
            statistics.payloadBytesSent += UInt64(slots[i].length)
            let header = NetdumpMessageHeader(type: messages[current].type, seqno: seqno, offset: slots[i].offset, length: slots[i].length)
            return Packet(message: current, header: header, isRetransmission: true)
        }
        let message = messages[current]
        let unsent = sentInMessage < message.length || (!messageStarted && message.length == 0)
        guard unsent, inFlight < configuration.window else { return nil }
        let length = UInt32(min(UInt64(configuration.payloadSize), message.length - sentInMessage))
        let seqno = next
        next &+= 1
        transmissions += 1
        slots[slotIndex(seqno)] = Slot(seqno: seqno, offset: sentInMessage, length: length, firstSentAt: now, sentAt: now,
                                       transmission: transmissions, sends: 1, acked: false)
        let header = NetdumpMessageHeader(type: message.type, seqno: seqno, offset: sentInMessage, length: length)
        sentInMessage += UInt64(length)
        messageStarted = true
        statistics.packetsSent += 1
        statistics.payloadBytesSent += UInt64(length)
        return Packet(message: current, header: header, isRetransmission: false)
    }

    /// An ack for `seqno` arrived. Acks outside the window are ignored, as
    /// `debugnet_handle_ack()` ignores those before `dp_seqno` or 64 or more past it.
    public mutating func acknowledge(_ seqno: UInt32, at now: NIODeadline) {
        guard state == .running else { return }
        statistics.acks += 1
        guard seqno &- base < UInt32(inFlight) else {
            statistics.ignoredAcks += 1
            return
        }
        let i = slotIndex(seqno)
        guard slots[i].seqno == seqno, !slots[i].acked else {
            statistics.ignoredAcks += 1
            return
        }
        slots[i].acked = true
        if slots[i].sends == 1 {
            let sample = (now - slots[i].sentAt).nanoseconds
            smoothedRTT = smoothedRTT.map { $0 - $0 / 8 + sample / 8 } ?? sample
        }
        let ackedTransmission = slots[i].transmission
        if let threshold = configuration.fastRetransmitAfter {
            var s = base
            while s != seqno {
                let j = slotIndex(s)
                if !slots[j].acked && !slots[j].queued && slots[j].transmission < ackedTransmission {
                    slots[j].laterAcks += 1
                    if slots[j].laterAcks >= threshold {
                        slots[j].queued = true
                        resend.append(s)
                        statistics.fastRetransmissions += 1
                    }
                }
                s &+= 1
            }
        }
        while base != next && slots[slotIndex(base)].acked { base &+= 1 }
        advanceMessage()
    }

    /// Moves to the next message once the current one is wholly sent and acked.
    private mutating func advanceMessage() {
        let message = messages[current]
        guard base == next, messageStarted, sentInMessage >= message.length else { return }
        if current == messages.count - 1 {
            state = .completed
            return
        }
        current += 1
        sentInMessage = 0
        messageStarted = false
        resend.removeAll()
    }

    /// The timers. Every `retransmitTimeout` since its first transmission an unacked packet
    /// is resent, and the dump fails once one has been resent `maxRetransmissions` times
    /// (`ETIMEDOUT`). In between, with `earlyRetransmit`, a packet unacked for the current
    /// early wait is resent too, without counting towards the limit.
    public mutating func tick(at now: NIODeadline) {
        guard state == .running else { return }
        let rto = configuration.retransmitTimeout.nanoseconds
        let early = max(configuration.minimumEarlyRetransmit.nanoseconds, 4 * (smoothedRTT ?? 0))
        var s = base
        while s != next {
            let i = slotIndex(s)
            defer { s &+= 1 }
            guard !slots[i].acked && !slots[i].queued else { continue }
            let periods = Int((now - slots[i].firstSentAt).nanoseconds / max(rto, 1))
            if periods > slots[i].timeouts {
                if slots[i].timeouts >= configuration.maxRetransmissions {
                    state = .failed(VMCoreNetError(.timedOut, "netdump server", "no ack for \(messages[current].type.name) packet \(s)",
                                                   "\(configuration.maxRetransmissions) retransmissions went unanswered"))
                    return
                }
                slots[i].timeouts = periods
                slots[i].queued = true
                resend.append(s)
                statistics.timerRetransmissions += 1
            } else if configuration.earlyRetransmit {
                let wait = early << min(slots[i].earlyResends, 20)
                if wait < rto && (now - slots[i].sentAt).nanoseconds >= wait {
                    slots[i].earlyResends += 1
                    slots[i].queued = true
                    resend.append(s)
                    statistics.earlyRetransmissions += 1
                }
            }
        }
    }

    /// The server sent FINISHED: it has closed the dump (`DN_STATE_REMOTE_CLOSED`, `ECONNRESET`).
    public mutating func serverFinished() {
        guard state == .running else { return }
        state = .failed(VMCoreNetError(.connectionReset, "netdump server", "the server ended the dump (it sent FINISHED)"))
    }

    /// Whether the herald has been acked (and the server's session port is known).
    public var heraldAcknowledged: Bool { current > 0 || state == .completed }
}
