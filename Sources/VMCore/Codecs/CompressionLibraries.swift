// The C compression libraries, seen from Swift: zlib (inflate, deflate, crc32), libzstd,
// liblzo2 and libsnappy. It is the only file that imports them, and one of the few places
// allowed to hold unsafe pointer code (the other is `IO/SystemCalls.swift`).
//
// Why the pointers are here: these libraries take input and output as C pointers and keep
// their state in C structs (`z_stream`, `ZSTD_DCtx`). Keeping all of that in one file lets
// `PageCodec`, `PageDecoder`, `StreamDecoder`, `StreamEncoder` and `StreamCRC32` work on
// `[UInt8]` with bounds-checked ranges, and lets a reviewer check the invariants below in one
// place.
//
// Invariants every type and function here keeps:
// - A pointer into a Swift array comes from `withUnsafe…` and is used only inside that
//   closure. `z_stream.next_in`/`next_out` are set right before each `inflate`/`deflate` call
//   and are dead after it: zlib keeps no pointer into our buffers between calls (its window is
//   its own copy).
// - Every range is checked (`precondition`) before its pointer is made, and every length handed
//   to a library is the length of that range: a library never reads or writes outside it.
// - A `z_stream` lives at a fixed address (allocated once by `ZlibStream`, never moved, freed
//   only after `inflateEnd`/`deflateEnd`): zlib's internal state points back at it.
// - Every context (`z_stream`, `ZSTD_DCtx`, `ZSTD_CCtx`) belongs to one object that frees it in
//   `deinit` and is not shared between threads; page decoding keeps one per reading thread,
//   reused from page to page (reset, not re-created).

import CLZO
import CSnappy
import CZlib
import CZstd

/// One zlib stream at a fixed address, made by one set-up path for all three uses: raw zlib
/// page data (inflate), gzip members (inflate with the gzip wrapper required) and gzip output
/// (deflate).
final class ZlibStream {
    /// What an `inflate` or `deflate` call returned.
    enum Status: Equatable {
        /// `Z_OK`, or `Z_BUF_ERROR` (no progress was possible with the room given).
        case progress
        /// `Z_STREAM_END`.
        case streamEnd
        /// `Z_NEED_DICT`.
        case needDictionary
        /// `Z_MEM_ERROR`.
        case outOfMemory
        /// Any other return code, with zlib's message if it set one.
        case failed(code: Int32, message: String?)

        /// zlib's return code.
        var code: Int32 {
            switch self {
            case .progress: Z_OK
            case .streamEnd: Z_STREAM_END
            case .needDictionary: Z_NEED_DICT
            case .outOfMemory: Z_MEM_ERROR
            case .failed(let code, _): code
            }
        }
    }

    private let stream: UnsafeMutablePointer<z_stream>
    private let deflating: Bool

    /// An inflating stream; `windowBits` as `inflateInit2` takes it (15: zlib wrapper,
    /// 16 + 15: gzip wrapper). Nil if zlib cannot allocate its state.
    convenience init?(inflateWindowBits windowBits: Int32) {
        self.init(deflating: false) { inflateInit2_($0, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) }
    }

    /// A deflating stream at `level` (1–9); `windowBits` as `deflateInit2` takes it; memLevel 8
    /// and the default strategy, as zlib's own defaults.
    convenience init?(deflateLevel level: Int32, windowBits: Int32) {
        self.init(deflating: true) {
            deflateInit2_($0, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        }
    }

    /// The one set-up path: a zeroed `z_stream` at a fixed address, then `initialize` on it.
    private init?(deflating: Bool, _ initialize: (UnsafeMutablePointer<z_stream>) -> Int32) {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        guard initialize(s) == Z_OK else {
            s.deinitialize(count: 1)
            s.deallocate()
            return nil
        }
        stream = s
        self.deflating = deflating
    }

    deinit {
        if deflating { deflateEnd(stream) } else { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Makes the stream ready for new data, keeping its allocations. False if zlib refuses.
    @discardableResult
    func reset() -> Bool {
        (deflating ? deflateReset(stream) : inflateReset(stream)) == Z_OK
    }

    /// One `inflate` or `deflate` call from `input` into `output[outputRange]` (`Z_FINISH` when
    /// `finish`, else `Z_NO_FLUSH`); returns how many bytes it consumed and produced.
    func process(_ input: ArraySlice<UInt8>, into output: inout [UInt8], _ outputRange: Range<Int>, finish: Bool)
        -> (consumed: Int, produced: Int, status: Status)
    {
        precondition(outputRange.lowerBound >= 0 && outputRange.upperBound <= output.count)
        let stream = self.stream
        let rc = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.pointee.avail_in = uInt(src.count)
                stream.pointee.next_out = dst.baseAddress.map { ($0 + outputRange.lowerBound).assumingMemoryBound(to: Bytef.self) }
                stream.pointee.avail_out = uInt(outputRange.count)
                let flush = finish ? Z_FINISH : Z_NO_FLUSH
                let rc = deflating ? deflate(stream, flush) : inflate(stream, flush)
                // Nothing may point into the caller's buffers after they are released.
                stream.pointee.next_in = nil
                stream.pointee.next_out = nil
                return rc
            }
        }
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = outputRange.count - Int(stream.pointee.avail_out)
        let status: Status = switch rc {
        case Z_OK, Z_BUF_ERROR: .progress
        case Z_STREAM_END: .streamEnd
        case Z_NEED_DICT: .needDictionary
        case Z_MEM_ERROR: .outOfMemory
        default: .failed(code: rc, message: stream.pointee.msg.map { String(cString: $0) })
        }
        return (consumed, produced, status)
    }
}

/// A zstd decompression context (`ZSTD_DCtx`), for whole frames and for streaming.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init?() {
        guard let c = ZSTD_createDCtx() else { return nil }
        context = c
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Makes the context ready for the next frame.
    func reset() {
        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
    }

