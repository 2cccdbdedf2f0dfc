import ArgumentParser
import FoundationEssentials
import VMCore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell what a dump is: format, machine, memory, pages, CPUs, kernel and VMCOREINFO facts.")

    @OptionGroup var dump: DumpOptions

    @Flag(help: "Print JSON (addresses as \"0x…\" strings).")
    var json = false

    func run() throws {
        let facts: DumpFacts
        switch try dump.open() {
        case .textdump(let t):
            let facts = t.facts()
            print(json ? try jsonText(facts) : Self.text(textdump: facts), terminator: json ? "\n" : "")
            return
        case .memory(let d):
            facts = try d.analyzedFacts()
        }
        if json {
            print(try jsonText(facts))
            return
        }
        print(Self.text(facts), terminator: "")
    }

    static func text(_ f: DumpFacts) -> String {
        var lines: [(String, String)] = []
        func add(_ k: String, _ v: String?) { if let v { lines.append((k, v)) } }
        add("file", f.files.joined(separator: ", "))
        add("format", f.variant)
        if let n = f.flattenedRecords { add("flattened", "\(n) records, read in place") }
        add("byte order", f.byteOrder == "little" ? "little-endian" : "big-endian")
        add("architecture", f.architecture)
        add("page size", "\(f.pageSize)")
        add("kernel release", f.kernelRelease)
        add("kernel version", f.kernelVersion)
        add("kernel banner", f.kernelBanner)
        add("hostname", f.hostname)
        add("domain", f.domain)
        add("machine", f.machine)
        add("crash time", f.crashTimeUTC.map { "\($0) (CRASHTIME \(f.crashTime!))" })
        add("uptime", f.uptime.map { formatUptime($0) })
        if let p = f.panic {
            add("panic", p.message)
            if let pm = p.panicMessage, pm != p.message { add("then", pm) }
            add("crashed in", p.cpu.map { cpu in
                p.pid == nil && p.command == nil ? "CPU \(cpu)" : "CPU \(cpu), PID \(p.pid.map(String.init) ?? "?"), command \(p.command ?? "?")"
            })
        }
        add("kernel log", f.logFormat.map { "\(f.logRecords ?? 0) records, \($0) (vmcore dmesg prints it)" })
        add("dump written", f.dumpTimeUTC)
        add("dump level", f.dumpLevel.map(String.init))
        add("compression", f.compression.isEmpty ? (f.format == .kdumpCompressed ? "none" : nil) : f.compression.joined(separator: ", "))
        // In an ELF core, pages past p_filesz read as zero; makedumpfile -E puts filtered pages there too.
        var pages = "\(f.pages.present) present (\(f.pages.zero) \(f.format == .elf ? "zero-filled past p_filesz" : "zero"))"
        if f.format == .kdumpCompressed || f.pages.excluded > 0 { pages += ", \(f.pages.excluded) excluded" }
        if f.pages.missing > 0 || f.incomplete { pages += ", \(f.pages.missing) missing" }
        add("pages", pages)
        if f.incomplete { add("incomplete", "yes: the dump tool stopped before writing every page") }
        add("memory", "\(byteCount(f.memoryBytes)) in \(f.memoryRanges.count) range\(f.memoryRanges.count == 1 ? "" : "s")")
        var out = ""
        func flush() {
            for (k, v) in lines { out += (k + ":").padRight(17) + v + "\n" }
            lines = []
        }
        flush()
        for r in f.memoryRanges.prefix(32) { out += "  \(r.start)-\(r.end)  \(byteCount(r.size))\n" }
        if f.memoryRanges.count > 32 { out += "  … \(f.memoryRanges.count - 32) more (--json lists all)\n" }
        // FreeBSD dumps carry no CPU notes and no VMCOREINFO: say nothing of either.
        let noNotes = f.operatingSystem == .freebsd
        if !(noNotes && f.cpus.isEmpty) { add("CPUs", f.cpuCount.map(String.init) ?? "\(f.cpus.count)") }
        flush()
        for c in f.cpus { out += "  cpu \(c.index): pid \(c.pid)  pc \(c.pc)  sp \(c.sp)\n" }
        for q in f.qemuCPUs { out += "  cpu \(q.index) (QEMU state): cr3 \(q.cr3)  idt \(q.idtBase)  rip \(q.rip)\n" }
        if !noNotes { add("VMCOREINFO", f.vmcoreinfo ? "present" : (f.vmcoreinfoSource.map { "absent from the dump; \($0)" } ?? "absent")) }
        flush()
        for (k, v) in f.vmcoreinfoFacts.sorted(by: { $0.key < $1.key }) { out += "  \(k)=\(v)\n" }
        add("KASLR offset", f.kaslrOffset.map { "\($0) (\(f.kaslrOffsetSource ?? ""))" })
        add("phys_base", f.physBase.map { "\($0) (\(f.physBaseSource ?? ""))" })
        add("paging", f.pagingLevels.map { "\($0)-level (\(f.pagingLevelsSource ?? ""))" })
        add("page tables", f.pageTableRoot.map { "\($0) (\(f.pageTableRootSource ?? ""))" })
        if let e = f.eraseinfo { add("erase info", "\(e.split(separator: "\n").count) commands") }
        if let b = f.freebsd {
            var header = "FreeBSD/\(b.machine) version \(b.minidumpVersion)"
            if let pae = b.paeMode { header += pae ? ", PAE page tables" : ", non-PAE page tables" }
            if let flags = b.flags { header += ", flags \(flags)" }
            header += ", kernbase \(b.kernelBase)"
            if let base = b.directMapBase, let end = b.directMapEnd {
                header += ", direct map \(base)-\(end)" + (b.directMapPhysical.map { " at physical \($0)" } ?? "")
            } else {
                header += ", no direct map"
            }
            add("minidump", header)
            add("message buffer", "\(b.messageBufferSize) bytes" + (b.messageBufferOrder.map { ", ordered by \($0) (vmcore dmesg prints it)" } ?? ""))
        }
        if let h = f.dumpHeader {
            add("dump header", "\(h.magic) v\(h.version), status \(h.status); leading header at \(h.leaderOffset), payload at \(h.payloadOffset), trailer at \(h.trailerOffset)")
            flush()
            // The fields savecore writes to info.N.
            var fields: [(String, String)] = [("Architecture", h.architecture), ("Architecture Version", "\(h.architectureVersion)"),
                                              ("Dump Length", "\(h.dumpLength)"), ("Dump Extent", "\(h.dumpExtent)"),
                                              ("Blocksize", "\(h.blockSize)"), ("Compression", h.compression)]
            if let e = h.encryption { fields.append(("Encryption", "\(e), \(h.keySize)-byte key area")) }
            fields += [("Dumptime", h.dumpTimeUTC), ("Hostname", h.hostname),
                       ("Version String", h.versionString.trimmed.split(separator: "\n").joined(separator: "\n    ")),
                       ("Panic String", h.panicString), ("Dump Parity", "\(h.parity)")]
            for (k, v) in fields { out += "  \(k): \(v)\n" }
            for p in h.problems { add("problem", p) }
        }
        add("message buffer", f.freebsd == nil ? f.messageBufferOrder.map { "ordered by \($0) (vmcore dmesg prints it)" } : nil)
        for w in f.warnings { add("warning", w) }
        flush()
        return out
    }
}

/// "8.54 s" or "3 d 04:05:06 (273906.0 s)".
func formatUptime(_ seconds: Double) -> String {
    let s = Int(seconds)
    guard s >= 60 else { return fixed(seconds, 2) + " s" }
    let days = s / 86400
    let clock = [s / 3600 % 24, s / 60 % 60, s % 60].map { String($0).leftPadded(2) }.joined(separator: ":")
    return (days > 0 ? "\(days) d " : "") + clock + " (" + fixed(seconds, 1) + " s)"
}

/// Bytes as a short human figure: "1023.9 MiB".
func byteCount(_ n: UInt64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(n) bytes" : fixed(value, 1) + " " + units[unit]
}

/// One line of compact JSON (for JSON Lines output).
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
