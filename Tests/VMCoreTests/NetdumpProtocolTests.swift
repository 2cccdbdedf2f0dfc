import NIOCore
import Testing
import VMCore
import VMCoreNet

@Suite("netdump wire format")
struct NetdumpProtocolTests {
    @Test("the message header is 24 big-endian bytes: type, seqno, offset, len, aux2")
    func headerLayout() throws {
        let h = NetdumpMessageHeader(type: .vmcore, seqno: 0x0102_0304, offset: 0x1112_1314_1516_1718, length: 0x2122_2324, aux2: 0x3132_3334)
        var b = ByteBuffer()
        h.write(to: &b)
        #expect(Array(b.readableBytesView) == [0, 0, 0, 3, 1, 2, 3, 4, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                                               0x21, 0x22, 0x23, 0x24, 0x31, 0x32, 0x33, 0x34])
        #expect(NetdumpMessageHeader(peeking: b) == h)
        #expect(NetdumpMessageHeader(peeking: b.getSlice(at: 0, length: 23)!) == nil)
    }

    @Test("an ack is exactly 4 bytes holding the big-endian seqno")
    func ack() {
        #expect(Array(NetdumpAck(seqno: 0xdead_beef).buffer(ByteBufferAllocator()).readableBytesView) == [0xde, 0xad, 0xbe, 0xef])
        #expect(NetdumpAck(datagram: rawDatagram([0, 0, 0, 7]))?.seqno == 7)
        #expect(NetdumpAck(datagram: rawDatagram([0, 0, 7])) == nil)
        #expect(NetdumpAck(datagram: rawDatagram([0, 0, 0, 7, 0])) == nil)
    }

    @Test("message types and constants are FreeBSD's")
    func constants() {
        #expect(NetdumpMessageType.allCases.map(\.rawValue) == [1, 2, 3, 4, 5])
        #expect(Netdump.heraldPort == 20023 && Netdump.clientPort == 20024)
        #expect(Netdump.payloadSize(mtu: 1500) == 1448)
        #expect(Netdump.maxInFlight == 64 && Netdump.maxPayload == 4096)
    }

    @Test("a well-formed datagram decodes to its header and payload")
    func decode() throws {
        let m = try NetdumpMessage(datagram: netdumpPacket(.vmcore, seqno: 9, offset: 4096, [1, 2, 3]), from: "peer")
        #expect(m.type == .vmcore && m.header.seqno == 9 && m.header.offset == 4096)
        #expect(Array(m.payload.readableBytesView) == [1, 2, 3])
    }

    @Test("a datagram shorter than the header is a runt", arguments: [0, 1, 23])
    func runt(length: Int) {
        let e = decodeError(rawDatagram([UInt8](repeating: 0, count: length)))
        #expect(e?.kind == .truncated)
        #expect(e?.description == "netdump packet from 192.0.2.9:20024: runt packet: \(length) bytes, shorter than the 24-byte message header")
    }

    @Test("a length field that lies is refused, longer or shorter")
    func lyingLength() {
        var b = netdumpPacket(.vmcore, seqno: 1, [UInt8](repeating: 1, count: 100))
        b.setInteger(UInt32(1448), at: 16)
        #expect(decodeError(b)?.description == "netdump packet from 192.0.2.9:20024: length field disagrees with the datagram: mh_len 1448, but 100 bytes follow the header")
        b.setInteger(UInt32(10), at: 16)
        #expect(decodeError(b)?.kind == .lengthMismatch)
    }

    @Test("payloads over 4096 bytes are refused, as netdumpd's receive buffer refuses them")
    func oversized() {
        #expect(decodeError(netdumpPacket(.vmcore, seqno: 1, [UInt8](repeating: 0, count: 4097)))?.kind == .oversized)
        #expect(decodeError(netdumpPacket(.vmcore, seqno: 1, [UInt8](repeating: 0, count: 4096))) == nil)
    }

    @Test("types other than 1 to 5 are refused", arguments: [0, 6, 0xffff_ffff] as [UInt32])
    func unknownType(type: UInt32) {
        var b = netdumpPacket(.vmcore, seqno: 1)
        b.setInteger(type, at: 0)
        #expect(decodeError(b)?.kind == .unknownType)
        #expect(decodeError(b)?.message == "unknown message type \(type)")
    }

    func decodeError(_ datagram: ByteBuffer) -> VMCoreNetError? {
        do {
            _ = try NetdumpMessage(datagram: datagram, from: "192.0.2.9:20024")
            return nil
        } catch { return error }
    }

    @Test("received ranges merge, count and stop at their limit")
    func ranges() {
        var r = ByteRangeSet(limit: 3)
        var ok = r.insert(0..<10) && r.insert(10..<20)
        #expect(ok && r.ranges == [0..<20])
        ok = r.insert(30..<40) && r.insert(50..<60)
        #expect(ok && r.ranges.count == 3)
        ok = r.insert(70..<80)
        #expect(!ok)
        ok = r.insert(15..<55)
        #expect(ok && r.ranges == [0..<60])
        #expect(r.covers(0..<60) && !r.covers(0..<61))
        #expect(r.coveredBytes(in: 50..<100) == 10)
        ok = r.insert(5..<6)
        #expect(ok && r.ranges == [0..<60])
    }

    @Test("host names become one safe file-name component")
    func hostNames() throws {
        #expect(NetdumpHostName.fileComponent("192.0.2.7") == "192.0.2.7")
        #expect(NetdumpHostName.fileComponent("2001:db8::7") == "2001-db8--7")
        #expect(NetdumpHostName.fileComponent("../../etc/passwd") == "___.._etc_passwd")
        #expect(NetdumpHostName.fileComponent("..") == "__")
        #expect(NetdumpHostName.fileComponent("") == "unknown")
        #expect(NetdumpHostName.fileComponent("a/b\u{0}c\nd") == "a_b_c_d")
        #expect(NetdumpHostName.fileComponent(String(repeating: "x", count: 300)).count == 64)
        #expect(NetdumpHostName.numeric(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)) == "192.0.2.7")
        #expect(NetdumpHostName.display(try SocketAddress(ipAddress: "::1", port: 20024)) == "[::1]:20024")
    }
}
