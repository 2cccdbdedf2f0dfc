extension PanicSummary {
    /// The panic a FreeBSD kernel reported in its message buffer: `vpanic()` (FreeBSD
    /// `sys/kern/kern_shutdown.c`) prints "panic: <message>", "cpuid = <n>" on SMP kernels
    /// and "time = …", then `kdb_backtrace()` prints "KDB: stack backtrace:" and one
    /// "#<n> 0x… at <function>+0x…" line per frame. `panicString` (panic.txt or the dump
    /// header's panicstring) names the panic when the buffer has lost the line.
    public init?(freeBSDMessages lines: [String], panicString: String?) {
        let panicText = panicString.map { "panic: " + $0 }
        guard let p = lines.lastIndex(where: { $0.hasPrefix("panic: ") }) else {
            guard let panicText else { return nil }
            self.init(kind: "panic", message: panicText, panicMessage: panicText)
            return
        }
        self.init(kind: "panic", message: lines[p], panicMessage: lines[p])
        if let c = lines[p...].first(where: { $0.hasPrefix("cpuid = ") }) { cpu = Int(c.dropFirst(8)) }
        if let bt = lines[p...].firstIndex(where: { $0.hasPrefix("KDB: stack backtrace:") }) {
            callTrace = lines[(bt + 1)...].prefix { $0.hasPrefix("#") }.map { $0 }
        }
    }
}
