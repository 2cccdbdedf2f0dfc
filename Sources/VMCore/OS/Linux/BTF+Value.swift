/// An object of the kernel's memory, decoded by its BTF type: what `vmcore struct` prints.
public indirect enum BTFValue: Sendable, Encodable {
    case signed(Int64)
    case unsigned(UInt64)
    case bool(Bool)
    /// An enum's value, with the enumerator it equals.
    case enumerator(Int64, name: String?)
    /// A pointer, and what C calls its target (`struct list_head`, `void`, a function).
    case pointer(UInt64, target: String)
    /// A float's bits (BTF has no float encoding to say more).
    case float(bits: UInt64, size: Int)
    /// A `char` array, up to its first NUL.
    case string(String)
    /// An array's elements (at most `BTF.maxElements`), and how many it has.
    case array([BTFValue], count: Int)
    /// A struct's or union's members, in order.
    case members([(name: String, value: BTFValue)])
    /// What could not be decoded, and why.
    case unreadable(String)

    /// As JSON: numbers, strings, arrays and objects (pointers as `0x…`; 64-bit values as numbers).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .signed(let v): try c.encode(v)
        case .unsigned(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .enumerator(let v, let name): try c.encode(name ?? String(v))
        case .pointer(let v, _): try c.encode(hex(v))
        case .float(let bits, _): try c.encode(hex(bits))
        case .string(let s): try c.encode(s)
        case .array(let items, _): try c.encode(items)
        case .members(let ms): try c.encode(MemberList(members: ms))
        case .unreadable(let why): try c.encode(["unreadable": why])
        }
    }

    struct MemberList: Encodable {
        var members: [(name: String, value: BTFValue)]
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            var anonymous = 0
            for m in members {
                var name = m.name
                if name.isEmpty { name = "(anonymous \(anonymous))"; anonymous += 1 }
                try c.encode(m.value, forKey: Key(stringValue: name))
            }
        }
    }

    /// The value as `vmcore struct` prints it: one member per line, nested members indented,
    /// integers in decimal and hex, pointers with the symbol `symbolize` names.
    public func text(name: String, indent: Int = 0, symbolize: (UInt64) -> String?) -> String {
        var out = ""
        write(name: name, indent: indent, symbolize: symbolize, into: &out)
        return out
    }

    func write(name: String, indent: Int, symbolize: (UInt64) -> String?, into out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        let label = name.isEmpty ? "" : "\(name) = "
        switch self {
        case .members(let ms):
            out += "\(pad)\(label){\n"
            for m in ms { m.value.write(name: m.name, indent: indent + 1, symbolize: symbolize, into: &out) }
            out += "\(pad)}\n"
        case .array(let items, let count) where items.contains(where: \.isAggregate):
            out += "\(pad)\(label)[\n"
            for (i, item) in items.enumerated() { item.write(name: "[\(i)]", indent: indent + 1, symbolize: symbolize, into: &out) }
            if count > items.count { out += "\(pad)  … \(count - items.count) more\n" }
            out += "\(pad)]\n"
        default:
            out += "\(pad)\(label)\(scalarText(symbolize: symbolize))\n"
        }
    }

    var isAggregate: Bool {
        switch self {
        case .members, .array: true
        default: false
        }
    }

    func scalarText(symbolize: (UInt64) -> String?) -> String {
        switch self {
        case .signed(let v): v < 0 || v > 9 ? "\(v) (\(v < 0 ? "-" + hex(v.magnitude) : hex(v)))" : "\(v)"
        case .unsigned(let v): v > 9 ? "\(v) (\(hex(v)))" : "\(v)"
        case .bool(let v): "\(v)"
        case .enumerator(let v, let name): name.map { "\($0) (\(v))" } ?? "\(v)"
        case .pointer(let v, _): v == 0 ? "0x0" : hex(v) + (symbolize(v).map { " <\($0)>" } ?? "")
        case .float(let bits, _): "float bits \(hex(bits))"
        case .string(let s): "\"" + s.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? String($0) : $0.escaped(asASCII: true) }.joined() + "\""
        case .array(let items, let count):
            "[" + items.map { $0.scalarText(symbolize: symbolize) }.joined(separator: ", ") + (count > items.count ? ", … \(count - items.count) more" : "") + "]"
        case .members: "{…}"
        case .unreadable(let why): "<\(why)>"
        }
    }
}

extension BTF {
    /// Elements of an array decoded at most.
    public static let maxElements = 256
    /// Values decoded at most for one object (task_struct has about 1,500).
    public static let maxValues = 1 << 14

    /// The object of type `id` whose bytes are `bytes` (from `bitOffset`), in the blob's byte
    /// order; a bitfield of `bitfieldSize` bits when non-zero.
    public func value(_ id: UInt32, in bytes: [UInt8], bitOffset: UInt64 = 0, bitfieldSize: UInt32 = 0) -> BTFValue {
        value(id, bytes, bitOffset, bitfieldSize, depth: 0, budget: Budget(Self.maxValues))
    }

