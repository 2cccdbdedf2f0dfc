/// One 512-byte ustar header: a member of a tar archive.
///
/// Mirrors `struct ustar_header`, FreeBSD `sys/ddb/db_textdump.c` (POSIX.1-1988 ustar):
/// name[100] @0, mode[8] @100, uid[8] @108, gid[8] @116, size[12] @124, mtime[12] @136,
/// checksum[8] @148, typeflag @156, linkname[100] @157, magic[6] @257, version[2] @263,
/// uname[32] @265, gname[32] @297, devmajor[8] @329, devminor[8] @337, prefix[155] @345.
/// Numbers are octal text. `textdump_mkustar()` writes size with `%o`, mtime with `%lo`, the
/// checksum with `%6o` (then NUL and the space left from summing), typeflag NUL, magic
/// `"ustar\0"` and version `"\0\0"`; other writers use `"00"` or GNU's `"ustar  \0"`, and
/// all are read here.
public struct UstarHeader: Sendable, Equatable {
    /// The member's path: `prefix/name` when the prefix field is set.
    public var name: String
    public var mode: UInt64
    public var size: UInt64
    /// Seconds since the epoch.
    public var modificationTime: UInt64
    /// `'0'` or NUL for a regular file; `'5'` a directory, `'2'` a symbolic link, ….
    public var typeflag: UInt8
    public var linkName: String
    public var userName: String
    public var groupName: String
    /// The file offset of this header; the member's data follows it.
    public var offset: UInt64

    public static let blockSize = 512

    /// The file offset of the member's data.
    public var dataOffset: UInt64 { offset + UInt64(Self.blockSize) }

    /// The file offset of the next header: the data rounded up to whole blocks.
    public var nextOffset: UInt64 { dataOffset + (size + 511) / 512 * 512 }

    public var isRegularFile: Bool { typeflag == 0 || typeflag == UInt8(ascii: "0") }

    /// True if `block` (at least 512 bytes) carries the ustar magic and a correct checksum.
    public static func probe(_ block: [UInt8]) -> Bool {
        guard block.count >= blockSize, hasMagic(block[...]) else { return false }
        let r = ByteReader(Array(block.prefix(blockSize)), file: "", base: 0, order: .big)
        guard let stored = try? octal(r, 148, 8, "checksum") else { return false }
        return checksums(block[0..<blockSize]).contains(stored)
    }

    static func hasMagic(_ block: ArraySlice<UInt8>) -> Bool {
        let s = block.startIndex
        return block[s + 257..<s + 262].elementsEqual("ustar".utf8) && (block[s + 262] == 0 || block[s + 262] == 0x20)
    }

    /// The sum of the header's bytes with the checksum field taken as eight spaces, unsigned
    /// (POSIX, `ustar_checksum()`) and signed (what some old tar programs wrote).
    static func checksums(_ block: ArraySlice<UInt8>) -> [UInt64] {
        var unsigned: Int64 = 0, signed: Int64 = 0
        for (i, byte) in block.enumerated() {
            let b = (148..<156).contains(i) ? 0x20 : byte
            unsigned += Int64(b)
            signed += Int64(Int8(bitPattern: b))
        }
        return [UInt64(unsigned), UInt64(truncatingIfNeeded: signed)]
    }

    /// An octal number field: optional leading spaces, octal digits, then NUL or space padding.
    static func octal(_ r: ByteReader, _ at: Int, _ width: Int, _ field: String) throws(VMCoreError) -> UInt64 {
        let raw = try r.slice(at, width, field)
        func bad(_ why: String) -> VMCoreError {
            let shown = printable(raw.prefix { $0 != 0 })
            return VMCoreError(.corrupt, file: r.file, offset: r.fileOffset(at), "corrupt tar header field \(field) (\"\(shown)\")", why)
        }
        if let first = raw.first, first & 0x80 != 0 {
            throw VMCoreError(.unsupported, file: r.file, offset: r.fileOffset(at), "tar header field \(field) is a base-256 number",
                              "only octal numbers are read (textdumps and ustar archives use them)")
        }
        var i = raw.startIndex
        while i < raw.endIndex && raw[i] == 0x20 { i += 1 }
        var value: UInt64 = 0
        var digits = 0
        while i < raw.endIndex, raw[i] >= 0x30 && raw[i] <= 0x37 {
            value = value << 3 | UInt64(raw[i] - 0x30)
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw bad("expected an octal number") }
        guard raw[i...].allSatisfy({ $0 == 0 || $0 == 0x20 }) else { throw bad("expected octal digits ended by NUL or space") }
        return value
    }

    /// Parses the header in `r` (512 bytes at file offset `r.base`).
    public init(_ r: ByteReader) throws(VMCoreError) {
        offset = r.base
        guard Self.hasMagic(try r.slice(0, Self.blockSize, "tar header")) else {
            throw VMCoreError(.badMagic, file: r.file, offset: r.fileOffset(257), "not a ustar header",
                              "the magic field holds \"\(printable(try r.slice(257, 6, "magic")))\", expected \"ustar\"")
        }
        let name = try r.cString(0, 100, "name")
        let prefix = try r.cString(345, 155, "prefix")
        self.name = prefix.isEmpty ? name : prefix + "/" + name
        let stored = try Self.octal(r, 148, 8, "checksum")
        let sums = Self.checksums(r.bytes[0..<Self.blockSize])
        guard sums.contains(stored) else {
            throw VMCoreError(.corrupt, file: r.file, offset: r.fileOffset(148), "tar header checksum mismatch for \"\(self.name)\"",
                              "the header stores \(String(stored, radix: 8)) (octal), its bytes sum to \(String(sums[0], radix: 8))")
        }
        mode = try Self.octal(r, 100, 8, "mode")
        size = try Self.octal(r, 124, 12, "size")
        modificationTime = try Self.octal(r, 136, 12, "mtime")
        typeflag = try r.u8(156, "typeflag")
        linkName = try r.cString(157, 100, "linkname")
        userName = try r.cString(265, 32, "uname")
        groupName = try r.cString(297, 32, "gname")
    }
}

/// Bytes as text, anything but printable ASCII shown as "?".
func printable(_ bytes: some Sequence<UInt8>) -> String {
    String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
}
