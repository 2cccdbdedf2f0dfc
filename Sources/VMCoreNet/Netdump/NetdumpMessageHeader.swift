import NIOCore

/// The header in front of every netdump message.
///
/// Mirrors `struct debugnet_msg_hdr` (FreeBSD `sys/net/debugnet.h`; `struct netdump_msg_hdr`
/// in netdumpd's `netdumpd.h`): packed, 24 bytes, every field big-endian (freebsd.md §7.1).
/// FreeBSD 12 called `mh_aux2` `mh__pad`; netdump always sends 0 there.
public struct NetdumpMessageHeader: Sendable, Equatable {
    public static let size = 24

    /// `mh_type`, kept raw so that an unknown type can still be reported.
    public var rawType: UInt32
    /// `mh_seqno`: the number the receiver acknowledges.
    public var seqno: UInt32
    /// `mh_offset`: where this payload goes in the target file.
    public var offset: UInt64
    /// `mh_len`: the payload bytes that follow the header.
    public var length: UInt32
    /// `mh_aux2`: consumer data in debugnet; 0 from netdump.
    public var aux2: UInt32

    public init(type: NetdumpMessageType, seqno: UInt32, offset: UInt64 = 0, length: UInt32, aux2: UInt32 = 0) {
        self.init(rawType: type.rawValue, seqno: seqno, offset: offset, length: length, aux2: aux2)
    }

    public init(rawType: UInt32, seqno: UInt32, offset: UInt64, length: UInt32, aux2: UInt32) {
        self.rawType = rawType
        self.seqno = seqno
        self.offset = offset
        self.length = length
        self.aux2 = aux2
    }

    /// The message type, or nil if netdump does not define `rawType`.
    public var type: NetdumpMessageType? { NetdumpMessageType(rawValue: rawType) }

    /// Reads the header at the start of `buffer`'s readable bytes, or nil if fewer than 24.
    public init?(peeking buffer: ByteBuffer) {
        let i = buffer.readerIndex
        guard buffer.readableBytes >= Self.size,
              let type = buffer.getInteger(at: i, endianness: .big, as: UInt32.self),
              let seqno = buffer.getInteger(at: i + 4, endianness: .big, as: UInt32.self),
              let offset = buffer.getInteger(at: i + 8, endianness: .big, as: UInt64.self),
              let length = buffer.getInteger(at: i + 16, endianness: .big, as: UInt32.self),
              let aux2 = buffer.getInteger(at: i + 20, endianness: .big, as: UInt32.self)
        else { return nil }
        self.init(rawType: type, seqno: seqno, offset: offset, length: length, aux2: aux2)
    }

    /// Appends the 24 header bytes to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(rawType, endianness: .big)
        buffer.writeInteger(seqno, endianness: .big)
        buffer.writeInteger(offset, endianness: .big)
        buffer.writeInteger(length, endianness: .big)
        buffer.writeInteger(aux2, endianness: .big)
    }
}

/// The acknowledgement of one message.
///
/// Mirrors `struct debugnet_ack` (`sys/net/debugnet.h`; `struct netdump_ack` in netdumpd):
/// 4 bytes, `da_seqno` big-endian. A UDP payload of exactly 4 bytes is an ack
/// (`debugnet_handle_udp()`).
public struct NetdumpAck: Sendable, Equatable {
    public static let size = 4
    public var seqno: UInt32

    public init(seqno: UInt32) { self.seqno = seqno }

    /// The ack a datagram holds, or nil if its payload is not exactly 4 bytes.
    public init?(datagram: ByteBuffer) {
        guard datagram.readableBytes == Self.size,
              let seqno = datagram.getInteger(at: datagram.readerIndex, endianness: .big, as: UInt32.self)
        else { return nil }
        self.seqno = seqno
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(seqno, endianness: .big)
    }

    /// A 4-byte buffer holding this ack.
    public func buffer(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var b = allocator.buffer(capacity: Self.size)
        write(to: &b)
        return b
    }
}
