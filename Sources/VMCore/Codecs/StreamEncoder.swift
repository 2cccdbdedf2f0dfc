/// Compresses a stream piece by piece into gzip (one RFC 1952 member, what `gzip` and
/// savecore's `-z` write) or zstd (one frame with a content checksum, compressed by zstd's own
/// worker threads), through buffers the caller owns: memory stays the same whatever the size
/// of the stream.
public final class StreamEncoder {
    public let format: StreamDecoder.Format
    private let gzip: ZlibStream?
    private let zstd: ZstdCompressor?
    private var output = [UInt8](repeating: 0, count: 1 << 20)

    /// `level`: zlib 1–9 (gzip) or zstd's levels; `threads`: zstd worker threads (0: none).
    public init?(format: StreamDecoder.Format, level: Int32, threads: Int32 = 0) {
        self.format = format
        switch format {
        case .gzip:
            // windowBits 15 + 16: a gzip wrapper.
            guard let stream = ZlibStream(deflateLevel: level, windowBits: 15 + 16) else { return nil }
            gzip = stream
            zstd = nil
        case .zstd:
            guard let context = ZstdCompressor(level: level, threads: threads) else { return nil }
            gzip = nil
            zstd = context
        }
    }

    /// Compresses `input[range]`; `finish` ends the stream. Each piece of compressed output is
    /// handed to `sink` as it is produced (the array is reused: copy what you keep).
    public func encode(_ input: [UInt8], _ range: Range<Int>, finish: Bool,
                       sink: ([UInt8], Int) throws(VMCoreError) -> Void) throws(VMCoreError) {
        var consumed = 0
        var done = false
        while !done {
            let (c, produced, finished, failure) = step(input[range.lowerBound + consumed..<range.upperBound], finish: finish)
            if let failure { throw VMCoreError(.io, file: "", "\(format.rawValue) compression failed", failure) }
            consumed += c
            if produced > 0 { try sink(output, produced) }
            // Without finishing, stop once the input is consumed and the buffer was not filled.
            done = finish ? finished : (consumed == range.count && produced < output.count)
        }
    }

    private func step(_ input: ArraySlice<UInt8>, finish: Bool) -> (Int, Int, Bool, String?) {
        if let gzip {
            let step = gzip.process(input, into: &output, 0..<output.count, finish: finish)
            switch step.status {
            case .progress: return (step.consumed, step.produced, false, nil)
            case .streamEnd: return (step.consumed, step.produced, true, nil)
            default: return (step.consumed, step.produced, false, "zlib error \(step.status.code)")
            }
        }
        let step = zstd!.compressStream(input, into: &output, finish: finish)
        if let error = step.error { return (step.consumed, step.produced, false, error) }
        return (step.consumed, step.produced, finish && step.remaining == 0, nil)
    }
}
