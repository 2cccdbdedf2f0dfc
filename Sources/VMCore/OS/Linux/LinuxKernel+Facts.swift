extension Dump {
    /// The container's facts and the kernel's: for Linux, where the kernel is and what it is
    /// (KASLR offset, phys_base, paging levels, the banner, with the source of each); for
    /// FreeBSD, the dump header and message buffer. A kernel that cannot be located leaves a
    /// warning, not an error.
    public func analyzedFacts() throws(VMCoreError) -> DumpFacts {
        if operatingSystem == .freebsd { return try FreeBSDKernelView(dump: self).facts() }
        guard LinuxKernel.supportedArchitectures.contains(architecture) else {
            return try self.facts()
        }
        do {
            return try LinuxKernel(dump: self).facts()
        } catch {
            var facts = try self.facts()
            facts.warnings.append("kernel not located: \(error.reason)")
            return facts
        }
    }
}

extension DumpFacts {
    mutating func add(kernel: LinuxKernel) {
        var l = linux ?? LinuxFacts(vmcoreinfo: false, vmcoreinfoFacts: [:])
        if let info = kernel.vmcoreinfo, kernel.recoveredVMCoreInfoAddress != nil {
            l.vmcoreinfoSource = info.source
            if l.vmcoreinfoFacts.isEmpty { l.vmcoreinfoFacts = Dump.keyFacts(info.value) }
            self.kernel.kernelRelease = self.kernel.kernelRelease ?? info.value.osRelease
            l.buildID = l.buildID ?? info.value.buildID
        }
        l.kaslrOffset = hex(kernel.kaslrOffset.value)
        l.kaslrOffsetSource = kernel.kaslrOffset.source
        // The CPUs' program counters, named when kallsyms can (kernel addresses only).
        for (i, cpu) in kernel.dump.cpus.enumerated() where i < memory.cpus.count && cpu.pc >> 63 == 1 {
            memory.cpus[i].pcSymbol = kernel.symbolize(cpu.pc)
        }
        if let pb = kernel.physBase {
            l.physBase = hex(pb.value)
            l.physBaseSource = pb.source
        }
        if let a = kernel.aarch64 {
            l.kimageVoffset = hex(a.kimageVoffset.value)
            l.kimageVoffsetSource = a.kimageVoffset.source
            l.physOffset = a.physOffset.map { hex($0.value) }
            l.physOffsetSource = a.physOffset?.source
            l.vaBits = a.vaBits.value
            l.vaBitsConfigured = a.configuredVABits
            l.vaBitsSource = a.vaBits.source
            l.linearMapOffset = a.linearOffset.map { hex($0.value) }
            l.linearMapSource = a.linearOffset?.source
            l.pacMask = a.pacMask.map(hex)
            warnings += a.warnings
        }
        switch Result(catching: { () throws(VMCoreError) in try kernel.kallsyms() }) {
        case .success(let k):
            l.symbols = k.count
            l.symbolsSource = "kallsyms, \(k.encoding.rawValue) addresses, \(k.source)"
        case .failure(let e): warnings.append("kallsyms not read: \(e.reason)")
        }
        switch Result(catching: { () throws(VMCoreError) in try kernel.btfLocation() }) {
        case .success(let b):
            l.btfAddress = hex(b.value.address)
            l.btfBytes = b.value.bytes
            l.btfSource = b.source
        case .failure(let e): warnings.append("BTF not found: \(e.reason)")
        }
        l.pagingLevels = kernel.pagingLevels.value
        l.pagingLevelsSource = kernel.pagingLevels.source
        l.pageTableRoot = hex(kernel.pageTableRoot.value)
        l.pageTableRootSource = kernel.pageTableRoot.source
        var k = self.kernel
        if let uts = try? kernel.utsname() {
            k.kernelRelease = k.kernelRelease ?? uts.release
            k.kernelVersion = k.kernelVersion ?? uts.version
            // The kernel's own names win over a dump header's copy.
            k.hostname = uts.nodename
            k.domain = uts.domainname
            k.machine = uts.machine
        }
        do {
            let log = try kernel.kernelLog()
            l.logFormat = log.format
            l.logRecords = log.records.count
            if let last = log.records.last { k.uptime = Double(last.timestampNanoseconds) / 1e9 }
            k.panic = PanicSummary(records: log.records)
        } catch {
            warnings.append("kernel log not read: \(error.reason)")
        }
        // The banner: in the kernel image first; scanning all memory is the last resort.
        if let b = kernel.banner(release: k.kernelRelease, version: k.kernelVersion)
            ?? kernel.banner(release: k.kernelRelease, version: k.kernelVersion, everywhere: true)
            ?? (k.kernelRelease == nil ? nil : kernel.banner(release: nil, version: nil, everywhere: true)) {
            l.kernelBanner = b.value
            l.kernelBannerSource = b.source
            if k.kernelRelease == nil {
                k.kernelRelease = b.value.split(separator: " ").dropFirst(2).first.map(String.init)
            }
        }
        self.kernel = k
        linux = l
    }
}
