import VMCore

/// Writes kallsyms tables the way `scripts/kallsyms.c` lays them out, for tests and fuzz seeds:
/// a token table whose first tokens are multi-byte strings (the rest one byte each), a names
/// stream of length-prefixed token bytes (two-byte lengths for long names), and the addresses
/// in any of the four encodings.
public struct KallsymsBuilder {
    public var symbols: [(type: Character, name: String, address: UInt64)]
    /// Multi-byte tokens, given the byte values 1, 2, …
    public var tokens = ["sys_", "__", "init", "_st"]
    public var longNames = true

    public init(symbols: [(type: Character, name: String, address: UInt64)]) {
        self.symbols = symbols
    }

    /// `kallsyms_token_table` and `kallsyms_token_index`.
    public var tokenTables: (table: [UInt8], index: [UInt16]) {
        var table: [UInt8] = []
        var index: [UInt16] = []
        for b in 0..<256 {
            index.append(UInt16(table.count))
            // Byte 0 never occurs in a name: its token is any non-empty string, as in a kernel.
            if b >= 1, b <= tokens.count { table += Array(tokens[b - 1].utf8) } else { table.append(b == 0 ? 0x7e : UInt8(b)) }
            table.append(0)
        }
        return (table, index)
    }

    /// One symbol's token bytes: the longest token at each position.
    func encode(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < text.count {
            if let t = tokens.indices.first(where: { text[i...].starts(with: Array(tokens[$0].utf8)) }) {
                out.append(UInt8(t + 1))
                i += tokens[t].utf8.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// `kallsyms_names`.
    public var names: [UInt8] {
        var out: [UInt8] = []
        for s in symbols {
            let bytes = encode(Array(String(s.type).utf8) + Array(s.name.utf8))
            if bytes.count >= 0x80 {
                out += [UInt8(bytes.count & 0x7f) | 0x80, UInt8(bytes.count >> 7)]
            } else {
                out.append(UInt8(bytes.count))
            }
            out += bytes
        }
        return out
    }

    /// The tables with addresses in `encoding`: `base` is `kallsyms_relative_base` and
    /// `offsetsAddress` where `kallsyms_offsets` would sit.
    public func tables(_ encoding: Kallsyms.AddressEncoding, base: UInt64 = 0, offsetsAddress: UInt64 = 0) -> KallsymsTables {
        let (table, index) = tokenTables
        var t = KallsymsTables(numSyms: UInt32(symbols.count), names: names, tokenTable: table, tokenIndex: index, longNames: longNames)
        switch encoding {
        case .absolute:
            t.addresses = symbols.map(\.address)
        case .baseRelative:
            t.offsets = symbols.map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0.address &- base)) }
            t.relativeBase = base
        case .absolutePercpu:
            // Per-CPU symbols (below 2^31) as they are; the rest as −(address − base) − 1.
            t.offsets = symbols.map { $0.address < 1 << 31 ? Int32($0.address) : Int32(truncatingIfNeeded: 0 &- Int64(bitPattern: $0.address &- base) &- 1) }
            t.relativeBase = base
        case .placeRelative:
            t.offsets = symbols.enumerated().map { Int32(truncatingIfNeeded: Int64(bitPattern: $0.element.address &- (offsetsAddress &+ UInt64($0.offset * 4)))) }
            t.offsetsAddress = offsetsAddress
        }
        return t
    }

    /// The tables as a kernel before 6.4 lays them out in its read-only data, each 8-byte
    /// aligned: base-relative offsets, `kallsyms_relative_base`, `kallsyms_num_syms`, the
    /// names, the markers, the token table and index. `lead` bytes of other data come first.
    public func layout(relativeBase: UInt64, lead: Int = 64) -> (bytes: [UInt8], tokenIndexAt: Int) {
        var w = ByteWriter(order: .little)
        func align() { w.grow(to: (w.bytes.count + 7) / 8 * 8) }
        w.raw([UInt8](repeating: 0x5a, count: lead), at: 0)
        align()
        for s in symbols { w.u32(UInt32(truncatingIfNeeded: s.address &- relativeBase), at: w.bytes.count) }
        align()
        w.u64(relativeBase, at: w.bytes.count)
        w.u32(UInt32(symbols.count), at: w.bytes.count)
        align()
        let stream = names
        w.raw(stream, at: w.bytes.count)
        align()
        // A marker per 256 symbols: the offset of symbol 256k in the names stream.
        var offset = 0, i = 0
        while i < symbols.count {
            if i % 256 == 0 { w.u32(UInt32(offset), at: w.bytes.count) }
            let length = Int(stream[offset])
            offset += length >= 0x80 && longNames ? 2 + ((length & 0x7f) | Int(stream[offset + 1]) << 7) : 1 + length
            i += 1
        }
        align()
        let (table, index) = tokenTables
        w.raw(table, at: w.bytes.count)
        align()
        let indexAt = w.bytes.count
        for v in index { w.u16(v, at: w.bytes.count) }
        w.raw([UInt8](repeating: 0xa5, count: 32), at: w.bytes.count)
        return (w.bytes, indexAt)
    }
}
