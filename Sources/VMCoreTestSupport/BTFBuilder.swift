import VMCore

/// Writes BTF blobs the way pahole lays them out (`include/uapi/linux/btf.h`), for tests and
/// fuzz seeds: a 24-byte header, the type records in ID order, then the string section.
/// Each `add…` returns the new type's ID.
public struct BTFBuilder {
    public var littleEndian = true
    /// The first ID this blob defines (1, or a split blob's base's end).
    public let firstID: UInt32
    /// Where this blob's string offsets start (a split blob's base's string length).
    public let stringBase: UInt32
    var types: [UInt8] = []
    var strings: [UInt8] = [0]
    var stringOffsets: [String: UInt32] = ["": 0]
    var count: UInt32 = 0

    public init() {
        firstID = 1
        stringBase = 0
    }

    /// A split blob on top of a base that ends at `baseEndID` with `baseStringLength` bytes of strings.
    public init(splitOnBaseEndingAt baseEndID: UInt32, baseStringLength: UInt32) {
        firstID = baseEndID
        stringBase = baseStringLength
        strings = []
        stringOffsets = [:]
    }

    public mutating func string(_ s: String) -> UInt32 {
        if let o = stringOffsets[s] { return o }
        let o = stringBase + UInt32(strings.count)
        strings += Array(s.utf8) + [0]
        stringOffsets[s] = o
        return o
    }

    mutating func word(_ v: UInt32) {
        let w = littleEndian ? v : v.byteSwapped
        types += [UInt8(w & 0xff), UInt8(w >> 8 & 0xff), UInt8(w >> 16 & 0xff), UInt8(w >> 24)]
    }

    /// A raw record: kind, vlen, kind_flag, the size-or-type word, then trailing words.
    @discardableResult
    public mutating func record(_ kind: UInt8, name: String = "", vlen: Int = 0, kindFlag: Bool = false, sizeOrType: UInt32, trailing: [UInt32] = []) -> UInt32 {
        word(string(name))
        word(UInt32(kind) << 24 | UInt32(vlen & 0xffff) | (kindFlag ? 1 << 31 : 0))
        word(sizeOrType)
        for t in trailing { word(t) }
        count += 1
        return firstID + count - 1
    }

    public mutating func int(_ name: String, size: UInt32, signed: Bool = false, char: Bool = false, bool: Bool = false) -> UInt32 {
        let encoding: UInt32 = (signed ? 1 : 0) | (char ? 2 : 0) | (bool ? 4 : 0)
        return record(1, name: name, sizeOrType: size, trailing: [encoding << 24 | size * 8])
    }

    public mutating func pointer(to t: UInt32) -> UInt32 { record(2, sizeOrType: t) }

    public mutating func array(of t: UInt32, count n: UInt32, index: UInt32) -> UInt32 { record(3, sizeOrType: 0, trailing: [t, index, n]) }

    /// Members as (name, type, bit offset, bitfield bits); any bitfield sets kind_flag.
    public mutating func structure(_ name: String, size: UInt32, union: Bool = false, members: [(String, UInt32, UInt32, UInt32)]) -> UInt32 {
        let flag = members.contains { $0.3 > 0 }
        var trailing: [UInt32] = []
        for m in members { trailing += [string(m.0), m.1, flag ? m.3 << 24 | m.2 : m.2] }
        return record(union ? 5 : 4, name: name, vlen: members.count, kindFlag: flag, sizeOrType: size, trailing: trailing)
    }

    public mutating func enumeration(_ name: String, size: UInt32 = 4, signed: Bool = false, values: [(String, Int64)]) -> UInt32 {
        var trailing: [UInt32] = []
        for v in values { trailing += [string(v.0), UInt32(truncatingIfNeeded: v.1)] }
        return record(6, name: name, vlen: values.count, kindFlag: signed, sizeOrType: size, trailing: trailing)
    }

    public mutating func enumeration64(_ name: String, signed: Bool = false, values: [(String, Int64)]) -> UInt32 {
        var trailing: [UInt32] = []
        for v in values {
            let u = UInt64(bitPattern: v.1)
            trailing += [string(v.0), UInt32(truncatingIfNeeded: u), UInt32(u >> 32)]
        }
        return record(19, name: name, vlen: values.count, kindFlag: signed, sizeOrType: 8, trailing: trailing)
    }

    public mutating func typedef(_ name: String, _ t: UInt32) -> UInt32 { record(8, name: name, sizeOrType: t) }
    public mutating func const(_ t: UInt32) -> UInt32 { record(10, sizeOrType: t) }
    public mutating func volatile(_ t: UInt32) -> UInt32 { record(9, sizeOrType: t) }
    public mutating func forward(_ name: String, union: Bool = false) -> UInt32 { record(7, name: name, kindFlag: union, sizeOrType: 0) }

    public mutating func functionPrototype(returning r: UInt32, parameters: [(String, UInt32)]) -> UInt32 {
        var trailing: [UInt32] = []
        for p in parameters { trailing += [string(p.0), p.1] }
        return record(13, vlen: parameters.count, sizeOrType: r, trailing: trailing)
    }

    public mutating func function(_ name: String, prototype: UInt32) -> UInt32 { record(12, name: name, vlen: 1, sizeOrType: prototype) }
    public mutating func variable(_ name: String, _ t: UInt32) -> UInt32 { record(14, name: name, sizeOrType: t, trailing: [1]) }

    public mutating func dataSection(_ name: String, size: UInt32, variables: [(UInt32, UInt32, UInt32)]) -> UInt32 {
        var trailing: [UInt32] = []
        for v in variables { trailing += [v.0, v.1, v.2] }
        return record(15, name: name, vlen: variables.count, sizeOrType: size, trailing: trailing)
    }

    public mutating func float(_ name: String, size: UInt32) -> UInt32 { record(16, name: name, sizeOrType: size) }
    public mutating func declTag(_ name: String, _ t: UInt32, component: Int32) -> UInt32 { record(17, name: name, sizeOrType: t, trailing: [UInt32(bitPattern: component)]) }
    public mutating func typeTag(_ name: String, _ t: UInt32) -> UInt32 { record(18, name: name, sizeOrType: t) }

    /// The string section's length so far (a split blob's `baseStringLength`).
    public var stringLength: UInt32 { UInt32(strings.count) }
    /// One past the last ID defined so far (a split blob's `baseEndID`).
    public var endID: UInt32 { firstID + count }

    /// The blob: header, types, strings.
    public var bytes: [UInt8] {
        var header = BTFBuilder()
        header.littleEndian = littleEndian
        header.types = []
        header.word(UInt32(0x0001_EB9F))
        header.word(24)
        header.word(0)
        header.word(UInt32(types.count))
        header.word(UInt32(types.count))
        header.word(UInt32(strings.count))
        var out = header.types
        // The magic is a u16 in the blob's order, then version 1 and flags 0.
        out[0] = littleEndian ? 0x9f : 0xeb
        out[1] = littleEndian ? 0xeb : 0x9f
        out[2] = 1
        out[3] = 0
        return out + types + strings
    }
}
