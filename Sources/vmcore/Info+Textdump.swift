import VMCore

extension Info {
    /// `vmcore info` for a FreeBSD textdump: what it says about the kernel and its panic, the
    /// dump header when read from a device, then the members.
    static func text(textdump f: TextdumpFacts) -> String {
        var out = ""
        func add(_ k: String, _ v: String?) {
            guard let v else { return }
            // Later lines of a multi-line value line up under the first.
            let lines = v.split(separator: "\n", omittingEmptySubsequences: true)
            for (i, line) in lines.enumerated() { out += (i == 0 ? k + ":" : "").padRight(17) + line + "\n" }
        }
        add("file", f.files.joined(separator: ", "))
        add("format", f.variant)
        add("kernel release", f.kernelRelease)
        add("kernel version", f.kernelVersion)
        add("hostname", f.hostname)
        if let p = f.panic {
            add("panic", p.message)
            add("crashed on", p.cpu.map { "CPU \($0)" })
            if !p.callTrace.isEmpty {
                add("backtrace", "\(p.callTrace.count) frames")
                for frame in p.callTrace { out += "  \(frame)\n" }
            }
        }
        add("kernel log", f.messageBufferLines.map { "\($0) lines in \(Textdump.messageBuffer) (vmcore dmesg prints it)" })
        add("ddb output", f.ddbOutputBytes.map { "\($0) bytes in \(Textdump.ddbOutput) (vmcore textdump --extract writes it out)" })
        add("configuration", f.configurationBytes.map { "\($0) bytes in \(Textdump.configuration)" })
        if let h = f.header {
            add("dump written", h.dumpTimeUTC)
            add("dump header", "\"\(h.magic)\" version \(h.version), \(h.architecture), textdump format \(h.architectureVersion), \(h.dumpLength) bytes in \(h.blockSize)-byte blocks")
        }
        add("members", "\(f.members.count)")
        let width = (f.members.map(\.name.count).max() ?? 0) + 2
        let sizeWidth = f.members.map { String($0.size).count }.max() ?? 0
        for m in f.members {
            out += "  " + m.name.padRight(width) + String(m.size).leftPadded(sizeWidth, " ") + " bytes  " + m.modificationTimeUTC
            out += m.type == "file" ? "\n" : "  (\(m.type))\n"
        }
        for w in f.warnings { add("warning", w) }
        return out
    }
}
