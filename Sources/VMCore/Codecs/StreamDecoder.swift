import CZlib
import CZstd

/// Decompresses a whole gzip or zstd file piece by piece, through buffers the caller owns and
/// reuses: memory stays the same whatever the size of the file.
///
/// These are the two forms FreeBSD writes compressed kernel dumps in (`sys/kern/subr_compressor.c`):
/// gzip as a 10-byte header, raw deflate and a CRC32 + ISIZE trailer — a valid RFC 1952
/// member — and zstd as one frame with a checksum and no content size. savecore stores them
/// as `vmcore.N.gz` and `vmcore.N.zst` (`sbin/savecore/savecore.c`, `DoFile`).
///
/// Nil at the bottom: a step reports a failure as text and the caller, who knows the file and
/// the offset, turns it into an error.
public final class StreamDecoder {
    public enum Format: String, Sendable, Codable {
        case gzip
        case zstd

        /// The format whose magic `prefix` starts with: `1f 8b` (RFC 1952) or `28 b5 2f fd` (zstd frame).
        public static func detect(_ prefix: [UInt8]) -> Format? {
            if prefix.starts(with: [0x1f, 0x8b]) { return .gzip }
            if prefix.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
            return nil
        }
    }

    /// How a step ended.
    public enum Status: Equatable, Sendable {
        /// More input or more output room is needed.
        case more
        /// A gzip member or zstd frame ended; its output has all been produced.
        case endOfMember
        /// The data is corrupt; the text says why (zlib's or zstd's own words).
        case failed(String)
    }

    public let format: Format
    private let stream: UnsafeMutablePointer<z_stream>?
    private let zstd: OpaquePointer?

    /// A decoder for `format`, or nil if the library cannot allocate one.
    public init?(format: Format) {
        self.format = format
        switch format {
        case .gzip:
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            // 16 + MAX_WBITS: a gzip wrapper is required and its CRC32 and ISIZE are checked.
            guard inflateInit2_(s, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                s.deinitialize(count: 1)
                s.deallocate()
                return nil
            }
            stream = s
            zstd = nil
        case .zstd:
            guard let d = ZSTD_createDCtx() else { return nil }
            stream = nil
            zstd = d
        }
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        if let zstd { ZSTD_freeDCtx(zstd) }
    }

    /// Makes the decoder ready for the next gzip member or zstd frame.
    public func reset() {
        if let stream { inflateReset(stream) }
        if let zstd { ZSTD_DCtx_reset(zstd, ZSTD_reset_session_only) }
    }

    /// Decodes from `input[inputRange]` into `output[outputRange]`; returns how many bytes it
    /// consumed and produced. Stops at the end of a member or frame, so the caller sees every
    /// boundary.
    public func decode(_ input: [UInt8], _ inputRange: Range<Int>, into output: inout [UInt8], _ outputRange: Range<Int>)
        -> (consumed: Int, produced: Int, status: Status)
    {
        precondition(inputRange.lowerBound >= 0 && inputRange.upperBound <= input.count)
        precondition(outputRange.lowerBound >= 0 && outputRange.upperBound <= output.count)
        return input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                let inBase = src.baseAddress.map { $0 + inputRange.lowerBound }
                let outBase = dst.baseAddress.map { $0 + outputRange.lowerBound }
                if let stream {
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: inBase?.assumingMemoryBound(to: Bytef.self))
                    stream.pointee.avail_in = uInt(inputRange.count)
                    stream.pointee.next_out = outBase?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(outputRange.count)
                    let rc = inflate(stream, Z_NO_FLUSH)
                    let consumed = inputRange.count - Int(stream.pointee.avail_in)
                    let produced = outputRange.count - Int(stream.pointee.avail_out)
                    switch rc {
                    case Z_OK, Z_BUF_ERROR:
                        // Z_BUF_ERROR only says no progress was possible with what was given.
                        return (consumed, produced, .more)
                    case Z_STREAM_END:
                        return (consumed, produced, .endOfMember)
                    case Z_NEED_DICT:
                        return (consumed, produced, .failed("the deflate data needs a preset dictionary"))
                    case Z_MEM_ERROR:
                        return (consumed, produced, .failed("zlib ran out of memory"))
                    default:
                        let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                        return (consumed, produced, .failed(reason))
                    }
                }
                var inBuffer = ZSTD_inBuffer(src: inBase, size: inputRange.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: outBase, size: outputRange.count, pos: 0)
                let rc = ZSTD_decompressStream(zstd, &outBuffer, &inBuffer)
                if ZSTD_isError(rc) != 0 {
                    return (inBuffer.pos, outBuffer.pos, .failed(String(cString: ZSTD_getErrorName(rc))))
                }
                return (inBuffer.pos, outBuffer.pos, rc == 0 ? .endOfMember : .more)
            }
        }
    }
}
