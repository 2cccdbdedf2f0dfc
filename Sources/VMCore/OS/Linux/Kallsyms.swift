import Dispatch
import Synchronization

/// One symbol of the kernel's own symbol table, as `/proc/kallsyms` shows it.
public struct KernelSymbol: Sendable, Equatable {
    public var name: String
    public var address: UInt64
    /// The nm letter: `T`/`t` text, `D`/`d` data, `B`/`b` bss, `R`/`r` read-only data, `W`/`V`
    /// weak, `A` absolute; lowercase is local.
    public var type: Character
    /// The gap to the next symbol's address, when it is below 64 KiB (kallsyms stores no sizes;
    /// drgn's rule); nil for the last symbol and for larger gaps.
    public var size: UInt64?
    /// The module the symbol belongs to; nil for the kernel image.
    public var module: String?
}

/// The kernel's symbol table, decoded from the compressed tables `scripts/kallsyms.c` writes
/// into the image (linux.md A7.1, linux-analysis.md C1.1): `kallsyms_num_syms`, the `names`
/// stream of token bytes, the 256-entry `token_table`/`token_index`, and the addresses in one
/// of four encodings, chosen by which one puts `_stext` where VMCOREINFO says.
///
/// Decoding is a pure function of the table bytes (`KallsymsTables`), so it can be fuzzed
/// and tested without a dump; `LinuxKernel.kallsyms()` reads the tables from memory. The
/// names are kept as one byte array, not one string each: a kernel has 100,000 symbols and
/// most commands ask for a few.
public struct Kallsyms: Sendable {
    /// How the addresses are stored.
    public enum AddressEncoding: String, Sendable {
        /// `kallsyms_addresses[]`, native words (before 6.11, without KALLSYMS_BASE_RELATIVE).
        case absolute
        /// `kallsyms_relative_base + (u32)offset` (4.6 to 6.x).
        case baseRelative = "base-relative"
        /// x86-64 with KALLSYMS_ABSOLUTE_PERCPU (4.6 to 6.14): a non-negative offset is an
        /// absolute (per-CPU) address, a negative one `relative_base − 1 − offset`.
        case absolutePercpu = "absolute-percpu"
        /// 7.0+: `&kallsyms_offsets[i] + (s32)offset`, no relative base.
        case placeRelative = "place-relative"
    }

    public let encoding: AddressEncoding
    /// How the tables were found ("VMCOREINFO kallsyms keys").
    public let source: String
    /// Every name, one after the other; symbol i's is `nameBytes[nameStarts[i]..<nameStarts[i+1]]`.
    let nameBytes: [UInt8]
    let nameStarts: [Int32]
    let types: [UInt8]
    let addresses: [UInt64]
    /// Table indices in address order, when the table is not in address order already (a
    /// damaged one need not be).
    let order: [Int32]?
    /// Table index → position in address order (the inverse of `order`).
    let position: [Int32]?

    init(nameBytes: [UInt8], nameStarts: [Int32], types: [UInt8], addresses: [UInt64], encoding: AddressEncoding, source: String) {
        self.nameBytes = nameBytes
        self.nameStarts = nameStarts
        self.types = types
        self.addresses = addresses
        self.encoding = encoding
        self.source = source
        let order = Self.addressOrder(addresses)
        self.order = order
        position = order.map { o in
            var inverse = [Int32](repeating: 0, count: o.count)
            for (p, i) in o.enumerated() { inverse[Int(i)] = Int32(p) }
            return inverse
        }
    }

    /// Table indices in (address, index) order; nil when the table is in that order already.
    /// A kernel's table is a few sorted runs (x86-64 lists its per-CPU offsets first), so the
    /// runs are merged; anything with more than 16 runs is sorted outright.
    static func addressOrder(_ addresses: [UInt64]) -> [Int32]? {
        var runs: [Range<Int>] = []
        var start = 0
        for i in addresses.indices.dropFirst() where addresses[i] < addresses[i - 1] {
            runs.append(start..<i)
            start = i
            if runs.count > 16 { break }
        }
        if runs.isEmpty { return nil }
        guard runs.count <= 16 else {
            return addresses.indices.sorted { (addresses[$0], $0) < (addresses[$1], $1) }.map { Int32($0) }
        }
        runs.append(start..<addresses.count)
        // Merge the runs pairwise; ties keep the earlier run's (lower) index first.
        var lists = runs.map { r in r.map { Int32($0) } }
        while lists.count > 1 {
            var next: [[Int32]] = []
            for k in stride(from: 0, to: lists.count, by: 2) {
                guard k + 1 < lists.count else { next.append(lists[k]); continue }
                let a = lists[k], b = lists[k + 1]
                var out: [Int32] = []
                out.reserveCapacity(a.count + b.count)
                var i = 0, j = 0
                while i < a.count, j < b.count {
                    let x = addresses[Int(a[i])], y = addresses[Int(b[j])]
                    if (x, a[i]) <= (y, b[j]) { out.append(a[i]); i += 1 } else { out.append(b[j]); j += 1 }
                }
                out += a[i...]
                out += b[j...]
                next.append(out)
            }
            lists = next
        }
        return lists[0]
    }