    /// Decompresses the whole frame `input` into `output[0..<capacity]`; the decompressed size,
    /// or nil if the data is corrupt or does not fit.
    func decompress(_ input: ArraySlice<UInt8>, into output: inout [UInt8], capacity: Int) -> Int? {
        precondition(capacity >= 0 && capacity <= output.count)
        let context = self.context
        let n = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in ZSTD_decompressDCtx(context, dst.baseAddress, capacity, src.baseAddress, src.count) }
        }
        return ZSTD_isError(n) != 0 ? nil : n
    }

    /// One `ZSTD_decompressStream` step from `input` into `output[outputRange]`. `remaining` is
    /// 0 when a frame has ended; `error` is zstd's own words when the data is corrupt.
    func decompressStream(_ input: ArraySlice<UInt8>, into output: inout [UInt8], _ outputRange: Range<Int>)
        -> (consumed: Int, produced: Int, remaining: Int, error: String?)
    {
        precondition(outputRange.lowerBound >= 0 && outputRange.upperBound <= output.count)
        let context = self.context
        return input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                var inBuffer = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: dst.baseAddress.map { $0 + outputRange.lowerBound }, size: outputRange.count, pos: 0)
                let rc = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                if ZSTD_isError(rc) != 0 { return (inBuffer.pos, outBuffer.pos, 0, String(cString: ZSTD_getErrorName(rc))) }
                return (inBuffer.pos, outBuffer.pos, rc, nil)
            }
        }
    }
}

/// A zstd compression context (`ZSTD_CCtx`) for one stream: a frame with a content checksum.
final class ZstdCompressor {
    private let context: OpaquePointer
    /// False when the library was built without worker threads (Debian's static libzstd is),
    /// so `threads` could not be honoured.
    let hasWorkers: Bool

    /// `level`: zstd's levels; `threads`: zstd worker threads (0: compress on the caller's).
    init?(level: Int32, threads: Int32) {
        guard let c = ZSTD_createCCtx() else { return nil }
        _ = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)
        _ = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
        var workers = false
        if threads > 0 {
            workers = ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, threads)) == 0
            // 4 MiB jobs (zstd's default is 4 windows, 8 MiB at level 3): half the buffers, the same speed.
            if workers { _ = ZSTD_CCtx_setParameter(c, ZSTD_c_jobSize, 4 << 20) }
        }
        hasWorkers = workers
        context = c
    }

    deinit { ZSTD_freeCCtx(context) }

    /// `input` as one whole frame (content checksum, content size) into `output`, which is
    /// grown to `ZSTD_compressBound`; returns the frame's length, or the library's error.
    func compressFrame(_ input: ArraySlice<UInt8>, into output: inout [UInt8]) -> Result<Int, ZstdFailure> {
        let bound = ZSTD_compressBound(input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let context = self.context
        _ = ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
        let rc = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_compress2(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
        }
        if ZSTD_isError(rc) != 0 { return .failure(ZstdFailure(reason: String(cString: ZSTD_getErrorName(rc)))) }
        return .success(rc)
    }

    /// One `ZSTD_compressStream2` step (`ZSTD_e_end` when `finish`, else `ZSTD_e_continue`)
    /// from `input` into `output`. `remaining` is 0 when a finished frame is all flushed.
    func compressStream(_ input: ArraySlice<UInt8>, into output: inout [UInt8], finish: Bool)
        -> (consumed: Int, produced: Int, remaining: Int, error: String?)
    {
        let context = self.context
        return input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                var inBuffer = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                let rc = ZSTD_compressStream2(context, &outBuffer, &inBuffer, finish ? ZSTD_e_end : ZSTD_e_continue)
                if ZSTD_isError(rc) != 0 { return (inBuffer.pos, outBuffer.pos, 0, String(cString: ZSTD_getErrorName(rc))) }
                return (inBuffer.pos, outBuffer.pos, rc, nil)
            }
        }
    }
}

