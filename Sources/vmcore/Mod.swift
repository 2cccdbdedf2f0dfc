import ArgumentParser
import Foundation
import VMCore

struct Mod: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The kernel's loaded modules, as crash's 'mod' lists them: struct module, name, base, size.",
        discussion: """
        Walks the kernel's 'modules' list; the layout of struct module comes from the kernel's \
        own BTF, so no debuginfo is needed. BASE is the start of the module's text, SIZE the \
        bytes of all its memory regions, SYMBOLS how many of its own kallsyms it keeps. Listed in \
        the order of their struct module addresses, as crash lists them.
        """)

    @Argument(help: ArgumentHelp("The dump file(s).", valueName: "dump"))
    var dumps: [String]

    @OptionGroup var symbols: SymbolsOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        guard let kernel = try openKernel(dumps, symbols: symbols.path) as? LinuxKernel else {
            throw VMCoreError(.unsupported, file: dumps[0], "mod lists a Linux kernel's modules")
        }
        // In the order of their struct module addresses, as crash lists them.
        let modules = try kernel.modules().sorted { $0.address < $1.address }
        if json {
            print(try jsonText(modules))
            return
        }
        let width = max(4, modules.map(\.name.count).max() ?? 0)
        print("     MODULE       \("NAME".padding(toLength: width, withPad: " ", startingAt: 0))         BASE          SIZE  STATE    SYMBOLS")
        for m in modules {
            print("\(String(hex(m.address).dropFirst(2)).leftPadded(16, " "))  \(m.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(String(hex(m.base).dropFirst(2)).leftPadded(16, " "))  \(String(m.size).leftPadded(8, " "))  \(m.state.padding(toLength: 7, withPad: " ", startingAt: 0))  \(m.symbolProblem == nil ? String(m.symbols.count) : "unread: \(m.symbolProblem!)")")
        }
    }
}