    /// How many symbols the table holds.
    public var count: Int { addresses.count }

    /// Symbol `i`, in table order (the kernel's: address order, as it was built).
    public subscript(i: Int) -> KernelSymbol {
        KernelSymbol(name: name(i), address: addresses[i], type: Character(Unicode.Scalar(types[i])), size: size(i), module: nil)
    }

    /// Every symbol, in table order.
    public var symbols: [KernelSymbol] { (0..<count).map { self[$0] } }

    func name(_ i: Int) -> String { String(decoding: nameBytes[Int(nameStarts[i])..<Int(nameStarts[i + 1])], as: UTF8.self) }

    /// Position `p` in address order → table index.
    func atPosition(_ p: Int) -> Int { order.map { Int($0[p]) } ?? p }

    /// The gap from symbol `i` to the next larger address, when it is below 64 KiB
    /// (kallsyms stores no sizes; drgn's rule); nil for larger gaps and the last address.
    func size(_ i: Int) -> UInt64? {
        let a = addresses[i]
        // Where i sits in address order, then forward past the symbols at the same address.
        var p = position.map { Int($0[i]) } ?? i
        while p + 1 < count, addresses[atPosition(p + 1)] == a { p += 1 }
        guard p + 1 < count else { return nil }
        let gap = addresses[atPosition(p + 1)] - a
        return gap < 0x10000 ? gap : nil
    }

    /// The first symbol named `name` (a scan of the names; the kernel's lookup is first-found too).
    public func symbol(named name: String) -> KernelSymbol? {
        let wanted = Array(name.utf8)
        for i in 0..<count {
            let start = Int(nameStarts[i]), end = Int(nameStarts[i + 1])
            if end - start == wanted.count, nameBytes[start..<end].elementsEqual(wanted) { return self[i] }
        }
        return nil
    }

    /// The symbol `address` falls in: the first the kernel lists at the highest address at or
    /// below it, if the address lies within its size (or, when its size is unknown, within
    /// 64 KiB of it); and the offset into it.
    public func symbolize(_ address: UInt64) -> (symbol: KernelSymbol, offset: UInt64)? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if addresses[atPosition(mid)] <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var p = lo - 1
        let at = addresses[atPosition(p)]
        while p > 0, addresses[atPosition(p - 1)] == at { p -= 1 }
        let s = self[atPosition(p)]
        let offset = address - s.address
        guard offset < (s.size ?? 0x10000) else { return nil }
        return (s, offset)
    }
}

/// The raw kallsyms tables, as read from a kernel's memory.
public struct KallsymsTables: Sendable {
    public var numSyms: UInt32
    /// The names stream from its start (at least as long as `numSyms` entries need).
    public var names: [UInt8]
    /// The token table from its start, up to and including the NUL after its largest index.
    public var tokenTable: [UInt8]
    /// 256 offsets into `tokenTable`.
    public var tokenIndex: [UInt16]
    /// `kallsyms_addresses[]` (absolute), or nil when the kernel stores offsets.
    public var addresses: [UInt64]?
    /// `kallsyms_offsets[]` as signed 32-bit values.
    public var offsets: [Int32]?
    /// Where `kallsyms_offsets` sits (for place-relative offsets).
    public var offsetsAddress: UInt64?
    public var relativeBase: UInt64?
    /// Whether a length byte with bit 7 set starts a two-byte length (6.1+ "big symbols").
    public var longNames: Bool

    public init(numSyms: UInt32, names: [UInt8], tokenTable: [UInt8], tokenIndex: [UInt16], addresses: [UInt64]? = nil,
                offsets: [Int32]? = nil, offsetsAddress: UInt64? = nil, relativeBase: UInt64? = nil, longNames: Bool) {
        self.numSyms = numSyms
        self.names = names
        self.tokenTable = tokenTable
        self.tokenIndex = tokenIndex
        self.addresses = addresses
        self.offsets = offsets
        self.offsetsAddress = offsetsAddress
        self.relativeBase = relativeBase
        self.longNames = longNames
    }

