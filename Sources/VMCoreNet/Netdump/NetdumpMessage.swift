import NIOCore

/// One netdump message as it arrives in a datagram: the header and a view of its payload.
///
/// Decoding checks what netdumpd's `client_event()` and `cap_herald.c` check, in their order
/// (freebsd.md §7.3): at least a full header ("runt packet"), then `mh_len` equal to the bytes
/// that follow ("Bad packet size"); then, as netdumpd's 4120-byte receive buffer implies, no
/// payload over `NETDUMP_DATASIZE`; then a type netdump defines.
public struct NetdumpMessage: Sendable {
    public var header: NetdumpMessageHeader
    /// The payload: exactly `header.length` bytes (a slice of the datagram, not a copy).
    public var payload: ByteBuffer
    /// The checked message type.
    public var type: NetdumpMessageType

    /// Decodes `datagram`; `peer` names the sender in the error.
    public init(datagram: ByteBuffer, from peer: @autoclosure () -> String) throws(VMCoreNetError) {
        guard let header = NetdumpMessageHeader(peeking: datagram) else {
            throw VMCoreNetError(.truncated, "netdump packet from \(peer())", "runt packet",
                                 "\(datagram.readableBytes) bytes, shorter than the 24-byte message header")
        }
        let following = datagram.readableBytes - NetdumpMessageHeader.size
        guard UInt64(header.length) == UInt64(following) else {
            throw VMCoreNetError(.lengthMismatch, "netdump packet from \(peer())", "length field disagrees with the datagram",
                                 "mh_len \(header.length), but \(following) bytes follow the header")
        }
        guard following <= Netdump.maxPayload else {
            throw VMCoreNetError(.oversized, "netdump packet from \(peer())", "payload too large",
                                 "\(following) bytes; netdumpd accepts at most \(Netdump.maxPayload)")
        }
        guard let type = header.type else {
            throw VMCoreNetError(.unknownType, "netdump packet from \(peer())", "unknown message type \(header.rawType)",
                                 "netdump defines types 1 to 5")
        }
        self.header = header
        self.type = type
        self.payload = datagram.getSlice(at: datagram.readerIndex + NetdumpMessageHeader.size, length: following)!
    }

    /// A datagram holding `header` and `payload` (whose length the header must state).
    public static func datagram(_ header: NetdumpMessageHeader, payload: some Collection<UInt8> = [UInt8](),
                                allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var b = allocator.buffer(capacity: NetdumpMessageHeader.size + payload.count)
        header.write(to: &b)
        b.writeBytes(payload)
        return b
    }
}
