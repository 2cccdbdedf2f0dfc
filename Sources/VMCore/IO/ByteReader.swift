/// A bounds-checked view of bytes read from a file, which knows their absolute file offset.
///
/// Every integer read names its byte order (the reader's) and the field, so a short or bad read
/// becomes an error that says which field, at which offset, in which file.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public let file: String
    /// The absolute file offset of `bytes[0]`.
    public let base: UInt64
    public let order: ByteOrder

    public init(_ bytes: [UInt8], file: String, base: UInt64, order: ByteOrder) {
        self.bytes = bytes
        self.file = file
        self.base = base
        self.order = order
    }

    public var count: Int { bytes.count }

    private func check(_ offset: Int, _ width: Int, _ field: String) throws(VMCoreError) {
        guard offset >= 0, width >= 0, offset <= bytes.count - width else {
            throw VMCoreError(.truncated, file: file, offset: base + UInt64(max(0, offset)),
                              "\(field) is cut short", "needs \(width) bytes, \(max(0, bytes.count - offset)) remain")
        }
    }

    /// An unsigned integer of `width` bytes (1…8) at `offset` within these bytes.
    public func uint(_ offset: Int, width: Int, _ field: String) throws(VMCoreError) -> UInt64 {
        try check(offset, width, field)
        return load(offset, width)
    }

    /// The integer at `offset`, already bounds-checked.
    private func load(_ offset: Int, _ width: Int) -> UInt64 {
        var value: UInt64 = 0
        if order == .little {
            for i in stride(from: width - 1, through: 0, by: -1) { value = value << 8 | UInt64(bytes[offset + i]) }
        } else {
            for i in 0..<width { value = value << 8 | UInt64(bytes[offset + i]) }
        }
        return value
    }

    /// `count` unsigned integers of `width` bytes (1…8) from `offset`: one bounds check for the
    /// whole array, so a table of 100,000 entries builds no per-entry error text.
    public func uints(_ offset: Int, count: Int, width: Int, _ field: String) throws(VMCoreError) -> [UInt64] {
        let (size, overflow) = max(0, count).multipliedReportingOverflow(by: width)
        guard !overflow else {
            throw VMCoreError(.corrupt, file: file, offset: base + UInt64(max(0, offset)), "\(field) of \(count) entries is too large")
        }
        try check(offset, size, field)
        return (0..<max(0, count)).map { load(offset + $0 * width, width) }
    }

    public func u8(_ offset: Int, _ field: String) throws(VMCoreError) -> UInt8 {
        try check(offset, 1, field)
        return bytes[offset]
    }

    public func u16(_ offset: Int, _ field: String) throws(VMCoreError) -> UInt16 {
        UInt16(truncatingIfNeeded: try uint(offset, width: 2, field))
    }

    public func u32(_ offset: Int, _ field: String) throws(VMCoreError) -> UInt32 {
        UInt32(truncatingIfNeeded: try uint(offset, width: 4, field))
    }

    public func u64(_ offset: Int, _ field: String) throws(VMCoreError) -> UInt64 {
        try uint(offset, width: 8, field)
    }

    public func i32(_ offset: Int, _ field: String) throws(VMCoreError) -> Int32 {
        Int32(bitPattern: try u32(offset, field))
    }

    public func i64(_ offset: Int, _ field: String) throws(VMCoreError) -> Int64 {
        Int64(bitPattern: try u64(offset, field))
    }

    /// A word of the file's class: 4 bytes in 32-bit layouts, 8 in 64-bit ones.
    public func word(_ offset: Int, is64: Bool, _ field: String) throws(VMCoreError) -> UInt64 {
        try uint(offset, width: is64 ? 8 : 4, field)
    }

    /// `count` raw bytes at `offset`.
    public func slice(_ offset: Int, _ count: Int, _ field: String) throws(VMCoreError) -> ArraySlice<UInt8> {
        try check(offset, count, field)
        return bytes[offset..<offset + count]
    }

    /// A fixed-size C char array: the bytes up to the first NUL, as text (invalid UTF-8 repaired).
    public func cString(_ offset: Int, _ count: Int, _ field: String) throws(VMCoreError) -> String {
        let raw = try slice(offset, count, field)
        let end = raw.firstIndex(of: 0) ?? raw.endIndex
        return String(decoding: raw[raw.startIndex..<end], as: UTF8.self)
    }

    /// A sub-reader over `count` bytes at `offset`, keeping absolute offsets.
    public func sub(_ offset: Int, _ count: Int, _ field: String) throws(VMCoreError) -> ByteReader {
        ByteReader(Array(try slice(offset, count, field)), file: file, base: base + UInt64(offset), order: order)
    }

    /// The absolute file offset of `offset` within these bytes.
    public func fileOffset(_ offset: Int) -> UInt64 { base + UInt64(offset) }
}

/// Substring search over bytes (`memchr` for the first byte, `memcmp` for the rest).
public enum ByteSearch {
    /// The first index of `needle` in `haystack[range]`, or nil.
    public static func firstIndex(of needle: [UInt8], in haystack: [UInt8], range: Range<Int>? = nil) -> Int? {
        SystemCalls.firstIndex(of: needle, in: haystack, range: range ?? 0..<haystack.count)
    }
}
