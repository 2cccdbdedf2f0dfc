import ArgumentParser
import Foundation
import VMCore

struct StructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "struct",
        abstract: "A kernel type's layout, or the object at an address, from the kernel's own BTF.",
        discussion: """
        With a type only, prints its definition and size; with -o, its layout with offsets and \
        sizes as gdb's 'ptype /o' shows it. With an address or symbol, prints the object there \
        member by member: integers in decimal and hex, pointers with the symbol they point to, \
        char arrays as strings, nested structs indented. TYPE may be 'struct NAME', 'union \
        NAME', a typedef or a bare name, found in the kernel's BTF and then the loaded modules' \
        (MODULE:TYPE for one module's); TYPE.member[,member…] prints only those members \
        (paths such as thread.sp or comm[0]).
        """)

    @Argument(help: ArgumentHelp("The dump file(s), the type, then optionally an address or symbol.", valueName: "dump… type [address|symbol]"))
    var operands: [String]

    @OptionGroup var symbols: SymbolsOption

    @Flag(name: .short, help: "Show the layout with offsets and sizes (gdb's ptype /o).")
    var offsets = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard operands.count >= 2 else { throw ValidationError("Name a dump file and a type.") }
    }

    func run() throws {
        // The leading operands that are files are the dump; then the type and an address.
        let n = max(1, operands.prefix { FileManager.default.fileExists(atPath: $0) }.count)
        let files = Array(operands.prefix(min(n, operands.count - 1)))
        let rest = Array(operands.dropFirst(files.count))
        guard rest.count <= 2 else { throw ValidationError("Give one type and at most one address; '\(rest.dropFirst(2).joined(separator: " "))' is extra.") }
        let kernel = try openKernel(files, symbols: symbols.path)
        var spec = rest[0]
        var paths: [String] = []
        // TYPE.member,member: the type is what comes before the first '.' outside "struct X".
        if let dot = spec.firstIndex(of: ".") {
            paths = spec[spec.index(after: dot)...].split(separator: ",").map { String($0) }
            spec = String(spec[..<dot])
        }
        let type = try kernel.type(spec)
        guard rest.count == 2 else {
            try printLayout(type, paths: paths)
            return
        }
        let address = try kernel.resolve(rest[1])
        let where_ = kernel.symbolize(address).map { " (\($0))" } ?? ""
        var shown: [(name: String, value: BTFValue)] = []
        if paths.isEmpty {
            shown.append(("", try kernel.object(type, at: address)))
        } else {
            for path in paths { shown.append((path, try kernel.object(type, member: path, at: address))) }
        }
        if json {
            print(try jsonText(ObjectJSON(type: type.name, address: hex(address), symbol: kernel.symbolize(address),
                                          members: paths.isEmpty ? nil : Dictionary(uniqueKeysWithValues: shown.map { ($0.name, $0.value) }),
                                          value: paths.isEmpty ? shown[0].value : nil)))
            return
        }
        print("\(type.name) at \(hex(address))\(where_):")
        for s in shown {
            print(s.value.text(name: s.name.isEmpty ? "" : s.name, indent: 0, symbolize: kernel.symbolize), terminator: "")
        }
    }

    func printLayout(_ type: KernelType, paths: [String]) throws {
        if !paths.isEmpty {
            var out: [MemberJSON] = []
            for path in paths {
                let m = try type.member(path)
                out.append(MemberJSON(path: path, type: type.btf.describe(m.type), declaration: type.btf.declaration(m.type, path), offset: m.bitOffset / 8, bit: m.byteOffset == nil || m.bitfieldSize > 0 ? UInt32(m.bitOffset % 8) : nil,
                                      bits: m.bitfieldSize > 0 ? m.bitfieldSize : nil, size: type.btf.size(of: m.type)))
            }
            if json {
                print(try jsonText(out))
            } else {
                for m in out {
                    print("[\(m.offset)\(m.bit.map { ":\($0)" } ?? "")] \(m.declaration)" + (m.bits.map { " : \($0)" } ?? "") + ";" + (m.size.map { "  (size \($0))" } ?? ""))
                }
            }
            return
        }
        if json {
            print(try jsonText(try type.btf.layout(type.id).get()))
        } else if offsets {
            print(try type.btf.layoutText(type.id).get(), terminator: "")
        } else {
            print(try type.btf.definitionText(type.id).get(), terminator: "")
        }
    }
}

struct MemberJSON: Encodable {
    var path: String
    var type: String
    var declaration: String
    var offset: UInt64
    var bit: UInt32?
    var bits: UInt32?
    var size: UInt64?
}

struct ObjectJSON: Encodable {
    var type: String
    var address: String
    var symbol: String?
    var members: [String: BTFValue]?
    var value: BTFValue?
}
