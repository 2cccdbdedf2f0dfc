import VMCore

extension NetdumpDumpFiles {
    /// The lines netdumpd's `handle_kdh()` writes into `info.<host>.N` (freebsd.md §7.3):
    ///
    ///       Architecture: amd64
    ///       Architecture Version: 2
    ///       Dump Length: 1073741824B (1024 MB)
    ///       Blocksize: 4096
    ///       Compression: none                       (headers of version 3 and later)
    ///       Dumptime: Tue Nov 14 22:13:20 2023      (ctime(3), local time)
    ///       Hostname: crashbox.example.org
    ///       Version String: FreeBSD 14.1-RELEASE … (the kernel's string brings its newline)
    ///       Panic String: page fault while in kernel mode
    ///       Header Parity Check: Pass
    ///
    /// netdumpd tests `version >= 3` on the big-endian field as loaded on a little-endian host,
    /// which is true of every version; we test the version itself. The strings come from the
    /// client, so control characters are shown as `?`, and a line of the version string that
    /// does not start with white space is indented: no header can forge a "Dump complete" line.
    static func infoText(_ received: ReceivedDumpHeader) -> String {
        guard let h = received.header else {
            return "Bad KDH: \(singleLine(received.problem ?? "unreadable header"))\n"
        }
        var text = ""
        text += "  Architecture: \(singleLine(h.architecture))\n"
        text += "  Architecture Version: \(Int32(bitPattern: h.architectureVersion))\n"
        text += "  Dump Length: \(h.dumpLength)B (\(h.dumpLength >> 20) MB)\n"
        text += "  Blocksize: \(Int32(bitPattern: h.blockSize))\n"
        if h.version >= 3, let compression = received.compressionName {
            text += "  Compression: \(compression)\n"
        }
        text += "  Dumptime: \(ctimeText(h.dumpTime))"
        text += "  Hostname: \(singleLine(h.hostname))\n"
        text += "  Version String: \(versionLines(h.versionString))"
        text += "  Panic String: \(singleLine(h.panicString))\n"
        text += "  Header Parity Check: \(received.parityPasses ? "Pass" : "Fail")\n"
        return text
    }

    /// `text` with every control character (newlines too) shown as `?`.
    static func singleLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
    }

    /// The version string with its own line breaks kept, every continuation line indented,
    /// and a final newline.
    static func versionLines(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var out = ""
        for (i, line) in lines.enumerated() {
            let clean = singleLine(line)
            if i > 0 && !(clean.hasPrefix(" ") || clean.hasPrefix("\t")) { out += "    " }
            out += clean + "\n"
        }
        return out.isEmpty ? "\n" : out
    }

    /// `ctime(3)` of `seconds`: `Tue Nov 14 22:13:20 2023\n`, in local time.
    static func ctimeText(_ seconds: UInt64) -> String {
        WallClock.ctime(Int64(bitPattern: seconds)) ?? "\(seconds)\n"
    }
}