    /// The most symbols a kernel has ever had is a few hundred thousand; more is damage.
    public static let maxSymbols: UInt32 = 1 << 22

    /// Where the names stream of `count` entries ends, or nil if `names` ends first.
    public static func namesLength(_ names: [UInt8], count: Int, longNames: Bool) -> Int? {
        var at = 0
        for _ in 0..<count {
            guard at < names.count else { return nil }
            var length = Int(names[at])
            at += 1
            if longNames, length & 0x80 != 0 {
                guard at < names.count, names[at] & 0x80 == 0 else { return nil }
                length = (length & 0x7f) | Int(names[at]) << 7
                at += 1
            }
            at += length
        }
        return at <= names.count ? at : nil
    }

    /// The symbols' types and names, in table order, as one byte array of names with their
    /// starts. Errors name the symbol and what was wrong.
    public func decodeNames() -> Result<(types: [UInt8], names: [UInt8], starts: [Int32]), KallsymsError> {
        guard numSyms <= Self.maxSymbols else { return .failure(KallsymsError("kallsyms_num_syms is \(numSyms), more than \(Self.maxSymbols)")) }
        guard tokenIndex.count == 256 else { return .failure(KallsymsError("kallsyms_token_index has \(tokenIndex.count) entries, not 256")) }
        // Each token's span in the token table.
        var tokens: [Range<Int>] = []
        tokens.reserveCapacity(256)
        for (t, start) in tokenIndex.enumerated() {
            let s = Int(start)
            guard s < tokenTable.count, let end = tokenTable[s...].firstIndex(of: 0) else {
                return .failure(KallsymsError("token \(t) starts at \(s), past the end of kallsyms_token_table (\(tokenTable.count) bytes)"))
            }
            tokens.append(s..<end)
        }
        let count = Int(numSyms)
        // Where each half's entries start: one pass over the lengths alone, then both halves
        // decoded at once (a kernel has 40,000 to 150,000 names).
        let half = count / 2
        var at = 0
        for i in 0..<half {
            guard let (length, next) = entry(at, i) else { break }
            at = next + length
        }
        let parts = count >= 4096 ? [(0..<half, 0), (half..<count, at)] : [(0..<count, 0)]
        let spans = tokens
        let results = Mutex<[Result<(types: [UInt8], names: [UInt8], starts: [Int32]), KallsymsError>?]>(Array(repeating: nil, count: parts.count))
        DispatchQueue.concurrentPerform(iterations: parts.count) { p in
            let r = decodeNames(parts[p].0, from: parts[p].1, tokens: spans)
            results.withLock { $0[p] = r }
        }
        var types: [UInt8] = [], arena: [UInt8] = [], starts: [Int32] = [0]
        types.reserveCapacity(count)
        starts.reserveCapacity(count + 1)
        for r in results.withLock({ $0 }) {
            switch r! {
            case .failure(let e): return .failure(e)
            case .success(let part):
                let base = Int32(arena.count)
                guard Int(base) + part.names.count < Int(Int32.max) else { return .failure(KallsymsError("kallsyms names decode to more than 2 GiB")) }
                types += part.types
                arena += part.names
                starts += part.starts.dropFirst().map { $0 + base }
            }
        }
        return .success((types, arena, starts))
    }

    /// Entry `i`'s token count and where its tokens start, for the entry at byte `at` of the
    /// names stream; nil when the stream ends or the length is bad.
    func entry(_ at: Int, _ i: Int) -> (length: Int, start: Int)? {
        guard at < names.count else { return nil }
        var length = Int(names[at])
        var next = at + 1
        if longNames, length & 0x80 != 0 {
            guard next < names.count, names[next] & 0x80 == 0 else { return nil }
            length = (length & 0x7f) | Int(names[next]) << 7
            next += 1
        }
        return (length, next)
    }

