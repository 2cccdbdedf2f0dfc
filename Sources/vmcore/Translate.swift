import ArgumentParser
import VMCore

struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the kernel page tables for a virtual address: each level's table, index, entry and flags.")

    @Argument(help: ArgumentHelp("The dump file(s), then a kernel virtual address (0x-prefixed hex or decimal) or a symbol (VMCOREINFO, kallsyms, a module's, or --symbols).",
                                 valueName: "dump… address"))
    var operands: [String]

    @Option(help: ArgumentHelp("The FreeBSD kernel that crashed, for its symbols (full dumps need it).", valueName: "path"))
    var kernel: String?

    @OptionGroup var symbols: SymbolsOption

    @Flag(help: "Read a FreeBSD dump device that savecore would reject.")
    var force = false

    func validate() throws {
        guard operands.count >= 2 else { throw ValidationError("Name a dump file and an address.") }
    }

    var address: String { operands.last! }

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let d = try OpenedDump.open(Array(operands.dropLast()), force: force, kernel: kernel, cache: commandCache).memoryDump()
        let k = try withSymbols(try d.kernel(), symbols.path)
        let space = try k.kernelAddressSpace()
        let va = try k.resolve(address)
        let how = (name: space.scheme, root: space.root, source: space.rootSource)
        let t = try space.translate(va)
        if json {
            print(try jsonText(TranslationJSON(t, root: how.root, rootSource: how.source)))
            return
        }
        print("\(hex(va))\(k.symbolize(va).map { " = \($0)" } ?? "") (\(how.name), root \(hex(how.root)) from \(how.source))")
        for s in t.steps {
            let entry = String(s.entry, radix: 16).leftPadded(16)
            print("  \(s.level.uppercased().padRight(4)) table \(hex(s.tableAddress))  [\(String(s.index).leftPadded(3, " "))]  \(entry)  \(s.flags.joined(separator: " "))")
        }
        print("  -> physical \(hex(t.physical)) (\(byteCount(t.pageSize)) page)")
    }
}

struct TranslationJSON: Encodable {
    var virtual: String
    var physical: String
    var pageSize: UInt64
    var root: String
    var rootSource: String
    var steps: [Step]
    struct Step: Encodable {
        var level: String
        var table: String
        var index: Int
        var entry: String
        var flags: [String]
    }

    init(_ t: Translation, root: UInt64, rootSource: String) {
        virtual = hex(t.virtual)
        physical = hex(t.physical)
        pageSize = t.pageSize
        self.root = hex(root)
        self.rootSource = rootSource
        steps = t.steps.map { Step(level: $0.level, table: hex($0.tableAddress), index: $0.index, entry: hex($0.entry), flags: $0.flags) }
    }
}

