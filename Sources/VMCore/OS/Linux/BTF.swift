import Synchronization

/// What is wrong with a BTF blob, and where in it.
public struct BTFError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The kernel's own type information: BPF Type Format, as `pahole` writes it into the image's
/// `.BTF` section (`include/uapi/linux/btf.h`; linux.md A7.2, linux-analysis.md C1.2).
///
/// Mirrors `struct btf_header` and the `struct btf_type` records after it: a 12-byte record
/// per type, in type-ID order from 1 (0 is `void`), each followed by its kind's trailing data,
/// then the string section. A module's split BTF continues its base's type IDs and string
/// offsets. The byte order is the blob's own, told by the magic.
///
/// Parsing checks that every record and its trailing data fit and keeps one offset per type;
/// records are decoded when asked for (`type(_:)`), so loading a 5 MiB vmlinux BTF costs one
/// pass. References between types are not trusted: every lookup that follows them stops at
/// an ID out of range and after `maxDepth` steps.
public final class BTF: Sendable {
    /// `BTF_KIND_*`.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case void = 0, int, pointer, array, `struct`, union, `enum`, forward, typedef, volatile, const, restrict
        case function, functionPrototype, variable, dataSection, float, declTag, typeTag, enum64

        /// As `bpftool btf dump` names it.
        public var name: String {
            switch self {
            case .void: "VOID"
            case .int: "INT"
            case .pointer: "PTR"
            case .array: "ARRAY"
            case .struct: "STRUCT"
            case .union: "UNION"
            case .enum: "ENUM"
            case .forward: "FWD"
            case .typedef: "TYPEDEF"
            case .volatile: "VOLATILE"
            case .const: "CONST"
            case .restrict: "RESTRICT"
            case .function: "FUNC"
            case .functionPrototype: "FUNC_PROTO"
            case .variable: "VAR"
            case .dataSection: "DATASEC"
            case .float: "FLOAT"
            case .declTag: "DECL_TAG"
            case .typeTag: "TYPE_TAG"
            case .enum64: "ENUM64"
            }
        }

        /// Bytes of trailing data after the record, for `vlen` entries.
        func trailing(vlen: Int) -> Int {
            switch self {
            case .int, .variable, .declTag: 4
            case .array: 12
            case .struct, .union, .dataSection, .enum64: 12 * vlen
            case .enum, .functionPrototype: 8 * vlen
            default: 0
            }
        }

