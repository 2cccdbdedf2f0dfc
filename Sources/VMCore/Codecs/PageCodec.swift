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
    /// Decompresses `input` into `output[0..<expected]`; returns the number of bytes produced,
    /// or nil if the data is corrupt or does not fit.
    public static func decompress(_ method: PageCompression, _ input: ArraySlice<UInt8>,
                                  into output: inout [UInt8], expected: Int) -> Int? {
        precondition(output.count >= expected)
        switch method {
        case .none:
            guard input.count <= expected else { return nil }
            SystemCalls.copy(input, into: &output, at: 0)
            return input.count
        case .zlib: return CompressionLibraries.zlibUncompress(input, into: &output, capacity: expected)
        case .lzo: return CompressionLibraries.lzoDecompress(input, into: &output, capacity: expected)
        case .snappy: return CompressionLibraries.snappyUncompress(input, into: &output, capacity: expected)
        case .zstd: return CompressionLibraries.zstdDecompress(input, into: &output, capacity: expected)
        }
    }

    /// Compresses one page the way makedumpfile does (zlib `Z_BEST_SPEED`, `lzo1x_1_compress`,
    /// default snappy, zstd level 1). Returns nil when the result is not smaller than the input,
    /// in which case makedumpfile stores the page raw.
    public static func compress(_ method: PageCompression, _ input: [UInt8]) -> [UInt8]? {
        let packed: [UInt8]? = switch method {
        case .none: nil
        case .zlib: CompressionLibraries.zlibCompress(input, level: 1)  // Z_BEST_SPEED
        case .lzo: CompressionLibraries.lzoCompress(input)
        case .snappy: CompressionLibraries.snappyCompress(input)
        case .zstd: CompressionLibraries.zstdCompress(input, level: 1)
        }
        guard let packed, packed.count < input.count else { return nil }
        return packed
    }
}

/// Per-thread decompression state reused from page to page: one zlib stream (reset, not
/// re-created, per page) and one zstd context, each made when a page first needs it (a zlib
/// dump never pays for a zstd context). Not thread-safe: each reading thread owns one.
public final class PageDecoder {
    private lazy var zlib = ZlibStream(inflateWindowBits: 15)
    private lazy var zstd = ZstdDecompressor()

    public init() {}

    /// As `PageCodec.decompress`, reusing this decoder's state.
    public func decompress(_ method: PageCompression, _ input: ArraySlice<UInt8>, into output: inout [UInt8], expected: Int) -> Int? {
        precondition(output.count >= expected)
        if method == .zlib, let zlib {
            guard zlib.reset() else { return nil }
            let step = zlib.process(input, into: &output, 0..<expected, finish: true)
            return step.status == .streamEnd ? step.produced : nil
        }
        if method == .zstd, let zstd {
            return zstd.decompress(input, into: &output, capacity: expected)
        }
        return PageCodec.decompress(method, input, into: &output, expected: expected)
    }
}

extension PageCodec {
    /// True if `bytes[range]` are all zero; compares eight bytes at a time.
    public static func isZero(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        SystemCalls.isZero(bytes, range)
    }
}
