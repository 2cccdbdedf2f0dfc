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
    private let gzip: ZlibStream?
    private let zstd: ZstdDecompressor?

    /// A decoder for `format`, or nil if the library cannot allocate one.
    public init?(format: Format) {
        self.format = format
        switch format {
        case .gzip:
            // 16 + 15: a gzip wrapper is required and its CRC32 and ISIZE are checked.
            guard let stream = ZlibStream(inflateWindowBits: 16 + 15) else { return nil }
            gzip = stream
            zstd = nil
        case .zstd:
            guard let context = ZstdDecompressor() else { return nil }
            gzip = nil
            zstd = context
        }
    }

    /// Makes the decoder ready for the next gzip member or zstd frame.
    public func reset() {
        gzip?.reset()
        zstd?.reset()
    }

    /// Decodes from `input[inputRange]` into `output[outputRange]`; returns how many bytes it
    /// consumed and produced. Stops at the end of a member or frame, so the caller sees every
    /// boundary.
    public func decode(_ input: [UInt8], _ inputRange: Range<Int>, into output: inout [UInt8], _ outputRange: Range<Int>)
        -> (consumed: Int, produced: Int, status: Status)
    {
        precondition(inputRange.lowerBound >= 0 && inputRange.upperBound <= input.count)
        precondition(outputRange.lowerBound >= 0 && outputRange.upperBound <= output.count)
        if let gzip {
            let step = gzip.process(input[inputRange], into: &output, outputRange, finish: false)
            switch step.status {
            case .progress:
                // Z_BUF_ERROR only says no progress was possible with what was given.
                return (step.consumed, step.produced, .more)
            case .streamEnd:
                return (step.consumed, step.produced, .endOfMember)
            case .needDictionary:
                return (step.consumed, step.produced, .failed("the deflate data needs a preset dictionary"))
            case .outOfMemory:
                return (step.consumed, step.produced, .failed("zlib ran out of memory"))
            case .failed(let code, let message):
                return (step.consumed, step.produced, .failed(message ?? "zlib error \(code)"))
            }
        }
        let step = zstd!.decompressStream(input[inputRange], into: &output, outputRange)
        if let error = step.error { return (step.consumed, step.produced, .failed(error)) }
        return (step.consumed, step.produced, step.remaining == 0 ? .endOfMember : .more)
    }
}
