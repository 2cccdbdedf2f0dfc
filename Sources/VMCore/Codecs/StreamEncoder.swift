import CZlib
import CZstd

/// Compresses a stream piece by piece into gzip (one RFC 1952 member, what `gzip` and
/// savecore's `-z` write) or zstd (one frame with a content checksum, compressed by zstd's own
/// worker threads), through buffers the caller owns: memory stays the same whatever the size
/// of the stream.
public final class StreamEncoder {
    public let format: StreamDecoder.Format
    private let stream: UnsafeMutablePointer<z_stream>?
    private let zstd: OpaquePointer?
    private var output = [UInt8](repeating: 0, count: 1 << 20)

    /// `level`: zlib 1–9 (gzip) or zstd's levels; `threads`: zstd worker threads (0: none).
    public init?(format: StreamDecoder.Format, level: Int32, threads: Int32 = 0) {
        self.format = format
        switch format {
        case .gzip:
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            // windowBits 15 + 16: a gzip wrapper; memLevel 8 is zlib's default.
            guard deflateInit2_(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                s.deinitialize(count: 1)
                s.deallocate()
                return nil
            }
            stream = s
            zstd = nil
        case .zstd:
            guard let c = ZSTD_createCCtx() else { return nil }
            _ = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)
            _ = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
            if threads > 0 {
                _ = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, threads)
                // 4 MiB jobs (zstd's default is 4 windows, 8 MiB at level 3): half the buffers, the same speed.
                _ = ZSTD_CCtx_setParameter(c, ZSTD_c_jobSize, 4 << 20)
            }
            stream = nil
            zstd = c
        }
    }

    deinit {
        if let stream {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        if let zstd { ZSTD_freeCCtx(zstd) }
    }

    /// Compresses `input[range]`; `finish` ends the stream. Each piece of compressed output is
    /// handed to `sink` as it is produced (the array is reused: copy what you keep).
    public func encode(_ input: [UInt8], _ range: Range<Int>, finish: Bool,
                       sink: ([UInt8], Int) throws(VMCoreError) -> Void) throws(VMCoreError) {
        var consumed = 0
        var done = false
        while !done {
            let (c, produced, finished, failure) = step(input, range.lowerBound + consumed..<range.upperBound, finish: finish)
            if let failure { throw VMCoreError(.io, file: "", "\(format.rawValue) compression failed", failure) }
            consumed += c
            if produced > 0 { try sink(output, produced) }
            // Without finishing, stop once the input is consumed and the buffer was not filled.
            done = finish ? finished : (consumed == range.count && produced < output.count)
        }
    }

    private func step(_ input: [UInt8], _ range: Range<Int>, finish: Bool) -> (Int, Int, Bool, String?) {
        let outCount = output.count
        return input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                let inBase = src.baseAddress.map { $0 + range.lowerBound }
                if let stream {
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: inBase?.assumingMemoryBound(to: Bytef.self))
                    stream.pointee.avail_in = uInt(range.count)
                    stream.pointee.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(outCount)
                    let rc = deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
                    let consumed = range.count - Int(stream.pointee.avail_in)
                    let produced = outCount - Int(stream.pointee.avail_out)
                    switch rc {
                    case Z_OK, Z_BUF_ERROR: return (consumed, produced, false, nil)
                    case Z_STREAM_END: return (consumed, produced, true, nil)
                    default: return (consumed, produced, false, "zlib error \(rc)")
                    }
                }
                var inBuffer = ZSTD_inBuffer(src: inBase, size: range.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: dst.baseAddress, size: outCount, pos: 0)
                let rc = ZSTD_compressStream2(zstd, &outBuffer, &inBuffer, finish ? ZSTD_e_end : ZSTD_e_continue)
                if ZSTD_isError(rc) != 0 { return (inBuffer.pos, outBuffer.pos, false, String(cString: ZSTD_getErrorName(rc))) }
                return (inBuffer.pos, outBuffer.pos, finish && rc == 0, nil)
            }
        }
    }
}