        /// Kinds whose third word is a size (the others' is a type ID).
        var hasSize: Bool {
            switch self {
            case .int, .struct, .union, .enum, .dataSection, .float, .enum64: true
            default: false
            }
        }
    }

    /// Mirrors `struct btf_header`.
    public struct Header: Sendable {
        public var magic: UInt16
        public var version: UInt8
        public var flags: UInt8
        public var headerLength: UInt32
        /// From the end of the header.
        public var typeOffset: UInt32
        public var typeLength: UInt32
        public var stringOffset: UInt32
        public var stringLength: UInt32
    }

    public static let magic: UInt16 = 0xEB9F
    /// Typedef and qualifier chains, nested types and member paths are followed this deep.
    public static let maxDepth = 64

    /// How many steps a walk over nested types may take in all: a hostile blob's types can
    /// nest each other many times over, and depth alone would let that grow exponentially.
    final class Budget {
        var left: Int
        init(_ steps: Int) { left = steps }
        /// Takes one step; false once none are left.
        func take() -> Bool {
            guard left > 0 else { return false }
            left -= 1
            return true
        }
    }

    public let header: Header
    public let littleEndian: Bool
    /// The type IDs this blob defines: `firstID..<firstID + count`.
    public let firstID: UInt32
    /// The base a module's split BTF continues; nil for vmlinux.
    public let base: BTF?
    /// Bytes of a pointer, for sizes (BTF states none).
    public let pointerSize: Int
    /// Where the blob was read from (a kernel virtual address), 0 when not from memory.
    public let location: UInt64
    /// The blob's length.
    public var bytesCount: Int { bytes.count }
    let bytes: [UInt8]
    let typesStart: Int
    let stringsStart: Int
    let stringsEnd: Int
    /// The first string offset this blob's string section holds (its base's length).
    let stringBase: UInt32
    /// Byte offset of each local type's record.
    let offsets: [UInt32]
    let index = Mutex<NameIndex?>(nil)

    /// Names to type IDs and enumerators, as open-addressing tables of hashes of the name
    /// bytes: built in one pass over the records without making a string per name (a
    /// vmlinux BTF names about 100,000 types).
    struct NameIndex {
        /// Type IDs (0: empty slot), at the hash of their name.
        var types: [UInt32] = []
        /// Enumerators as `enum type ID << 16 | index` plus one (0: empty slot).
        var enumerators: [UInt64] = []
    }

    /// The number of types this blob defines (its own, not its base's).
    public var count: Int { offsets.count }
    /// One past the largest type ID this blob and its bases define.
    public var endID: UInt32 { firstID + UInt32(offsets.count) }

    /// Parses a BTF blob: vmlinux's (`base` nil) or a module's split BTF on top of `base`.
    public init(_ bytes: [UInt8], base: BTF? = nil, pointerSize: Int = 8, location: UInt64 = 0) throws(BTFError) {
        guard bytes.count >= 24 else { throw BTFError("\(bytes.count) bytes, shorter than the 24-byte btf_header") }
        let little: Bool
        if bytes[0] == 0x9F, bytes[1] == 0xEB {
            little = true
        } else if bytes[0] == 0xEB, bytes[1] == 0x9F {
            little = false
        } else {
            throw BTFError("magic is \(hex(UInt64(bytes[0]) | UInt64(bytes[1]) << 8)), not 0xeb9f")
        }
        func u32(_ at: Int) -> UInt32 { Self.load32(bytes, at, little) }
        let h = Header(magic: Self.magic, version: bytes[2], flags: bytes[3], headerLength: u32(4), typeOffset: u32(8),
                       typeLength: u32(12), stringOffset: u32(16), stringLength: u32(20))
        guard h.version == 1 else { throw BTFError("version is \(h.version), not 1") }
        guard h.headerLength >= 24, Int(h.headerLength) <= bytes.count else {
            throw BTFError("hdr_len is \(h.headerLength), outside 24...\(bytes.count)")
        }
        let start = Int(h.headerLength)
        let typesStart = start + Int(h.typeOffset), typesEnd = typesStart + Int(h.typeLength)
        let stringsStart = start + Int(h.stringOffset), stringsEnd = stringsStart + Int(h.stringLength)
        guard typesEnd <= bytes.count else {
            throw BTFError("the type section (type_off \(hex(UInt64(h.typeOffset))), type_len \(hex(UInt64(h.typeLength)))) ends past the blob's \(bytes.count) bytes")
        }
        guard stringsEnd <= bytes.count else {
            throw BTFError("the string section (str_off \(hex(UInt64(h.stringOffset))), str_len \(hex(UInt64(h.stringLength)))) ends past the blob's \(bytes.count) bytes")
        }
        if base == nil, h.stringLength > 0, bytes[stringsStart] != 0 { throw BTFError("the string section does not begin with the empty string") }
        if let base, base.littleEndian != little { throw BTFError("byte order differs from its base's") }

        var offsets: [UInt32] = []
        offsets.reserveCapacity(Int(h.typeLength) / 16)
        var at = typesStart
        let firstID = base?.endID ?? 1
        while at < typesEnd {
            let id = firstID + UInt32(offsets.count)
            guard at + 12 <= typesEnd else { throw BTFError("type \(id) at offset \(hex(UInt64(at))): a 12-byte record does not fit before the section's end") }
            let info = u32(at + 4)
            let rawKind = UInt8((info >> 24) & 0x1f)
            guard let kind = Kind(rawValue: rawKind) else { throw BTFError("type \(id) at offset \(hex(UInt64(at))): unknown kind \(rawKind)") }
            let end = at + 12 + kind.trailing(vlen: Int(info & 0xffff))
            guard end <= typesEnd else {
                throw BTFError("type \(id) at offset \(hex(UInt64(at))): \(kind.name) with \(info & 0xffff) entries runs past the type section's end")
            }
            offsets.append(UInt32(at))
            at = end
        }
        guard UInt64(firstID) + UInt64(offsets.count) < UInt64(UInt32.max) else { throw BTFError("more types than 32-bit IDs hold") }
        header = h
        littleEndian = little
        self.firstID = firstID
        self.base = base
        self.pointerSize = pointerSize
        self.location = location
        self.bytes = bytes
        self.typesStart = typesStart
        self.stringsStart = stringsStart
        self.stringsEnd = stringsEnd
        stringBase = base.map { $0.stringBase + $0.header.stringLength } ?? 0
        self.offsets = offsets
    }

    static func load32(_ b: [UInt8], _ at: Int, _ little: Bool) -> UInt32 {
        let v = UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
        return little ? v : v.byteSwapped
    }

    func u32(_ at: Int) -> UInt32 { Self.load32(bytes, at, littleEndian) }

    // MARK: Strings and records

    /// The string at `offset` of the (base and split) string sections; "" when out of range.
    public func string(_ offset: UInt32) -> String {
        if offset < stringBase { return base?.string(offset) ?? "" }
        let start = stringsStart + Int(offset - stringBase)
        guard start < stringsEnd else { return "" }
        var end = start
        while end < stringsEnd, bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The BTF that defines `id`, and its record's offset there.
    func record(_ id: UInt32) -> (BTF, Int)? {
        if id >= firstID {
            let local = Int(id - firstID)
            return local < offsets.count ? (self, Int(offsets[local])) : nil
        }
        return base?.record(id)
    }

    /// Type `id` decoded; `void` for 0, nil for an ID no blob defines.
    public func type(_ id: UInt32) -> BTFType? {
        if id == 0 { return BTFType(id: 0, kind: .void, name: "void", kindFlag: false, vlen: 0, sizeOrType: 0, detail: .none) }
        guard let (owner, at) = record(id) else { return nil }
        return owner.decode(id, at)
    }

    func decode(_ id: UInt32, _ at: Int) -> BTFType {
        let info = u32(at + 4)
        let kind = Kind(rawValue: UInt8((info >> 24) & 0x1f))!
        let vlen = Int(info & 0xffff)
        let kindFlag = info >> 31 != 0
        let t = at + 12
        let detail: BTFType.Detail
        switch kind {
        case .int:
            let v = u32(t)
            detail = .integer(encoding: UInt8((v >> 24) & 0xf), bitOffset: UInt8((v >> 16) & 0xff), bits: UInt8(v & 0xff))
        case .array:
            detail = .array(element: u32(t), index: u32(t + 4), count: u32(t + 8))
        case .struct, .union:
            detail = .members((0..<vlen).map { i in
                let m = t + 12 * i
                let raw = u32(m + 8)
                return BTFMember(name: string(u32(m)), type: u32(m + 4),
                                 bitOffset: kindFlag ? raw & 0xffffff : raw, bitfieldSize: kindFlag ? raw >> 24 : 0)
            })
        case .enum:
            let signed = kindFlag
            detail = .enumerators((0..<vlen).map { i in
                let raw = u32(t + 8 * i + 4)
                return BTFEnumerator(name: string(u32(t + 8 * i)), value: signed ? Int64(Int32(bitPattern: raw)) : Int64(raw))
            })
        case .enum64:
            detail = .enumerators((0..<vlen).map { i in
                let v = UInt64(u32(t + 12 * i + 4)) | UInt64(u32(t + 12 * i + 8)) << 32
                return BTFEnumerator(name: string(u32(t + 12 * i)), value: Int64(bitPattern: v))
            })
        case .functionPrototype:
            detail = .parameters((0..<vlen).map { i in BTFParameter(name: string(u32(t + 8 * i)), type: u32(t + 8 * i + 4)) })
        case .variable:
            detail = .variable(linkage: u32(t))
        case .dataSection:
            detail = .sectionVariables((0..<vlen).map { i in
                BTFSectionVariable(type: u32(t + 12 * i), offset: u32(t + 12 * i + 4), size: u32(t + 12 * i + 8))
            })
        case .declTag:
            detail = .declTag(componentIndex: Int32(bitPattern: u32(t)))
        default:
            detail = .none
        }
        return BTFType(id: id, kind: kind, name: string(u32(at)), kindFlag: kindFlag, vlen: vlen, sizeOrType: u32(at + 8), detail: detail)
    }

    /// Kind and referenced type (or size) of `id`, without decoding its trailing data.
    func peek(_ id: UInt32) -> (kind: Kind, sizeOrType: UInt32)? {
        if id == 0 { return (.void, 0) }
        guard let (owner, at) = record(id) else { return nil }
        return (Kind(rawValue: UInt8((owner.u32(at + 4) >> 24) & 0x1f))!, owner.u32(at + 8))
    }

    // MARK: Names

    /// Where name `offset` lies: the blob whose string section holds it, and its bytes there.
    func nameBytes(_ offset: UInt32) -> (BTF, Range<Int>)? {
        if offset < stringBase { return base?.nameBytes(offset) }
        let start = stringsStart + Int(offset - stringBase)
        guard start < stringsEnd else { return nil }
        var end = start
        while end < stringsEnd, bytes[end] != 0 { end += 1 }
        return (self, start..<end)
    }

    /// FNV-1a of a name's bytes.
    static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// True when name `offset` is `wanted`.
    func name(_ offset: UInt32, equals wanted: [UInt8]) -> Bool {
        guard let (owner, range) = nameBytes(offset) else { return wanted.isEmpty }
        return range.count == wanted.count && owner.bytes[range].elementsEqual(wanted)
    }

    static func insert(_ value: UInt64, hash: UInt64, into table: inout [UInt64]) {
        var slot = Int(truncatingIfNeeded: hash) & (table.count - 1)
        while table[slot] != 0 { slot = (slot + 1) & (table.count - 1) }
        table[slot] = value
    }

    func nameIndex() -> NameIndex {
        if let done = index.withLock({ $0 }) { return done }
        var named = 0, enumerators = 0
        for at in offsets {
            if u32(Int(at)) != 0 { named += 1 }
            let kind = (u32(Int(at) + 4) >> 24) & 0x1f
            if kind == Kind.enum.rawValue || kind == Kind.enum64.rawValue { enumerators += Int(u32(Int(at) + 4) & 0xffff) }
        }
        func capacity(_ n: Int) -> Int { var c = 16; while c < 2 * n { c <<= 1 }; return c }
        var types = [UInt64](repeating: 0, count: capacity(named))
        var enums = [UInt64](repeating: 0, count: capacity(enumerators))
        for (i, at) in offsets.enumerated() {
            let name = u32(Int(at))
            let id = firstID + UInt32(i)
            let info = u32(Int(at) + 4)
            if name != 0, let (owner, range) = nameBytes(name) { Self.insert(UInt64(id), hash: Self.hash(owner.bytes[range]), into: &types) }
            let kind = UInt8((info >> 24) & 0x1f)
            if kind == Kind.enum.rawValue || kind == Kind.enum64.rawValue {
                let step = kind == Kind.enum.rawValue ? 8 : 12
                for e in 0..<Int(info & 0xffff) {
                    guard let (owner, range) = nameBytes(u32(Int(at) + 12 + step * e)) else { continue }
                    Self.insert(UInt64(id) << 16 | UInt64(e) + 1, hash: Self.hash(owner.bytes[range]), into: &enums)
                }
            }
        }
        // IDs fit 32 bits: keep the type table at half the size.
        let built = NameIndex(types: types.map { UInt32(truncatingIfNeeded: $0) }, enumerators: enums)
        index.withLock { $0 = built }
        return built
    }

    /// Every type named `name`, of any kind, this blob's first (in ID order) and then its base's.
    public func types(named name: String) -> [UInt32] {
        let wanted = Array(name.utf8)
        let table = nameIndex().types
        var slot = Int(truncatingIfNeeded: Self.hash(wanted)) & (table.count - 1)
        var found: [UInt32] = []
        while table[slot] != 0 {
            let id = table[slot]
            if let (_, at) = record(id), self.name(u32(at), equals: wanted) { found.append(id) }
            slot = (slot + 1) & (table.count - 1)
        }
        return found.sorted() + (base?.types(named: name) ?? [])
    }

    /// The type a C type name names: `struct task_struct`, `union thread_union`, `enum
    /// pid_type`, a typedef or base type (`pid_t`, `unsigned int`), or a bare struct, union or
    /// enum name as crash's `struct` takes it, or a function's name; with trailing `*` for a pointer to it (as an ID
    /// of the pointer type when the blob has one). A full definition wins over a forward one.
    public func lookup(_ spec: String) -> UInt32? {
        var text = spec.trimmingSpaces
        var stars = 0
        while text.hasSuffix("*") { stars += 1; text = String(text.dropLast()).trimmingSpaces }
        let kinds: [Kind]
        let words = text.split(separator: " ", maxSplits: 1).map(String.init)
        switch words.first {
        case "struct" where words.count == 2: kinds = [.struct, .forward]; text = words[1]
        case "union" where words.count == 2: kinds = [.union, .forward]; text = words[1]
        case "enum" where words.count == 2: kinds = [.enum, .enum64, .forward]; text = words[1]
        default:
            kinds = [.struct, .union, .typedef, .int, .float, .enum, .enum64, .forward, .function]
            if let plain = Self.gccIntegerNames[text] { text = plain }
        }
        let candidates = types(named: text).compactMap { id in peek(id).map { (id, $0.kind) } }
        guard var id = kinds.lazy.compactMap({ k in candidates.first { $0.1 == k }?.0 }).first else { return nil }
        for _ in 0..<stars {
            guard let p = pointer(to: id) else { return nil }
            id = p
        }
        return id
    }

    /// A pointer type to `id`, if the blob has one.
    func pointer(to id: UInt32) -> UInt32? {
        var own = offsets.indices.lazy.first { i in
            let at = Int(self.offsets[i])
            return (self.u32(at + 4) >> 24) & 0x1f == Kind.pointer.rawValue && self.u32(at + 8) == id
        }.map { firstID + UInt32($0) }
        if own == nil { own = base?.pointer(to: id) }
        return own
    }

    /// gdb's names of the C integer types → the DWARF names pahole keeps in BTF.
    static let gccIntegerNames = [
        "unsigned long": "long unsigned int", "long": "long int", "unsigned long long": "long long unsigned int",
        "long long": "long long int", "unsigned short": "short unsigned int", "short": "short int", "unsigned": "unsigned int",
    ]

    /// The enumerator `name` of any enum: its value and its enum's ID.
    public func enumerator(_ name: String) -> (value: Int64, type: UInt32)? {
        let wanted = Array(name.utf8)
        let table = nameIndex().enumerators
        var slot = Int(truncatingIfNeeded: Self.hash(wanted)) & (table.count - 1)
        while table[slot] != 0 {
            let id = UInt32(truncatingIfNeeded: (table[slot] - 1) >> 16), i = Int((table[slot] - 1) & 0xffff)
            if case .enumerators(let all)? = type(id)?.detail, i < all.count, all[i].name == name { return (all[i].value, id) }
            slot = (slot + 1) & (table.count - 1)
        }
        return base?.enumerator(name)
    }

    /// A per-CPU variable's type and offset in its data section (`.data..percpu`), the only
    /// variables vmlinux BTF describes (linux-analysis.md C1.2).
    public func variable(_ name: String) -> (type: UInt32, section: String, offset: UInt32)? {
        for id in types(named: name) {
            guard let v = type(id), v.kind == .variable else { continue }
            for (i, at) in offsets.enumerated() where (u32(Int(at) + 4) >> 24) & 0x1f == Kind.dataSection.rawValue {
                let sid = firstID + UInt32(i)
                guard let sec = type(sid), case .sectionVariables(let vars) = sec.detail else { continue }
                if let hit = vars.first(where: { $0.type == id }) { return (v.sizeOrType, sec.name, hit.offset) }
            }
        }
        return base?.variable(name)
    }

    // MARK: Following references

    /// `id` with typedefs, qualifiers and type tags stripped (nil on a loop or a bad ID).
    public func resolved(_ id: UInt32) -> UInt32? {
        var id = id
        for _ in 0..<Self.maxDepth {
            guard let p = peek(id) else { return nil }
            switch p.kind {
            case .typedef, .volatile, .const, .restrict, .typeTag: id = p.sizeOrType
            default: return id
            }
        }
        return nil
    }

    /// Bytes an object of type `id` takes (nil for void, functions and bad references).
    public func size(of id: UInt32) -> UInt64? { size(of: id, depth: 0) }

    func size(of id: UInt32, depth: Int) -> UInt64? {
        guard depth < Self.maxDepth, let r = resolved(id), let p = peek(r) else { return nil }
        switch p.kind {
        case .int, .struct, .union, .enum, .enum64, .float, .dataSection: return UInt64(p.sizeOrType)
        case .pointer: return UInt64(pointerSize)
        case .array:
            guard case .array(let element, _, let count)? = type(r)?.detail, let e = size(of: element, depth: depth + 1) else { return nil }
            return Checked.product(e, UInt64(count))
        default: return nil
        }
    }

    /// Where the member at `path` lies in type `id`: `"thread.sp"`, `"se.vruntime"`,
    /// `"comm[3]"`, `"pids[1].pid"`. Members of anonymous structs and unions are found by their
    /// own names, as C finds them.
    public func member(_ path: String, in id: UInt32) -> Result<BTFMemberLocation, BTFError> {
        var location = BTFMemberLocation(bitOffset: 0, type: id, bitfieldSize: 0)
        var done = ""
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var indices: [UInt64] = []
            while name.hasSuffix("]"), let open = name.lastIndex(of: "[") {
                guard let i = parseAddress(String(name[name.index(after: open)..<name.index(before: name.endIndex)])) else {
                    return .failure(BTFError("'\(part)' in '\(path)' has a bad index"))
                }
                indices.insert(i, at: 0)
                name = name[..<open]
            }
            let here = done.isEmpty ? describe(id) : "\(describe(id)).\(done)"
            guard !name.isEmpty else { return .failure(BTFError("'\(path)' has an empty member name after \(here)")) }
            guard let r = resolved(location.type), let t = type(r), t.kind == .struct || t.kind == .union else {
                return .failure(BTFError("\(here) is \(describe(location.type)), not a struct or union, so it has no member '\(name)'"))
            }
            guard let (bits, m) = find(String(name), in: r, depth: 0, budget: Budget(1 << 14)) else {
                return .failure(BTFError("\(describe(r)) has no member '\(name)'"))
            }
            location = BTFMemberLocation(bitOffset: location.bitOffset &+ bits, type: m.type, bitfieldSize: m.bitfieldSize)
            for i in indices {
                guard let a = resolved(location.type), case .array(let element, _, let count)? = type(a)?.detail else {
                    return .failure(BTFError("\(name) is \(describe(location.type)), not an array"))
                }
                guard i < UInt64(count) || count == 0, let e = size(of: element), let off = Checked.product(e, i).flatMap({ Checked.product($0, 8) }),
                      let total = Checked.sum(location.bitOffset, off) else {
                    return .failure(BTFError("index \(i) is out of \(name)'s \(count) elements"))
                }
                location = BTFMemberLocation(bitOffset: total, type: element, bitfieldSize: 0)
            }
            done += (done.isEmpty ? "" : ".") + part
        }
        return .success(location)
    }

    /// Member `name` of struct or union `id`, looking inside anonymous members, with its bit
    /// offset from the start of `id`.
    func find(_ name: String, in id: UInt32, depth: Int, budget: Budget) -> (UInt64, BTFMember)? {
        guard depth < Self.maxDepth, budget.take(), case .members(let members)? = type(id)?.detail else { return nil }
        if let m = members.first(where: { $0.name == name }) { return (UInt64(m.bitOffset), m) }
        for m in members where m.name.isEmpty {
            guard let inner = resolved(m.type), let (bits, hit) = find(name, in: inner, depth: depth + 1, budget: budget) else { continue }
            return (UInt64(m.bitOffset) &+ bits, hit)
        }
        return nil
    }

    // MARK: C declarations

    /// How C spells type `id`: `struct list_head *`, `char [16]`, `unsigned long`.
    public func describe(_ id: UInt32) -> String { declaration(id, "") }

    /// A C declaration of `name` with type `id`: `struct list_head *next`, `char comm[16]`,
    /// `void (*func)(struct callback_head *)`. Integer names are gdb's (`unsigned long`, not
    /// DWARF's `long unsigned int`).
    public func declaration(_ id: UInt32, _ name: String) -> String { declaration(id, name, depth: 0, budget: Budget(1 << 12)) }

    func declaration(_ id: UInt32, _ inner: String, depth: Int, budget: Budget) -> String {
        func join(_ base: String, _ inner: String) -> String { inner.isEmpty ? base : "\(base) \(inner)" }
        guard depth < Self.maxDepth, budget.take() else { return join("…", inner) }
        guard let t = type(id) else { return join("<bad type \(id)>", inner) }
        switch t.kind {
        case .void: return join("void", inner)
        case .int, .float, .typedef: return join(Self.gdbName(t.name), inner)
        case .struct, .union, .enum, .enum64, .forward:
            let keyword = t.kind == .union || (t.kind == .forward && t.kindFlag) ? "union" : t.kind == .struct || t.kind == .forward ? "struct" : "enum"
            return join("\(keyword) \(t.name.isEmpty ? "{...}" : t.name)", inner)
        case .pointer:
            return declaration(t.sizeOrType, "*" + inner, depth: depth + 1, budget: budget)
        case .const, .volatile, .restrict:
            let word = t.kind == .const ? "const" : t.kind == .volatile ? "volatile" : "restrict"
            if peek(t.sizeOrType)?.kind == .pointer { return declaration(t.sizeOrType, join(word, inner), depth: depth + 1, budget: budget) }
            return word + " " + declaration(t.sizeOrType, inner, depth: depth + 1, budget: budget)
        case .typeTag, .declTag:
            return declaration(t.sizeOrType, inner, depth: depth + 1, budget: budget)
        case .array:
            guard case .array(let element, _, let count) = t.detail else { return inner }
            let wrapped = inner.hasPrefix("*") ? "(\(inner))" : inner
            // BTF writes a flexible array member (`[]`) and a zero-length one (`[0]`) alike.
            return declaration(element, "\(wrapped)[\(count == 0 ? "" : String(count))]", depth: depth + 1, budget: budget)
        case .functionPrototype, .function:
            let proto = t.kind == .function ? type(t.sizeOrType) : t
            var params = "void"
            if let proto, case .parameters(let ps) = proto.detail, !ps.isEmpty {
                params = ps.map { $0.type == 0 ? "..." : declaration($0.type, "", depth: depth + 1, budget: budget) }.joined(separator: ", ")
            }
            let head = t.kind == .function ? t.name : inner.hasPrefix("*") ? "(\(inner))" : inner
            return declaration(proto?.sizeOrType ?? 0, "\(head)(\(params))", depth: depth + 1, budget: budget)
        case .variable:
            return declaration(t.sizeOrType, t.name, depth: depth + 1, budget: budget)
        case .dataSection:
            return join("section \(t.name)", inner)
        }
    }

    /// DWARF's integer names as gdb prints them.
    static func gdbName(_ name: String) -> String {
        switch name {
        case "long unsigned int": "unsigned long"
        case "long int": "long"
        case "long long unsigned int": "unsigned long long"
        case "long long int": "long long"
        case "short unsigned int": "unsigned short"
        case "short int": "short"
        default: name
        }
    }
}

