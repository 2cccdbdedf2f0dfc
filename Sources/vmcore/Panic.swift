import ArgumentParser
import FoundationEssentials
import VMCore

struct Panic: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say why the kernel died: the failure, the CPU, PID and command, the RIP and call trace, fit for a bug report.",
        discussion: "Exits 1 if the kernel log reports no panic, oops, BUG, warning or lockup.")

    @OptionGroup var dump: DumpOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let report = try dump.open().panicReport()
        print(json ? try jsonText(report) : report.text, terminator: json ? "\n" : "")
    }
}
