import ArgumentParser
import VMCore

struct Dmesg: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the kernel log from the dump, as dmesg and makedumpfile --dump-dmesg print it.",
        discussion: "Reads the printk buffer through VMCOREINFO alone (recovered from memory if the dump has none): no debuginfo.")

    @OptionGroup var dump: DumpOptions

    @Flag(help: "Prefix each record with its <level> (facility and level, as /dev/kmsg does).")
    var raw = false

    @Flag(help: "Print one JSON object per record: sequence, timestamp, level, facility, caller, text.")
    var json = false

    @Option(help: ArgumentHelp("Print only the last N records.", valueName: "n"))
    var tail: Int?

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail takes a count of records.") }
    }

    func run() throws {
        let log = try dump.open().messages()
        for p in log.problems { printError("vmcore: \(dump.dumps[0]): skipped a log record: \(p)") }
        let entries = tail.map { Array(log.entries.suffix($0)) } ?? log.entries
        if json {
            for e in entries { print(try jsonLine(e)) }
            return
        }
        var out = ""
        for e in entries { out += e.formatted(withLevel: raw) + "\n" }
        print(out, terminator: "")
    }
}