    func value(_ id: UInt32, _ bytes: [UInt8], _ bitOffset: UInt64, _ bitfieldSize: UInt32, depth: Int, budget: Budget) -> BTFValue {
        guard depth < Self.maxDepth else { return .unreadable("nested more than \(Self.maxDepth) deep") }
        guard budget.take() else { return .unreadable("more than \(Self.maxValues) values") }
        guard let r = resolved(id), let t = type(r) else { return .unreadable("bad type \(id)") }
        let start = Int(bitOffset / 8)
        /// `size` bytes at the value's start as an integer (bitfields cut out).
        func integer(_ size: Int) -> UInt64? {
            if bitfieldSize > 0 {
                let firstByte = start, lastByte = Int((bitOffset &+ UInt64(bitfieldSize) &- 1) / 8)
                guard bitfieldSize <= 64, firstByte <= lastByte, lastByte < bytes.count else { return nil }
                var raw: UInt64 = 0
                // Little-endian bitfields count bits from the least significant end.
                for (k, b) in bytes[firstByte...lastByte].enumerated() where k < 8 { raw |= UInt64(b) << (8 * UInt64(k)) }
                guard littleEndian, lastByte - firstByte < 8 else { return nil }
                let shifted = raw >> (bitOffset % 8)
                return bitfieldSize == 64 ? shifted : shifted & ((1 << UInt64(bitfieldSize)) - 1)
            }
            guard size > 0, size <= 8, start + size <= bytes.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<size {
                let byte = UInt64(bytes[start + (littleEndian ? k : size - 1 - k)])
                v |= byte << (8 * UInt64(k))
            }
            return v
        }
        func signExtended(_ v: UInt64, bits: Int) -> Int64 {
            bits >= 64 ? Int64(bitPattern: v) : Int64(bitPattern: v << UInt64(64 - bits)) >> Int64(64 - bits)
        }
        let short = BTFValue.unreadable("not in the \(bytes.count) bytes read")
        switch t.kind {
        case .int:
            guard case .integer(let encoding, _, let bits) = t.detail else { return short }
            let size = Int(t.sizeOrType)
            if size > 8 {
                guard start + size <= bytes.count else { return short }
                return .string(bytes[start..<start + size].map { String($0, radix: 16).leftPadded(2) }.joined())
            }
            guard let v = integer(size) else { return short }
            let width = bitfieldSize > 0 ? Int(bitfieldSize) : Int(bits == 0 ? UInt8(size * 8) : bits)
            if encoding & 4 != 0 { return .bool(v != 0) }
            return encoding & 1 != 0 ? .signed(signExtended(v, bits: width)) : .unsigned(v)
        case .enum, .enum64:
            guard let v = integer(Int(t.sizeOrType)) else { return short }
            let width = bitfieldSize > 0 ? Int(bitfieldSize) : Int(t.sizeOrType) * 8
            let signed = t.kindFlag ? signExtended(v, bits: width) : Int64(bitPattern: v)
            guard case .enumerators(let all) = t.detail else { return .enumerator(signed, name: nil) }
            return .enumerator(signed, name: all.first { $0.value == signed || UInt64(bitPattern: $0.value) == v }?.name)
        case .pointer:
            guard let v = integer(pointerSize) else { return short }
            return .pointer(v, target: describe(t.sizeOrType))
        case .float:
            guard let v = integer(Int(t.sizeOrType)) else { return short }
            return .float(bits: v, size: Int(t.sizeOrType))
        case .array:
            guard case .array(let element, _, let count) = t.detail else { return short }
            let elementSize = size(of: element) ?? 0
            if let e = resolved(element), let et = type(e), et.kind == .int, case .integer(let enc, _, _) = et.detail, enc & 2 != 0 || et.name.hasSuffix("char"), et.sizeOrType == 1 {
                let end = min(bytes.count, start &+ Int(count))
                guard start <= end else { return short }
                let chars = bytes[start..<end]
                return .string(String(decoding: chars.prefix { $0 != 0 }, as: UTF8.self))
            }
            let n = min(Int(count), Self.maxElements)
            var items: [BTFValue] = []
            items.reserveCapacity(n)
            for i in 0..<n {
                let bits = bitOffset &+ UInt64(i) &* elementSize &* 8
                if elementSize > 0, Int(bits / 8) >= bytes.count { break }
                items.append(value(element, bytes, bits, 0, depth: depth + 1, budget: budget))
            }
            return .array(items, count: Int(count))
        case .struct, .union:
            return .members(t.members.map { m in
                (m.name, value(m.type, bytes, bitOffset &+ UInt64(m.bitOffset), m.bitfieldSize, depth: depth + 1, budget: budget))
            })
        case .void, .forward:
            return .unreadable("incomplete type \(describe(r))")
        default:
            return .unreadable("\(t.kind.name) has no value")
        }
    }
}
