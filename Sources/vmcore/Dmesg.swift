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
        if let t = try dump.textdump() {
            // A FreeBSD textdump: msgbuf.txt is the message buffer, already in order.
            guard let text = try t.contents(of: Textdump.messageBuffer) else {
                throw VMCoreError(.notInDump, file: t.file, "the textdump has no \(Textdump.messageBuffer)",
                                  "it holds \(t.members.map(\.name).joined(separator: ", ")); the kernel had debug.ddb.textdump.do_msgbuf=0")
            }
            try printFreeBSDLog(String(decoding: text.filter { $0 != 0 }, as: UTF8.self))
            return
        }
        let d = try dump.open()
        if d.operatingSystem == "FreeBSD" {
            // FreeBSD: the message buffer, ordered through the kernel's struct msgbuf.
            try printFreeBSDLog(try d.freebsdMessageBuffer().text)
            return
        }
        let kernel = try LinuxKernel(dump: d)
        let log = try kernel.kernelLog()
        let records = tail.map { Array(log.records.suffix($0)) } ?? log.records
        for p in log.problems { printError("vmcore: \(dump.dumps[0]): skipped a log record: \(p)") }
        if json {
            for r in records { print(try jsonLine(r)) }
            return
        }
        var out = ""
        for r in records { out += r.formatted(withLevel: raw) + "\n" }
        print(out, terminator: "")
    }

    /// A FreeBSD message buffer: its lines, or one JSON object per line.
    func printFreeBSDLog(_ text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let tail { lines = Array(lines.suffix(tail)) }
        if json {
            for (i, l) in lines.enumerated() { print(try jsonLine(["line": String(i), "text": l])) }
        } else if !lines.isEmpty {
            print(lines.joined(separator: "\n"))
        }
    }
}
