import NIOCore
import Testing
import VMCoreNet

@Suite("netdump sender state machine")
struct NetdumpSenderTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func drain(_ s: inout NetdumpSender, at now: NIODeadline) -> [NetdumpSender.Packet] {
        var out: [NetdumpSender.Packet] = []
        while let p = s.nextPacket(at: now) { out.append(p) }
        return out
    }

    @Test("messages go in the kernel's order, one at a time, seqnos from 1, offsets within the message")
    func order() {
        var s = NetdumpSender(messages: NetdumpSender.dump(pathLength: 5, keyLength: 100, dataLength: 3000),
                              configuration: .init(payloadSize: 1448))
        var seen: [(NetdumpMessageType, UInt32, UInt64, UInt32)] = []
        while s.state == .running {
            let batch = drain(&s, at: t0)
            #expect(!batch.isEmpty)
            for p in batch {
                seen.append((p.header.type!, p.header.seqno, p.header.offset, p.header.length))
                s.acknowledge(p.header.seqno, at: t0)
            }
        }
        #expect(s.state == .completed)
        #expect(seen.map { $0.0 } == [.herald, .ekcdKey, .vmcore, .vmcore, .vmcore, .kernelDumpHeader, .finished])
        #expect(seen.map { $0.1 } == [1, 2, 3, 4, 5, 6, 7])
        #expect(seen.map { $0.2 } == [0, 0, 0, 1448, 2896, 0, 0])
        #expect(seen.map { $0.3 } == [5, 100, 1448, 1448, 104, 512, 0])
    }

    @Test("a message starts only when every packet of the one before is acked")
    func barrier() {
        var s = NetdumpSender(messages: NetdumpSender.dump(pathLength: 0, keyLength: 0, dataLength: 10),
                              configuration: .init())
        let herald = drain(&s, at: t0)
        #expect(herald.count == 1 && herald[0].header.length == 0)
        #expect(drain(&s, at: t0).isEmpty)
        s.acknowledge(1, at: t0)
        #expect(s.heraldAcknowledged)
        #expect(drain(&s, at: t0).map(\.header.type) == [.vmcore])
    }

    @Test("at most `window` packets are unacked; each ack lets one more go")
    func window() {
        var s = NetdumpSender(messages: [.init(.vmcore, length: 1448 * 200)], configuration: .init(window: 64))
        #expect(drain(&s, at: t0).count == 64)
        s.acknowledge(1, at: t0)
        #expect(drain(&s, at: t0).map(\.header.seqno) == [65])
        s.acknowledge(3, at: t0)  // out of order: the window's base is still 2
        #expect(drain(&s, at: t0).isEmpty)
        s.acknowledge(2, at: t0)
        #expect(drain(&s, at: t0).map(\.header.seqno) == [66, 67])
    }

    @Test("acks outside the window and repeated acks are ignored")
    func strayAcks() {
        var s = NetdumpSender(messages: [.init(.vmcore, length: 1448 * 10)], configuration: .init(window: 4))
        _ = drain(&s, at: t0)
        s.acknowledge(5, at: t0)
        s.acknowledge(0, at: t0)
        s.acknowledge(1, at: t0)
        s.acknowledge(1, at: t0)
        #expect(s.statistics.acks == 4 && s.statistics.ignoredAcks == 3)
        #expect(s.base == 2)
    }

    @Test("an unacked packet is resent after the timeout, and the dump fails after 10 resends")
    func retransmitAndGiveUp() {
        var s = NetdumpSender(messages: [.init(.vmcore, length: 100)], configuration: .kernel())
        var now = t0
        #expect(drain(&s, at: now).count == 1)
        s.tick(at: now + .milliseconds(999))
        #expect(drain(&s, at: now).isEmpty)
        for i in 1...10 {
            now = now + .seconds(1)
            s.tick(at: now)
            let resent = drain(&s, at: now)
            #expect(resent.count == 1 && resent[0].isRetransmission && resent[0].header.seqno == 1, "resend \(i)")
        }
        s.tick(at: now + .seconds(1))
        guard case .failed(let e) = s.state else { Issue.record("expected failure"); return }
        #expect(e.kind == .timedOut)
        #expect(s.statistics.timerRetransmissions == 10)
    }

    @Test("a packet passed by three acks of later packets is resent at once")
    func fastRetransmit() {
        var s = NetdumpSender(messages: [.init(.vmcore, length: 1448 * 10)], configuration: .init(window: 8))
        _ = drain(&s, at: t0)
        s.acknowledge(2, at: t0)
        s.acknowledge(3, at: t0)
        #expect(s.statistics.fastRetransmissions == 0)
        s.acknowledge(4, at: t0)
        #expect(s.statistics.fastRetransmissions == 1)
        let next = drain(&s, at: t0)
        #expect(next.first?.header.seqno == 1 && next.first?.isRetransmission == true)
        // Acks of packets sent before the resend do not count against it again.
        s.acknowledge(5, at: t0)
        s.acknowledge(6, at: t0)
        s.acknowledge(7, at: t0)
        #expect(s.statistics.fastRetransmissions == 1)
    }

    @Test("an early resend comes after four round trips, then twice as late each time, and does not count as a try")
    func earlyRetransmit() {
        var s = NetdumpSender(messages: [.init(.vmcore, length: 1448 * 3)],
                              configuration: .init(fastRetransmitAfter: nil, minimumEarlyRetransmit: .milliseconds(2)))
        _ = drain(&s, at: t0)
        s.acknowledge(1, at: t0 + .milliseconds(1))  // one round trip of 1 ms
        s.acknowledge(2, at: t0 + .milliseconds(1))
        #expect(s.smoothedRTT == 1_000_000)
        s.tick(at: t0 + .milliseconds(3))
        #expect(drain(&s, at: t0 + .milliseconds(3)).isEmpty)
        s.tick(at: t0 + .milliseconds(4))
        #expect(drain(&s, at: t0 + .milliseconds(4)).map(\.header.seqno) == [3])
        s.tick(at: t0 + .milliseconds(11))
        #expect(drain(&s, at: t0 + .milliseconds(11)).isEmpty)
        s.tick(at: t0 + .milliseconds(12))
        #expect(drain(&s, at: t0 + .milliseconds(12)).map(\.header.seqno) == [3])
        #expect(s.statistics.earlyRetransmissions == 2 && s.statistics.timerRetransmissions == 0)
        // The kernel's timer still counts from the first transmission.
        s.tick(at: t0 + .seconds(1))
        #expect(s.statistics.timerRetransmissions == 1)
    }

    @Test("FINISHED from the server ends the dump")
    func serverFinished() {
        var s = NetdumpSender(messages: [.init(.vmcore, length: 100)])
        _ = drain(&s, at: t0)
        s.serverFinished()
        guard case .failed(let e) = s.state else { Issue.record("expected failure"); return }
        #expect(e.kind == .connectionReset)
    }
}
