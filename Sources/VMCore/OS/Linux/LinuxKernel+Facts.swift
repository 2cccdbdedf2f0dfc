extension Dump {
    /// The container's facts and, for Linux x86-64 dumps, where the kernel is and what it is:
    /// KASLR offset, phys_base, paging levels and the banner, with the source of each. A kernel
    /// that cannot be located leaves a warning, not an error.
    public func analyzedFacts() throws(VMCoreError) -> DumpFacts {
        var facts = try self.facts()
        if let minidump {
            facts.add(minidump: minidump)
            return facts
        }
        guard architecture == .x86_64 else { return facts }
        do {
            facts.add(kernel: try LinuxKernel(dump: self))
        } catch {
            facts.warnings.append("kernel not located: \(error.message)\(error.detail.map { ": " + $0 } ?? "")")
        }
        return facts
    }
}

extension DumpFacts {
    mutating func add(kernel: LinuxKernel) {
        if let info = kernel.vmcoreinfo, kernel.recoveredVMCoreInfoAddress != nil {
            vmcoreinfoSource = info.source
            kernelRelease = kernelRelease ?? info.value.osRelease
            buildID = buildID ?? info.value.buildID
        }
        kaslrOffset = hex(kernel.kaslrOffset.value)
        kaslrOffsetSource = kernel.kaslrOffset.source
        physBase = hex(kernel.physBase.value)
        physBaseSource = kernel.physBase.source
        pagingLevels = kernel.pagingLevels.value
        pagingLevelsSource = kernel.pagingLevels.source
        pageTableRoot = hex(kernel.pageTableRoot.value)
        pageTableRootSource = kernel.pageTableRoot.source
        if let uts = try? kernel.utsname() {
            kernelRelease = kernelRelease ?? uts.release
            kernelVersion = kernelVersion ?? uts.version
            // The kernel's own names win over a dump header's copy.
            hostname = uts.nodename
            domain = uts.domainname
            machine = uts.machine
        }
        do {
            let log = try kernel.kernelLog()
            logFormat = log.format
            logRecords = log.records.count
            if let last = log.records.last { uptime = Double(last.timestampNanoseconds) / 1e9 }
            panic = PanicSummary(records: log.records)
        } catch {
            warnings.append("kernel log not read: \(error.message)\(error.detail.map { ": " + $0 } ?? "")")
        }
        // The banner: in the kernel image first; scanning all memory is the last resort.
        let version = kernelVersion
        if let b = kernel.banner(release: kernelRelease, version: version)
            ?? kernel.banner(release: kernelRelease, version: version, everywhere: true)
            ?? (kernelRelease == nil ? nil : kernel.banner(release: nil, version: nil, everywhere: true)) {
            kernelBanner = b.value
            kernelBannerSource = b.source
            if kernelRelease == nil {
                kernelRelease = b.value.split(separator: " ").dropFirst(2).first.map(String.init)
            }
        }
    }
}

extension DumpFacts {
    /// A FreeBSD minidump: its header, and what the message buffer says (the kernel's version
    /// line, the panic and the CPU that paniced).
    mutating func add(minidump m: FreeBSDMinidump) {
        var order: String?
        if let buffer = try? FreeBSDMessageBuffer(minidump: m) {
            order = buffer.source
            let lines = buffer.text.split(separator: "\n").map(String.init)
            // "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64", printed at boot.
            if let v = lines.last(where: { $0.hasPrefix("FreeBSD ") && $0.split(separator: " ").count >= 3 }) {
                kernelVersion = v
                kernelRelease = String(v.split(separator: " ")[1])
            }
            if let p = lines.lastIndex(where: { $0.hasPrefix("panic: ") }) {
                var summary = PanicSummary(kind: "panic", message: lines[p], panicMessage: lines[p])
                // "cpuid = 1" follows the panic line; "KDB: stack backtrace:" then "#0 0x… at f+0x…".
                if let c = lines[p...].first(where: { $0.hasPrefix("cpuid = ") }) { summary.cpu = Int(c.dropFirst(8)) }
                if let bt = lines[p...].firstIndex(where: { $0.hasPrefix("KDB: stack backtrace:") }) {
                    summary.callTrace = lines[(bt + 1)...].prefix { $0.hasPrefix("#") }.map { $0 }
                }
                panic = summary
            }
        }
        let h = m.header
        let directMap = h.machine != .i386
        freebsd = FreeBSDFacts(machine: h.machine.rawValue, minidumpVersion: h.version, kernelBase: hex(h.kernelBase),
                               directMapBase: directMap ? hex(h.directMapBase) : nil, directMapEnd: directMap ? hex(h.directMapEnd) : nil,
                               directMapPhysical: h.machine == .arm64 || h.machine == .riscv ? hex(h.directMapPhysical) : nil,
                               flags: h.flags.map(hex), paeMode: h.paeMode,
                               messageBufferSize: h.messageBufferSize, messageBufferOrder: order)
    }
}
