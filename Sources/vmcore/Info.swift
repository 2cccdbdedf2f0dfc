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

    /// The facts as text, section by section: the container, the kernel, the memory and CPUs,
    /// then what only a Linux or a FreeBSD dump has, then warnings.
    static func text(_ f: DumpFacts) -> String {
        let c = f.container, m = f.memory, k = f.kernel
        var lines: [(String, String)] = []
        func add(_ key: String, _ v: String?) { if let v { lines.append((key, v)) } }
        add("file", c.files.joined(separator: ", "))
        add("format", c.variant)
        if let n = c.flattenedRecords { add("flattened", "\(n) records, read in place") }
        add("byte order", c.byteOrder.description)
        add("architecture", c.architecture)
        // QEMU writes aarch64 kdump files in 64 KiB blocks whatever the kernel's page size.
        if let kernelPage = f.linux?.vmcoreinfoFacts["PAGESIZE"].flatMap({ Int($0) }), kernelPage != c.pageSize {
            add("page size", "\(c.pageSize) (the dump's blocks; the kernel's pages are \(kernelPage))")
        } else {
            add("page size", "\(c.pageSize)")
        }
        add("kernel release", k.kernelRelease)
        add("kernel version", k.kernelVersion)
        add("kernel banner", f.linux?.kernelBanner)
        add("hostname", k.hostname)
        add("domain", k.domain)
        add("machine", k.machine)
        add("crash time", f.linux?.crashTimeUTC.map { "\($0) (CRASHTIME \(f.linux?.crashTime ?? 0))" })
        add("uptime", k.uptime.map { formatUptime($0) })
        if let p = k.panic {
            add("panic", p.message)
            if let pm = p.panicMessage, pm != p.message { add("then", pm) }
            add("crashed in", p.cpu.map { cpu in
                p.pid == nil && p.command == nil ? "CPU \(cpu)" : "CPU \(cpu), PID \(p.pid.map(String.init) ?? "?"), command \(p.command ?? "?")"
            })
        }
        add("kernel log", f.linux?.logFormat.map { "\(f.linux?.logRecords ?? 0) records, \($0) (vmcore dmesg prints it)" })
        add("dump written", c.dumpTimeUTC)
        add("dump level", c.dumpLevel.map(String.init))
        add("compression", c.compression.isEmpty ? (c.format == .kdumpCompressed ? "none" : nil) : c.compression.joined(separator: ", "))
        // In an ELF core, pages past p_filesz read as zero; makedumpfile -E puts filtered pages there too.
        var pages = "\(m.pages.present) present (\(m.pages.zero) \(c.format == .elf ? "zero-filled past p_filesz" : "zero"))"
        if c.format == .kdumpCompressed || m.pages.excluded > 0 { pages += ", \(m.pages.excluded) excluded" }
        if m.pages.missing > 0 || c.incomplete { pages += ", \(m.pages.missing) missing" }
        add("pages", pages)
        if c.incomplete { add("incomplete", "yes: the dump tool stopped before writing every page") }
        add("memory", "\(byteCount(m.memoryBytes)) in \(m.memoryRanges.count) range\(m.memoryRanges.count == 1 ? "" : "s")")
        var out = ""
        func flush() {
            for (key, v) in lines { out += (key + ":").padRight(17) + v + "\n" }
            lines = []
        }
        flush()
        for r in m.memoryRanges.prefix(32) { out += "  \(r.start)-\(r.end)  \(byteCount(r.size))\n" }
        if m.memoryRanges.count > 32 { out += "  … \(m.memoryRanges.count - 32) more (--json lists all)\n" }
        // A FreeBSD dump carries no CPU notes: say nothing of CPUs unless there are some.
        if !(f.freebsd != nil && m.cpus.isEmpty) { add("CPUs", m.cpuCount.map(String.init) ?? "\(m.cpus.count)") }
        flush()
        for cpu in m.cpus { out += "  cpu \(cpu.index): pid \(cpu.pid)  pc \(cpu.pc)\(cpu.pcSymbol.map { " (\($0))" } ?? "")  sp \(cpu.sp)\n" }
        for q in m.qemuCPUs { out += "  cpu \(q.index) (QEMU state): cr3 \(q.cr3)  idt \(q.idtBase)  rip \(q.rip)\n" }
        if let l = f.linux {
            add("VMCOREINFO", l.vmcoreinfo ? "present" : (l.vmcoreinfoSource.map { "absent from the dump; \($0)" } ?? "absent"))
            flush()
            for (key, v) in l.vmcoreinfoFacts.sorted(by: { $0.key < $1.key }) { out += "  \(key)=\(v)\n" }
            add("KASLR offset", l.kaslrOffset.map { "\($0) (\(l.kaslrOffsetSource ?? ""))" })
            add("phys_base", l.physBase.map { "\($0) (\(l.physBaseSource ?? ""))" })
            add("kimage_voffset", l.kimageVoffset.map { "\($0) (\(l.kimageVoffsetSource ?? ""))" })
            add("PHYS_OFFSET", l.physOffset.map { "\($0)\(($0.hasPrefix("0xf") && $0.count == 18) ? " (negative)" : "") (\(l.physOffsetSource ?? ""))" })
            if let bits = l.vaBits {
                let built = l.vaBitsConfigured.map { $0 == bits ? "" : ", built for \($0)" } ?? ""
                add("VA bits", "\(bits)\(built) (\(l.vaBitsSource ?? ""))")
            }
            if let offset = l.linearMapOffset, let o = UInt64(offset.dropFirst(2), radix: 16) {
                // Where the dump's lowest physical address sits in the linear map.
                let low = m.memoryRanges.first.flatMap { UInt64($0.start.dropFirst(2), radix: 16) } ?? 0
                add("linear map", "va = pa + \(offset), physical \(hex(low)) at \(hex(low &+ o)) (\(l.linearMapSource ?? ""))")
            }
            add("PAC mask", l.pacMask)
            add("paging", l.pagingLevels.map { "\($0)-level (\(l.pagingLevelsSource ?? ""))" })
            add("page tables", l.pageTableRoot.map { "\($0) (\(l.pageTableRootSource ?? ""))" })
            add("symbols", l.symbols.map { "\($0) (\(l.symbolsSource ?? ""))" })
            add("types", l.btfAddress.map { "BTF at \($0), \(l.btfBytes.map { formatDecimal(Double($0) / 1048576, places: 1) } ?? "?") MiB (\(l.btfSource ?? ""))" })
        }
        if let e = c.eraseinfo { add("erase info", "\(e.split(separator: "\n").count) commands") }
        if let b = f.freebsd?.minidump {
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
        if let h = f.freebsd?.dumpHeader {
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
            for (key, v) in fields { out += "  \(key): \(v)\n" }
            for p in h.problems { add("problem", p) }
        }
        if let freebsd = f.freebsd, freebsd.minidump == nil {
            add("message buffer", freebsd.messageBufferOrder.map { "ordered by \($0) (vmcore dmesg prints it)" })
        }
        for w in f.warnings { add("warning", w) }
        flush()
        return out
    }
}

/// "8.54 s" or "3 d 04:05:06 (273906.0 s)".
func formatUptime(_ seconds: Double) -> String {
    let s = Int(seconds)
    guard s >= 60 else { return formatDecimal(seconds, places: 2) + " s" }
    let days = s / 86400
    let clock = [s / 3600 % 24, s / 60 % 60, s % 60].map { String($0).leftPadded(2) }.joined(separator: ":")
    return (days > 0 ? "\(days) d " : "") + clock + " (" + formatDecimal(seconds, places: 1) + " s)"
}

/// Bytes as a short human figure: "1023.9 MiB".
func byteCount(_ n: UInt64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(n) bytes" : formatDecimal(value, places: 1) + " " + units[unit]
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
