import NIOCore
import VMCore

/// The bytes a client sends, message by message: the herald's path, the EKCD key, the dump
/// payload (read from a file in large pieces), the 512-byte kernel dump header.
///
/// Sendable so that it can be handed to the event loop that sends it; from then on only that
/// loop reads it (its chunk buffer is not shared).
public final class NetdumpDumpSource: @unchecked Sendable {
    /// The herald payload: the path and its NUL (`netdump_start()`), or nothing.
    public let heraldPayload: [UInt8]
    public let key: [UInt8]
    public let header: [UInt8]
    public let data: any ByteSource
    private var chunk: [UInt8]
    private var chunkOffset: UInt64 = 0
    private var chunkLength = 0

    /// `path`: the herald's directory for the server (nil or empty: none).
    public init(data: any ByteSource, header: [UInt8], key: [UInt8] = [], path: String? = nil, chunkSize: Int = 1 << 20) {
        precondition(header.count == KernelDumpHeader.size)
        self.data = data
        self.header = header
        self.key = key
        if let path, !path.isEmpty { heraldPayload = Array(path.utf8) + [0] } else { heraldPayload = [] }
        chunk = [UInt8](repeating: 0, count: chunkSize)
    }

    /// The messages to send, in the kernel's order.
    public var messages: [NetdumpSender.Message] {
        NetdumpSender.dump(pathLength: heraldPayload.count, keyLength: key.count, dataLength: data.size)
    }

    /// Appends the payload of `packet` to `buffer`.
    public func write(_ packet: NetdumpSender.Packet, to buffer: inout ByteBuffer) throws(VMCoreError) {
        let offset = packet.header.offset
        let length = Int(packet.header.length)
        guard length > 0 else { return }
        switch packet.header.type {
        case .herald: buffer.writeBytes(heraldPayload[Int(offset)..<Int(offset) + length])
        case .ekcdKey: buffer.writeBytes(key[Int(offset)..<Int(offset) + length])
        case .kernelDumpHeader: buffer.writeBytes(header[Int(offset)..<Int(offset) + length])
        case .vmcore: try writeData(at: offset, length: length, to: &buffer)
        case .finished, nil: break
        }
    }

    /// Dump bytes from the chunk in memory; a packet past it moves the chunk forward, one
    /// before it (a retransmission) is read on its own.
    private func writeData(at offset: UInt64, length: Int, to buffer: inout ByteBuffer) throws(VMCoreError) {
        let end = chunkOffset + UInt64(chunkLength)
        if offset >= chunkOffset && offset + UInt64(length) <= end {
            let start = Int(offset - chunkOffset)
            buffer.writeBytes(chunk[start..<start + length])
            return
        }
        if offset >= end || chunkLength == 0 {
            let count = Int(min(UInt64(chunk.count), data.size - offset))
            if count >= length {
                try data.read(into: &chunk, bufferOffset: 0, at: offset, count: count)
                chunkOffset = offset
                chunkLength = count
                buffer.writeBytes(chunk[0..<length])
                return
            }
        }
        buffer.writeBytes(try data.bytes(at: offset, count: length, what: "dump data"))
    }
}
