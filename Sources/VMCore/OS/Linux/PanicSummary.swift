/// Why the kernel died, as its own log tells it: the kind of failure, its message, the CPU,
/// PID and command that hit it, the x86-64 RIP line or the arm64 `pc :`/`lr :` lines, and the
/// call trace of the report block.
public struct PanicSummary: Sendable, Codable, Equatable {
    /// "panic", "BUG", "Oops", "general protection fault", "WARNING", "hung task",
    /// "soft lockup", "hard lockup".
    public var kind: String
    /// The line that names the failure ("Kernel panic - not syncing: sysrq triggered crash").
    public var message: String
    /// The panic line, when the failure went on to a panic.
    public var panicMessage: String?
    public var cpu: Int?
    public var pid: Int?
    public var command: String?
    /// The rest of the "CPU: … Comm: …" line: taint and kernel version.
    public var taint: String?
    /// The "RIP: …" line of the report (x86-64).
    public var rip: String?
    /// The "pc : …" and "lr : …" lines of the report (arm64 `__show_regs`).
    public var pc: String?
    public var lr: String?
    public var callTrace: [String]
    /// When it happened, in nanoseconds since boot.
    public var timestampNanoseconds: UInt64

    public init(kind: String, message: String, panicMessage: String?, cpu: Int? = nil, pid: Int? = nil, command: String? = nil,
                taint: String? = nil, rip: String? = nil, pc: String? = nil, lr: String? = nil, callTrace: [String] = [], timestampNanoseconds: UInt64 = 0) {
        self.kind = kind
        self.message = message
        self.panicMessage = panicMessage
        self.cpu = cpu
        self.pid = pid
        self.command = command
        self.taint = taint
        self.rip = rip
        self.pc = pc
        self.lr = lr
        self.callTrace = callTrace
        self.timestampNanoseconds = timestampNanoseconds
    }

    /// Nanoseconds from `earlier` to `later`; 0 when a damaged log has them out of order.
    static func gap(_ earlier: LogRecord, _ later: LogRecord) -> UInt64 {
        later.timestampNanoseconds > earlier.timestampNanoseconds ? later.timestampNanoseconds - earlier.timestampNanoseconds : 0
    }

    /// Report lines that start a failure, most specific first (kernel/panic.c, lib/bug.c,
    /// arch/x86/kernel/dumpstack.c and traps.c, arch/arm64/mm/fault.c and kernel/traps.c,
    /// kernel/hung_task.c, kernel/watchdog.c).
    static let triggers: [(prefix: String, kind: String)] = [
        ("Unable to handle kernel ", "BUG"), ("Internal error: Oops - BUG", "BUG"), ("Internal error: ", "Oops"),
        ("BUG: kernel NULL pointer dereference", "BUG"), ("BUG: unable to handle", "BUG"), ("kernel BUG at ", "BUG"),
        ("watchdog: BUG: soft lockup", "soft lockup"), ("BUG: soft lockup", "soft lockup"),
        ("NMI watchdog: Watchdog detected hard LOCKUP", "hard lockup"), ("watchdog: Watchdog detected hard LOCKUP", "hard lockup"),
        ("BUG: ", "BUG"), ("Oops: ", "Oops"), ("general protection fault", "general protection fault"),
        ("WARNING: ", "WARNING"), ("INFO: task ", "hung task"),
    ]

    /// The summary of the last failure in `records`, or nil if the log reports none.
    public init?(records: [LogRecord]) {
        let panicIndex = records.lastIndex { $0.text.hasPrefix("Kernel panic - not syncing") }
        // The failure that led to the panic: the last report line before it (or the last in
        // the log when nothing panicked).
        let searchEnd = panicIndex ?? records.count
        var start: Int?
        var kind = "panic"
        for i in stride(from: searchEnd - 1, through: 0, by: -1) {
            let text = records[i].text
            if let t = Self.triggers.first(where: { text.hasPrefix($0.prefix) }) {
                if t.kind == "hung task" && !text.contains(" blocked for more than ") { continue }
                start = i
                kind = t.kind
                break
            }
            // Stop at an earlier, unrelated part of the log: more than a minute before.
            if let p = panicIndex, Self.gap(records[i], records[p]) > 60_000_000_000 { break }
        }
        // One report can hold several trigger lines ("BUG: …" then "Oops: …"): the first one
        // within the same second names the cause.
        if let t = start {
            var i = t - 1
            while i >= 0, Self.gap(records[i], records[t]) < 1_000_000_000, t - i <= 10 {
                if let earlier = Self.triggers.first(where: { records[i].text.hasPrefix($0.prefix) }), earlier.kind != "hung task" {
                    start = i
                    kind = earlier.kind
                }
                i -= 1
            }
        }
        guard let blockStart = start ?? panicIndex else { return nil }
        self.kind = kind
        message = records[blockStart].text
        panicMessage = panicIndex.map { records[$0].text }
        timestampNanoseconds = records[blockStart].timestampNanoseconds
        callTrace = []

        // "CPU: 1 PID: 132 Comm: lab-crasher Kdump: loaded Not tainted 6.1.0-56-cloud-amd64 #1 …"
        let block = records[blockStart...]
        if let line = block.first(where: { $0.text.hasPrefix("CPU: ") && $0.text.contains(" Comm: ") })?.text {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if let c = words.firstIndex(of: "CPU:"), c + 1 < words.count { cpu = Int(words[c + 1]) }
            if let p = words.firstIndex(of: "PID:"), p + 1 < words.count { pid = Int(words[p + 1]) }
            if let m = words.firstIndex(of: "Comm:"), m + 1 < words.count {
                command = String(words[m + 1])
                let rest = words[(m + 2)...].joined(separator: " ")
                taint = rest.isEmpty ? nil : rest
            }
        }
        rip = block.first { $0.text.hasPrefix("RIP: ") }?.text
        pc = block.first { $0.text.hasPrefix("pc : ") }?.text
        lr = block.first { $0.text.hasPrefix("lr : ") }?.text
        // The call trace: the indented lines after "Call Trace:" (arm64: "Call trace:"), to
        // "</TASK>" or the end of the block.
        if let traceStart = block.firstIndex(where: { $0.text.hasPrefix("Call Trace:") || $0.text.hasPrefix("Call trace:") }) {
            for r in records[(traceStart + 1)...] {
                guard r.text.hasPrefix(" ") else { break }
                let frame = r.text.trimmingSpaces
                if frame == "</TASK>" { break }
                if frame == "<TASK>" || frame == "<IRQ>" || frame == "</IRQ>" { continue }
                callTrace.append(frame)
            }
        }
    }
}
