import CLZO
import CSnappy
import CZlib
import CZstd

/// How one page is stored in a kdump-compressed file: the per-page `page_desc.flags`
/// (`DUMP_DH_COMPRESSED_*`, makedumpfile `diskdump_mod.h`).
public enum PageCompression: String, Sendable, Codable, CaseIterable, Comparable {
    case none
    case zlib
    case lzo
    case snappy
    case zstd

    /// The flag bit makedumpfile writes for this method (0 for `.none`).
    public var flag: UInt32 {
        switch self {
        case .none: 0
        case .zlib: 0x1
        case .lzo: 0x2
        case .snappy: 0x4
        case .zstd: 0x20
        }
    }

    /// The method a page descriptor's flags name, or nil when no single known method is named.
    public init?(pageFlags flags: UInt32) {
        switch flags {
        case 0: self = .none
        case 0x1: self = .zlib
        case 0x2: self = .lzo
        case 0x4: self = .snappy
        case 0x20: self = .zstd
        default: return nil
        }
    }

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Page compression and decompression through the system's zlib, liblzo2, libsnappy and
/// libzstd: the libraries makedumpfile and crash use, so what they write we read bit for bit.
///
/// Nil at the bottom: a failed decode returns nil and the caller, who knows the file and the
/// offset, turns that into an error.
public enum PageCodec {
    private static let lzoReady: Bool = clzo_init() == LZO_E_OK

    /// Decompresses `input` into `output[0..<expected]`; returns the number of bytes produced,
    /// or nil if the data is corrupt or does not fit.
    public static func decompress(_ method: PageCompression, _ input: ArraySlice<UInt8>,
                                  into output: inout [UInt8], expected: Int) -> Int? {
        precondition(output.count >= expected)
        return input.withUnsafeBytes { src -> Int? in
            output.withUnsafeMutableBytes { dst -> Int? in
                guard let dstBase = dst.baseAddress else { return nil }
                let srcBase = src.baseAddress ?? UnsafeRawPointer(dstBase)
                switch method {
                case .none:
                    guard src.count <= expected else { return nil }
                    dst.copyMemory(from: src)
                    return src.count
                case .zlib:
                    var outLen = uLongf(expected)
                    let rc = uncompress(dstBase.assumingMemoryBound(to: Bytef.self), &outLen,
                                        srcBase.assumingMemoryBound(to: Bytef.self), uLong(src.count))
                    return rc == Z_OK ? Int(outLen) : nil
                case .lzo:
                    guard lzoReady else { return nil }
                    var outLen = lzo_uint(expected)
                    let rc = lzo1x_decompress_safe(srcBase.assumingMemoryBound(to: UInt8.self), lzo_uint(src.count),
                                                   dstBase.assumingMemoryBound(to: UInt8.self), &outLen, nil)
                    return rc == LZO_E_OK ? Int(outLen) : nil
                case .snappy:
                    var outLen = expected
                    let rc = snappy_uncompress(srcBase.assumingMemoryBound(to: CChar.self), src.count,
                                               dstBase.assumingMemoryBound(to: CChar.self), &outLen)
                    return rc == SNAPPY_OK ? outLen : nil
                case .zstd:
                    let n = ZSTD_decompress(dstBase, expected, srcBase, src.count)
                    return ZSTD_isError(n) != 0 ? nil : n
                }
            }
        }
    }

    /// Compresses one page the way makedumpfile does (zlib `Z_BEST_SPEED`, `lzo1x_1_compress`,
    /// default snappy, zstd level 1). Returns nil when the result is not smaller than the input,
    /// in which case makedumpfile stores the page raw.
    public static func compress(_ method: PageCompression, _ input: [UInt8]) -> [UInt8]? {
        switch method {
        case .none:
            return nil
        case .zlib:
            var outLen = compressBound(uLong(input.count))
            var out = [UInt8](repeating: 0, count: Int(outLen))
            let rc = input.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    compress2(dst.baseAddress, &outLen, src.baseAddress, uLong(src.count), Z_BEST_SPEED)
                }
            }
            guard rc == Z_OK, Int(outLen) < input.count else { return nil }
            return Array(out.prefix(Int(outLen)))
        case .lzo:
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
            guard rc == LZO_E_OK, Int(outLen) < input.count else { return nil }
            return Array(out.prefix(Int(outLen)))
        case .snappy:
            var outLen = snappy_max_compressed_length(input.count)
            var out = [UInt8](repeating: 0, count: outLen)
            let rc = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    snappy_compress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), &outLen)
                }
            }
            guard rc == SNAPPY_OK, outLen < input.count else { return nil }
            return Array(out.prefix(outLen))
        case .zstd:
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, 1)
                }
            }
            guard ZSTD_isError(n) == 0, n < input.count else { return nil }
            return Array(out.prefix(n))
        }
    }
}

/// Per-thread decompression state reused from page to page: one zlib stream (reset, not
/// re-created, per page) and one zstd context. Not thread-safe: each reading thread owns one.
public final class PageDecoder {
    private let stream: UnsafeMutablePointer<z_stream>
    private var zlibReady = false
    private let zstd: OpaquePointer?

    public init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        zlibReady = inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        zstd = ZSTD_createDCtx()
    }

    deinit {
        if zlibReady { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        if let zstd { ZSTD_freeDCtx(zstd) }
    }

    /// As `PageCodec.decompress`, reusing this decoder's state.
    public func decompress(_ method: PageCompression, _ input: ArraySlice<UInt8>, into output: inout [UInt8], expected: Int) -> Int? {
        switch method {
        case .zlib where zlibReady:
            guard inflateReset(stream) == Z_OK else { return nil }
            return input.withUnsafeBytes { src -> Int? in
                output.withUnsafeMutableBytes { dst -> Int? in
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
                    stream.pointee.avail_in = uInt(src.count)
                    stream.pointee.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(expected)
                    let rc = inflate(stream, Z_FINISH)
                    return rc == Z_STREAM_END ? expected - Int(stream.pointee.avail_out) : nil
                }
            }
        case .zstd where zstd != nil:
            return input.withUnsafeBytes { src -> Int? in
                output.withUnsafeMutableBytes { dst -> Int? in
                    let n = ZSTD_decompressDCtx(zstd, dst.baseAddress, expected, src.baseAddress, src.count)
                    return ZSTD_isError(n) != 0 ? nil : n
                }
            }
        default:
            return PageCodec.decompress(method, input, into: &output, expected: expected)
        }
    }
}

extension PageCodec {
    /// True if `bytes[range]` are all zero; compares eight bytes at a time.
    public static func isZero(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        bytes.withUnsafeBytes { raw in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
                i += 8
            }
            while i < range.upperBound {
                if raw[i] != 0 { return false }
                i += 1
            }
            return true
        }
    }
}