    /// Entries `symbols` of the names stream, the first at byte `from`.
    func decodeNames(_ symbols: Range<Int>, from: Int, tokens: [Range<Int>]) -> Result<(types: [UInt8], names: [UInt8], starts: [Int32]), KallsymsError> {
        var types: [UInt8] = []
        var arena: [UInt8] = []
        var starts: [Int32] = [0]
        types.reserveCapacity(symbols.count)
        starts.reserveCapacity(symbols.count + 1)
        arena.reserveCapacity(symbols.count * 24)
        var at = from
        for i in symbols {
            guard at < names.count else { return .failure(KallsymsError("kallsyms_names ends at symbol \(i) of \(numSyms)")) }
            guard let (length, next) = entry(at, i) else {
                return .failure(KallsymsError("symbol \(i): a length of more than two bytes in kallsyms_names"))
            }
            at = next
            guard length > 0, at + length <= names.count else {
                return .failure(KallsymsError("symbol \(i): \(length) token bytes at offset \(at) of kallsyms_names (\(names.count) bytes)"))
            }
            // The first character is the type; the name follows it.
            var needType = true
            for b in names[at..<at + length] {
                for j in tokens[Int(b)] {
                    if needType {
                        types.append(tokenTable[j])
                        needType = false
                    } else {
                        arena.append(tokenTable[j])
                    }
                }
            }
            at += length
            guard !needType, arena.count < Int(Int32.max) else { return .failure(KallsymsError("symbol \(i) decodes to nothing")) }
            starts.append(Int32(arena.count))
        }
        return .success((types, arena, starts))
    }

    /// The encodings these tables can be in: absolute with `kallsyms_addresses`; with
    /// offsets, the two relative to `kallsyms_relative_base` when there is one, and
    /// place-relative when the offsets' own address is known.
    var encodings: [Kallsyms.AddressEncoding] {
        if addresses != nil { return [.absolute] }
        guard offsets != nil else { return [] }
        return (relativeBase != nil ? [.baseRelative, .absolutePercpu] : []) + (offsetsAddress != nil ? [.placeRelative] : [])
    }

    /// The address of symbol `i` in each encoding the tables allow.
    func candidates(_ i: Int) -> [(Kallsyms.AddressEncoding, UInt64)] {
        guard i < addresses?.count ?? offsets?.count ?? 0 else { return [] }
        return encodings.map { ($0, address(i, $0)) }
    }

    /// The symbol table, its address encoding chosen by where it puts `_stext` (`stext`, from
    /// VMCOREINFO).
    public func decode(stext: UInt64, source: String) -> Result<Kallsyms, KallsymsError> {
        let decoded: (types: [UInt8], names: [UInt8], starts: [Int32])
        switch decodeNames() {
        case .success(let d): decoded = d
        case .failure(let e): return .failure(e)
        }
        let count = decoded.types.count
        guard (addresses?.count ?? offsets?.count ?? 0) >= count else {
            return .failure(KallsymsError("\(count) symbols but \(addresses?.count ?? offsets?.count ?? 0) addresses"))
        }
        let stextName = Array("_stext".utf8)
        guard let s = (0..<count).first(where: { decoded.names[Int(decoded.starts[$0])..<Int(decoded.starts[$0 + 1])].elementsEqual(stextName) }) else {
            return .failure(KallsymsError("no _stext among the \(count) symbols: cannot tell how the addresses are stored"))
        }
        guard let encoding = candidates(s).first(where: { $0.1 == stext })?.0 else {
            return .failure(KallsymsError("no address encoding puts _stext at \(hex(stext)) (VMCOREINFO)",
                                          "tried " + candidates(s).map { "\($0.0.rawValue) \(hex($0.1))" }.joined(separator: ", ")))
        }
        var resolved: [UInt64] = []
        resolved.reserveCapacity(count)
        for i in 0..<count { resolved.append(address(i, encoding)) }  // `encoding` is one of `encodings`
        return .success(Kallsyms(nameBytes: decoded.names, nameStarts: decoded.starts, types: decoded.types, addresses: resolved,
                                 encoding: encoding, source: source))
    }

    /// Symbol `i`'s address in `encoding`, one of `encodings`.
    func address(_ i: Int, _ encoding: Kallsyms.AddressEncoding) -> UInt64 {
        switch encoding {
        case .absolute: return addresses![i]
        case .baseRelative: return (relativeBase ?? 0) &+ UInt64(UInt32(bitPattern: offsets![i]))
        case .absolutePercpu:
            let off = offsets![i]
            return off >= 0 ? UInt64(off) : (relativeBase ?? 0) &- 1 &- UInt64(bitPattern: Int64(off))
        case .placeRelative: return (offsetsAddress ?? 0) &+ UInt64(i * 4) &+ UInt64(bitPattern: Int64(offsets![i]))
        }
    }
}

/// Why kallsyms tables do not decode.
public struct KallsymsError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var detail: String?
    public init(_ message: String, _ detail: String? = nil) {
        self.message = message
        self.detail = detail
    }
    public var description: String { detail.map { "\(message): \($0)" } ?? message }
}
