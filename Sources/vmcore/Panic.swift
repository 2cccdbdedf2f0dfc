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

    struct Report: Encodable {
        var panic: PanicSummary
        var kernelRelease: String?
        var kernelVersion: String?
        var hostname: String?
        var crashTime: Int64?
        var crashTimeUTC: String?
    }

    func run() throws {
        if let t = try dump.textdump() {
            // A FreeBSD textdump: msgbuf.txt and panic.txt say it.
            let f = t.facts()
            guard let panic = f.panic else {
                throw VMCoreError(.notInDump, file: t.file, "the textdump names no panic", "it has no panic.txt and no panic line in msgbuf.txt")
            }
            try printFreeBSD(panic, Report(panic: panic, kernelRelease: f.kernelRelease, kernelVersion: f.kernelVersion, hostname: f.hostname,
                                           crashTime: f.header.map { Int64(clamping: $0.dumpTime) }, crashTimeUTC: f.header?.dumpTimeUTC))
            return
        }
        let d = try dump.open()
        if d.operatingSystem == "FreeBSD" {
            try freebsd(d)
            return
        }
        let kernel = try LinuxKernel(dump: d)
        let log = try kernel.kernelLog()
        guard let panic = PanicSummary(records: log.records) else {
            throw VMCoreError(.notInDump, file: d.files[0], "the kernel log reports no panic, oops, BUG, warning or lockup",
                              "\(log.records.count) records read; vmcore dmesg prints them")
        }
        let uts = try? kernel.utsname()
        let crashTime = kernel.vmcoreinfo?.value.crashTime
        let report = Report(panic: panic, kernelRelease: uts?.release ?? kernel.vmcoreinfo?.value.osRelease, kernelVersion: uts?.version,
                            hostname: uts?.nodename, crashTime: crashTime, crashTimeUTC: crashTime.map(formatUTC))
        if json {
            print(try jsonText(report))
            return
        }
        var out = panic.message + "\n"
        if let pm = panic.panicMessage, pm != panic.message { out += pm + "\n" }
        if let cpu = panic.cpu {
            out += "CPU \(cpu), PID \(panic.pid.map(String.init) ?? "?"), command \(panic.command ?? "?")"
            out += panic.taint.map { " (\($0))" } ?? ""
            out += "\n"
        }
        let seconds = Double(panic.timestampNanoseconds) / 1e9
        out += "at \(fixed(seconds, 6)) s after boot"
        if let t = report.crashTimeUTC { out += "; crashed \(t)" }
        out += "\n"
        if let r = report.kernelRelease { out += "kernel \(r) \(report.kernelVersion ?? "")".trimmed + (report.hostname.map { " on \($0)" } ?? "") + "\n" }
        if let rip = panic.rip { out += rip + "\n" }
        if !panic.callTrace.isEmpty {
            out += "Call Trace:\n"
            for frame in panic.callTrace { out += "  \(frame)\n" }
        }
        print(out, terminator: "")
    }

    /// A FreeBSD dump: the panic from the message buffer, else from the dump header's panic string.
    func freebsd(_ d: Dump) throws {
        let f = try d.analyzedFacts()
        guard let panic = f.panic else {
            let why = f.warnings.first { $0.hasPrefix("message buffer not read") } ?? "the message buffer has no panic line"
            throw VMCoreError(.notInDump, file: d.files[0], "the dump names no panic", why)
        }
        try printFreeBSD(panic, Report(panic: panic, kernelRelease: f.kernelRelease, kernelVersion: f.kernelVersion, hostname: f.hostname,
                                       crashTime: f.dumpTime, crashTimeUTC: f.dumpTimeUTC))
    }

    func printFreeBSD(_ panic: PanicSummary, _ report: Report) throws {
        if json {
            print(try jsonText(report))
            return
        }
        var out = panic.message + "\n"
        if let cpu = panic.cpu { out += "CPU \(cpu)\n" }
        if let t = report.crashTimeUTC { out += "dumped \(t)\n" }
        if let v = report.kernelVersion { out += v + (report.hostname.map { " on \($0)" } ?? "") + "\n" }
        if !panic.callTrace.isEmpty {
            out += "KDB: stack backtrace:\n"
            for frame in panic.callTrace { out += "  \(frame)\n" }
        }
        print(out, terminator: "")
    }
}