/// One type of a BTF blob, decoded.
public struct BTFType: Sendable {
    public enum Detail: Sendable {
        case none
        /// `BTF_INT_*` encoding bits (SIGNED 1, CHAR 2, BOOL 4), and the value's bits.
        case integer(encoding: UInt8, bitOffset: UInt8, bits: UInt8)
        case array(element: UInt32, index: UInt32, count: UInt32)
        case members([BTFMember])
        case enumerators([BTFEnumerator])
        case parameters([BTFParameter])
        case variable(linkage: UInt32)
        case sectionVariables([BTFSectionVariable])
        case declTag(componentIndex: Int32)
    }

    public let id: UInt32
    public let kind: BTF.Kind
    /// "" for an anonymous type.
    public let name: String
    /// A struct's bitfield encoding, a FWD's union-ness, an enum's signedness.
    public let kindFlag: Bool
    public let vlen: Int
    /// The size (int, struct, union, enum, datasec, float) or the referenced type's ID.
    public let sizeOrType: UInt32
    public let detail: Detail

    /// The members of a struct or union.
    public var members: [BTFMember] {
        if case .members(let m) = detail { return m }
        return []
    }
}

/// Mirrors `struct btf_member`, its offset split as `kind_flag` says.
public struct BTFMember: Sendable, Equatable {
    public var name: String
    public var type: UInt32
    public var bitOffset: UInt32
    /// Bits of a bitfield; 0 for an ordinary member.
    public var bitfieldSize: UInt32
}

/// Mirrors `struct btf_enum` and `struct btf_enum64`.
public struct BTFEnumerator: Sendable, Equatable {
    public var name: String
    public var value: Int64
}

/// Mirrors `struct btf_param`.
public struct BTFParameter: Sendable, Equatable {
    public var name: String
    public var type: UInt32
}

/// Mirrors `struct btf_var_secinfo`.
public struct BTFSectionVariable: Sendable, Equatable {
    public var type: UInt32
    public var offset: UInt32
    public var size: UInt32
}

/// A member found by its path: bits from the start of the outer type, its type, and its
/// width when it is a bitfield.
public struct BTFMemberLocation: Sendable, Equatable {
    public var bitOffset: UInt64
    public var type: UInt32
    public var bitfieldSize: UInt32

    public init(bitOffset: UInt64, type: UInt32, bitfieldSize: UInt32) {
        self.bitOffset = bitOffset
        self.type = type
        self.bitfieldSize = bitfieldSize
    }

    /// The byte offset, for a member that starts on a byte.
    public var byteOffset: UInt64? { bitOffset % 8 == 0 ? bitOffset / 8 : nil }
}