/// Why zstd refused.
struct ZstdFailure: Error {
    var reason: String
}

/// The one-shot calls: one page (or one buffer) in, one out. Nil when the library fails or
/// the output does not fit.
enum CompressionLibraries {
    static let lzoReady: Bool = clzo_init() == LZO_E_OK

    // MARK: Decompression into output[0..<capacity]

    /// zlib `uncompress` (a zlib-wrapped stream).
    static func zlibUncompress(_ input: ArraySlice<UInt8>, into output: inout [UInt8], capacity: Int) -> Int? {
        precondition(capacity >= 0 && capacity <= output.count)
        var outLen = uLongf(capacity)
        let rc = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                uncompress(dst.baseAddress?.assumingMemoryBound(to: Bytef.self), &outLen,
                           src.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(src.count))
            }
        }
        return rc == Z_OK ? Int(outLen) : nil
    }

    /// `lzo1x_decompress_safe`.
    static func lzoDecompress(_ input: ArraySlice<UInt8>, into output: inout [UInt8], capacity: Int) -> Int? {
        precondition(capacity >= 0 && capacity <= output.count)
        guard lzoReady else { return nil }
        var outLen = lzo_uint(capacity)
        let rc = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                lzo1x_decompress_safe(src.baseAddress?.assumingMemoryBound(to: UInt8.self), lzo_uint(src.count),
                                      dst.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLen, nil)
            }
        }
        return rc == LZO_E_OK ? Int(outLen) : nil
    }

    /// `snappy_uncompress`.
    static func snappyUncompress(_ input: ArraySlice<UInt8>, into output: inout [UInt8], capacity: Int) -> Int? {
        precondition(capacity >= 0 && capacity <= output.count)
        var outLen = capacity
        let rc = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                snappy_uncompress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                  dst.baseAddress?.assumingMemoryBound(to: CChar.self), &outLen)
            }
        }
        return rc == SNAPPY_OK ? outLen : nil
    }

    /// `ZSTD_decompress` (one frame, a context made for the call).
    static func zstdDecompress(_ input: ArraySlice<UInt8>, into output: inout [UInt8], capacity: Int) -> Int? {
        precondition(capacity >= 0 && capacity <= output.count)
        let n = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in ZSTD_decompress(dst.baseAddress, capacity, src.baseAddress, src.count) }
        }
        return ZSTD_isError(n) != 0 ? nil : n
    }

    // MARK: Compression of a whole buffer

    /// zlib `compress2` at `level`.
    static func zlibCompress(_ input: [UInt8], level: Int32) -> [UInt8]? {
        var outLen = compressBound(uLong(input.count))
        var out = [UInt8](repeating: 0, count: Int(outLen))
        let rc = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &outLen, src.baseAddress, uLong(src.count), level)
            }
        }
        return rc == Z_OK ? Array(out.prefix(Int(outLen))) : nil
    }

    /// `lzo1x_1_compress`.
    static func lzoCompress(_ input: [UInt8]) -> [UInt8]? {
        guard lzoReady else { return nil }
        var out = [UInt8](repeating: 0, count: input.count + input.count / 16 + 64 + 3)
        var work = [UInt8](repeating: 0, count: 16384 * 8)  // LZO1X_1_MEM_COMPRESS
        var outLen: lzo_uint = 0
        let rc = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                work.withUnsafeMutableBytes { wrk in
                    lzo1x_1_compress(src.baseAddress, lzo_uint(src.count), dst.baseAddress, &outLen, wrk.baseAddress)
                }
            }
        }
        return rc == LZO_E_OK ? Array(out.prefix(Int(outLen))) : nil
    }

    /// `snappy_compress`.
    static func snappyCompress(_ input: [UInt8]) -> [UInt8]? {
        var outLen = snappy_max_compressed_length(input.count)
        var out = [UInt8](repeating: 0, count: outLen)
        let rc = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                snappy_compress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                dst.baseAddress?.assumingMemoryBound(to: CChar.self), &outLen)
            }
        }
        return rc == SNAPPY_OK ? Array(out.prefix(outLen)) : nil
    }

    /// `ZSTD_compress` at `level`.
    static func zstdCompress(_ input: [UInt8], level: Int32) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level) }
        }
        return ZSTD_isError(n) == 0 ? Array(out.prefix(n)) : nil
    }

    // MARK: Checksums

    /// zlib's `crc32_z` of `bytes[0..<count]`, continuing from `crc`.
    static func crc32(_ crc: UInt, _ bytes: [UInt8], count: Int) -> UInt {
        precondition(count >= 0 && count <= bytes.count)
        return bytes.withUnsafeBufferPointer { crc32_z(crc, $0.baseAddress, count) }
    }
}
