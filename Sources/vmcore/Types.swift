import ArgumentParser
import Foundation
import VMCore

struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the kernel's types from its own BTF: structs, unions, enums, typedefs.",
        discussion: """
        Prints each named type whose name matches the pattern (* and ? wildcards, else a \
        substring) with its kind and size, the loaded modules' own types after the kernel's \
        with [module]. Functions, variables and sections are listed with \
        --all. No debuginfo is needed: the types come from the BTF the kernel carries.
        """)

    @Argument(help: ArgumentHelp("The dump file(s), then a name pattern.", valueName: "dump… pattern"))
    var operands: [String]

    @OptionGroup var symbols: SymbolsOption

    @Flag(help: "Also list functions, variables, data sections and qualifiers.")
    var all = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard operands.count >= 2 else { throw ValidationError("Name a dump file and a pattern ('*' for all).") }
    }

    func run() throws {
        let kernel = try openKernel(Array(operands.dropLast()), symbols: symbols.path)
        let btf = try kernel.btf()
        let match = Glob(operands.last!)
        let shown: Set<BTF.Kind> = all ? Set(BTF.Kind.allCases) : [.struct, .union, .enum, .enum64, .typedef, .int, .float]
        var found: [TypeJSON] = []
        for t in btf.summaries() where !t.name.isEmpty && shown.contains(t.kind) && match.matches(t.name) {
            found.append(TypeJSON(id: t.id, kind: t.kind.name, name: btf.describe(t.id), size: btf.size(of: t.id), module: nil))
        }
        // Then each module's own types, from its split BTF.
        for (module, split) in kernel.moduleBTFs() {
            for t in split.summaries() where t.id >= split.firstID && !t.name.isEmpty && shown.contains(t.kind) && match.matches(t.name) {
                found.append(TypeJSON(id: t.id, kind: t.kind.name, name: split.describe(t.id), size: split.size(of: t.id), module: module))
            }
        }
        if json {
            print(try jsonText(found))
            return
        }
        let width = min(found.map(\.name.count).max() ?? 0, 48)
        for t in found {
            print("\(t.name.padding(toLength: max(width, t.name.count), withPad: " ", startingAt: 0))  \(t.kind.lowercased())" + (t.size.map { "  \($0) bytes" } ?? "")
                  + (t.module.map { "  [\($0)]" } ?? ""))
        }
    }
}

struct TypeJSON: Encodable {
    var id: UInt32
    var kind: String
    var name: String
    var size: UInt64?
    var module: String?
}

/// The kernel of a dump named on the command line, with the user's symbol file when given.
func openKernel(_ files: [String], symbols: String? = nil) throws -> any Kernel {
    let d = try OpenedDump.open(files, force: false, kernel: nil, cache: commandCache).memoryDump()
    return try withSymbols(try d.kernel(), symbols)
}

/// `kernel`, taking symbols from `path` too (a Linux kernel's System.map or vmlinux).
func withSymbols(_ kernel: any Kernel, _ path: String?) throws -> any Kernel {
    guard let path else { return kernel }
    guard let linux = kernel as? LinuxKernel else {
        throw ValidationError("--symbols is for a Linux kernel; for FreeBSD give the kernel file with --kernel.")
    }
    try linux.useSymbols(try SymbolFile.open(path))
    return linux
}

/// `--symbols FILE`, for the commands that name symbols.
struct SymbolsOption: ParsableArguments {
    @Option(name: .customLong("symbols"),
            help: ArgumentHelp("A System.map or vmlinux of the kernel that crashed, for symbols its kallsyms lacks (never required).", valueName: "file"))
    var path: String?
}
