import CZlib
import CZstd

/// Compresses a dump the way the FreeBSD kernel does when `dumpon -z` / `-Z` is set
/// (`sys/kern/subr_compressor.c`): gzip as a 10-byte header (magic, deflate, no flags, OS
/// code), raw deflate and a little-endian CRC32 + ISIZE trailer; zstd as one frame with a
/// checksum and no content size (`ZSTD_CONTENTSIZE_UNKNOWN`).
public enum KernelCompressor {
    /// One gzip member holding `data`.
    public static func gzip(_ data: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var out: [UInt8] = [0x1f, 0x8b, UInt8(Z_DEFLATED), 0, 0, 0, 0, 0, 0, 3]
        var piece = [UInt8](repeating: 0, count: 1 << 16)
        var input = data
        var rc: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while rc != Z_STREAM_END {
                piece.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    rc = deflate(&stream, Z_FINISH)
                    precondition(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR)
                    out += dst[0..<(dst.count - Int(stream.avail_out))]
                }
            }
        }
        let crc = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        let size = UInt32(truncatingIfNeeded: data.count)
        for v in [crc, size] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> UInt32(8 * i))) } }
        return out
    }

    /// One zstd frame holding `data`, with a checksum and without a content size.
    public static func zstd(_ data: [UInt8], level: Int32 = 3) -> [UInt8] {
        let cctx = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        // The kernel streams with the size unknown; a one-shot call would record it otherwise.
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)
        var out: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 1 << 16)
        data.withUnsafeBytes { src in
            var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            var remaining = 1
            while remaining != 0 {
                piece.withUnsafeMutableBytes { dst in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    remaining = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end)
                    precondition(ZSTD_isError(remaining) == 0)
                    out += dst[0..<output.pos]
                }
            }
        }
        return out
    }
}
