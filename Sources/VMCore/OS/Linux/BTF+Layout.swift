/// A struct or union's layout, member by member, as gdb's `ptype /o` and `pahole` show it.
public struct BTFLayout: Sendable, Encodable {
    /// `struct task_struct`, `union thread_union`.
    public var name: String
    public var size: UInt64
    public var members: [BTFField]
}

/// One member of a layout, with the members of a struct or union it holds directly (not
/// through a typedef or pointer) laid out inside it, as `ptype /o` expands them.
public struct BTFField: Sendable, Encodable {
    /// "" for an anonymous struct or union.
    public var name: String
    /// The member's type as C spells it.
    public var type: String
    /// `type name` as a C declaration (`struct list_head *next`, `char comm[16]`).
    public var declaration: String
    /// Bytes from the start of the outer type.
    public var offset: UInt64
    /// For a bitfield: its first bit within the byte at `offset`, and its width.
    public var bit: UInt32?
    public var bits: UInt32?
    /// Bytes of the member's type (for a bitfield, of the integer it is cut from).
    public var size: UInt64?
    /// `struct` or `union` when the member is laid out below.
    public var kind: String?
    public var members: [BTFField]?

    enum CodingKeys: String, CodingKey { case name, type, offset, bit, bits, size, kind, members }
}

extension BTF {
    /// The layout of struct or union `id` (typedefs followed).
    public func layout(_ id: UInt32) -> Result<BTFLayout, BTFError> {
        guard let r = resolved(id), let t = type(r), t.kind == .struct || t.kind == .union else {
            return .failure(BTFError("\(describe(id)) is not a struct or union"))
        }
        return .success(BTFLayout(name: describe(r), size: UInt64(t.sizeOrType), members: fields(of: t, at: 0, depth: 0, budget: Budget(1 << 16))))
    }

    func fields(of t: BTFType, at base: UInt64, depth: Int, budget: Budget) -> [BTFField] {
        t.members.prefix { _ in budget.take() }.map { m in
            // Wrapping arithmetic: a hostile blob's sizes and offsets print oddly, never trap.
            let bits = base &* 8 &+ UInt64(m.bitOffset)
            var f = BTFField(name: m.name, type: describe(m.type), declaration: declaration(m.type, m.name), offset: bits / 8,
                             size: size(of: m.type))
            if m.bitfieldSize > 0 || bits % 8 != 0 {
                f.bit = UInt32(bits % 8)
                f.bits = m.bitfieldSize > 0 ? m.bitfieldSize : nil
            }
            if depth + 1 < Self.maxDepth, let inner = type(m.type), inner.kind == .struct || inner.kind == .union {
                f.kind = inner.kind == .struct ? "struct" : "union"
                f.members = fields(of: inner, at: bits / 8, depth: depth + 1, budget: budget)
            }
            return f
        }
    }

    /// The layout of `id` in the text of gdb's `ptype /o`: offset and size columns, nested
    /// structs and unions expanded, holes and padding marked, each level's total size.
    /// Union padding is the union's size less its largest member (gdb 13 measures it from
    /// where the union sits in its parent, and marks padding no member leaves); a zero-length
    /// array prints as `[]`, since BTF keeps no difference between `[0]` and `[]`.
    public func layoutText(_ id: UInt32) -> Result<String, BTFError> {
        layout(id).map { l in
            var out = "/* offset      |    size */  type = \(l.name) {\n"
            Self.render(l.members, union: l.name.hasPrefix("union"), start: 0, size: l.size, level: 0, into: &out)
            out += String(repeating: " ", count: 29) + "}\n"
            return out
        }
    }

