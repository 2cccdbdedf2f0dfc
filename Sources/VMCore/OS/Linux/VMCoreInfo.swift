/// The kernel's VMCOREINFO note: `KEY=VALUE` lines (`include/linux/vmcore_info.h`,
/// linux.md A4), parsed into typed values.
///
/// Bases follow the kernel's printf formats: `SYMBOL()` and `KERNELOFFSET` are hex without
/// `0x`; `SIZE()`, `OFFSET()`, `LENGTH()` and `PAGESIZE` decimal; `NUMBER()` is `%ld` (signed
/// decimal) except where an architecture prints `0x…` — parsed as makedumpfile does: decimal,
/// or hex when it has `0x` or does not parse as decimal.
public struct VMCoreInfo: Sendable, Equatable {
    /// Every line, in order, as key and value.
    public let entries: [(key: String, value: String)]
    /// The note's text as found.
    public let text: String
    /// The first value of each key.
    let firstValues: [String: String]

    public static func == (a: Self, b: Self) -> Bool { a.text == b.text }

    /// Splits the text's bytes at newlines and NULs, and each line at its first `=`; lines
    /// without one are skipped.
    public init(text: String) {
        self.text = text
        var entries: [(String, String)] = []
        var firstValues: [String: String] = [:]
        let bytes = Array(text.utf8)
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0a || bytes[i] == 0 {
            defer { start = i + 1 }
            guard i > start, let eq = bytes[start..<i].firstIndex(of: 0x3d) else { continue }
            let key = String(decoding: bytes[start..<eq], as: UTF8.self)
            let value = String(decoding: bytes[eq + 1..<i], as: UTF8.self)
            entries.append((key, value))
            if firstValues[key] == nil { firstValues[key] = value }
        }
        self.entries = entries
        self.firstValues = firstValues
    }

    /// The first value of `key` (a full key such as `SYMBOL(init_uts_ns)` or `OSRELEASE`).
    public subscript(key: String) -> String? {
        firstValues[key]
    }

    public var osRelease: String? { self["OSRELEASE"] }
    public var buildID: String? { self["BUILD-ID"] }
    /// `PAGESIZE`, when it is a page size: a power of two from 512 bytes to 1 MiB.
    public var pageSize: Int? {
        self["PAGESIZE"].flatMap { Int($0) }.flatMap { (512...(1 << 20)).contains($0) && $0 & ($0 - 1) == 0 ? $0 : nil }
    }
    /// `KERNELOFFSET`: the KASLR displacement of the kernel image (hex).
    public var kernelOffset: UInt64? { self["KERNELOFFSET"].flatMap { UInt64($0, radix: 16) } }
    /// `CRASHTIME`: seconds since the epoch when the kernel panicked.
    public var crashTime: Int64? { self["CRASHTIME"].flatMap { Int64($0) } }

    /// `SYMBOL(name)`: a runtime (already KASLR-relocated) address.
    public func symbol(_ name: String) -> UInt64? {
        self["SYMBOL(\(name))"].flatMap(Self.parseHex)
    }

    /// `NUMBER(name)`, signed.
    public func number(_ name: String) -> Int64? {
        self["NUMBER(\(name))"].flatMap(Self.parseNumber)
    }

    /// No kernel structure, member offset or array length the readers use comes near this;
    /// a larger `OFFSET`, `SIZE` or `LENGTH` is damage, and reads as absent, so arithmetic on
    /// these values can neither overflow nor ask for absurd amounts of memory.
    public static let structureLimit: UInt64 = 1 << 20

    /// `OFFSET(struct.field)`.
    public func offset(_ name: String) -> UInt64? { bounded(self["OFFSET(\(name))"]) }
    /// `SIZE(name)`.
    public func size(_ name: String) -> UInt64? { bounded(self["SIZE(\(name))"]) }
    /// `LENGTH(name)`.
    public func length(_ name: String) -> UInt64? { bounded(self["LENGTH(\(name))"]) }

    func bounded(_ text: String?) -> UInt64? {
        text.flatMap(Self.parseUnsigned).flatMap { $0 < Self.structureLimit ? $0 : nil }
    }

    /// All entries of one kind (`SYMBOL`, `NUMBER`, `OFFSET`, `SIZE`, `LENGTH`), by inner name.
    public func names(_ kind: String) -> [String] {
        entries.compactMap { e in
            guard e.key.hasPrefix(kind + "("), e.key.hasSuffix(")") else { return nil }
            return String(e.key.dropFirst(kind.count + 1).dropLast())
        }
    }

    static func parseHex(_ s: String) -> UInt64? {
        let t = s.hasPrefix("0x") || s.hasPrefix("0X") ? String(s.dropFirst(2)) : s
        return UInt64(t, radix: 16)
    }

    static func parseUnsigned(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s) ?? UInt64(s, radix: 16)
    }

    static func parseNumber(_ s: String) -> Int64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16).map { Int64(bitPattern: $0) } }
        if s.hasPrefix("-0x") { return UInt64(s.dropFirst(3), radix: 16).map { 0 &- Int64(bitPattern: $0) } }
        return Int64(s) ?? UInt64(s, radix: 16).map { Int64(bitPattern: $0) }
    }
}