    static func render(_ fields: [BTFField], union: Bool, start: UInt64, size: UInt64, level: Int, into out: inout String) {
        let indent = String(repeating: " ", count: 4 * (level + 1))
        func pad(_ n: UInt64, _ width: Int) -> String { String(n).leftPadded(width, with: " ") }
        func hole(_ bits: UInt64, _ what: String) {
            if bits % 8 > 0 { out += "/* XXX \(pad(bits % 8, 2))-bit \(what.padding(7))    */\n" }
            if bits / 8 > 0 { out += "/* XXX \(pad(bits / 8, 2))-byte \(what.padding(7))   */\n" }
        }
        var end = start &* 8
        var largest: UInt64 = 0
        if fields.isEmpty { out += String(repeating: " ", count: 27 + 4 * (level + 1)) + "<no data fields>\n" }
        for f in fields {
            let at = f.offset &* 8 &+ UInt64(f.bit ?? 0)
            let width = f.bits.map(UInt64.init) ?? (f.size ?? 0) &* 8
            if union {
                out += "/*                \(pad(f.size ?? 0, 6)) */"
                largest = max(largest, width)
            } else {
                if at > end { hole(at - end, "hole") }
                if let bit = f.bit {
                    out += "/* \(pad(f.offset, 6)):\(pad(UInt64(bit), 2))   |  \(pad(f.size ?? 0, 6)) */"
                } else {
                    out += "/* \(pad(f.offset, 6))      |  \(pad(f.size ?? 0, 6)) */"
                }
                end = max(end, at &+ width)
            }
            if let members = f.members, let kind = f.kind {
                let name = f.type.hasPrefix("\(kind) {") ? kind : f.type
                out += "\(indent)\(name) {\n"
                render(members, union: kind == "union", start: f.offset, size: f.size ?? 0, level: level + 1, into: &out)
                out += String(repeating: " ", count: 27 + 4 * (level + 1)) + "}" + (f.name.isEmpty ? "" : " \(f.name)") + ";\n"
            } else {
                out += "\(indent)\(f.declaration)" + (f.bits.map { " : \($0)" } ?? "") + ";\n"
            }
        }
        let total = (start &+ size) &* 8
        if union {
            if size &* 8 > largest, !fields.isEmpty { hole(size &* 8 - largest, "padding") }
        } else if total > end, end > start &* 8 {
            hole(total - end, "padding")
        }
        out += "\n" + String(repeating: " ", count: 27 + 4 * (level + 1)) + "/* total size (bytes): \(pad(size, 4)) */\n"
    }
}

extension String {
    /// Left-aligned in `width` columns.
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension BTF {
    /// Struct, union or enum `id` as a C definition, anonymous members written out in place
    /// (crash's `struct NAME` without an address), then its size.
    public func definitionText(_ id: UInt32) -> Result<String, BTFError> {
        guard let r = resolved(id), let t = type(r) else { return .failure(BTFError("bad type \(id)")) }
        switch t.kind {
        case .struct, .union:
            var out = "\(describe(r)) {\n"
            definition(t, level: 1, budget: Budget(1 << 16), into: &out)
            return .success(out + "}\nSIZE: \(t.sizeOrType)\n")
        case .enum, .enum64:
            guard case .enumerators(let all) = t.detail else { return .failure(BTFError("bad enum \(id)")) }
            return .success("\(describe(r)) {\n" + all.map { "    \($0.name) = \($0.value),\n" }.joined() + "}\nSIZE: \(t.sizeOrType)\n")
        default:
            return .success("\(declaration(id, "")) (\(describe(r)))\nSIZE: \(size(of: r).map(String.init) ?? "none")\n")
        }
    }

    func definition(_ t: BTFType, level: Int, budget: Budget, into out: inout String) {
        let indent = String(repeating: "    ", count: level)
        for m in t.members where budget.take() {
            if m.name.isEmpty, level < Self.maxDepth, let inner = type(m.type), inner.kind == .struct || inner.kind == .union, inner.name.isEmpty {
                out += "\(indent)\(inner.kind == .struct ? "struct" : "union") {\n"
                definition(inner, level: level + 1, budget: budget, into: &out)
                out += "\(indent)};\n"
            } else {
                out += "\(indent)\(declaration(m.type, m.name))" + (m.bitfieldSize > 0 ? " : \(m.bitfieldSize)" : "") + ";\n"
            }
        }
    }

    /// Every type ID this blob and its base define, with its kind and name, without decoding
    /// trailing data.
    public func summaries() -> [(id: UInt32, kind: Kind, name: String)] {
        var out = base?.summaries() ?? []
        out.reserveCapacity(out.count + offsets.count)
        for (i, at) in offsets.enumerated() {
            let info = u32(Int(at) + 4)
            out.append((firstID + UInt32(i), Kind(rawValue: UInt8((info >> 24) & 0x1f))!, string(u32(Int(at)))))
        }
        return out
    }
}
