extension Dump {
    /// The container's facts and the kernel's: for Linux, where the kernel is and what it is
    /// (KASLR offset, phys_base, paging levels, the banner, with the source of each); for
    /// FreeBSD, the dump header and message buffer. A kernel that cannot be located leaves a
    /// warning, not an error.
    public func analyzedFacts() throws(VMCoreError) -> DumpFacts {
        if operatingSystem == .freebsd { return try FreeBSDKernelView(dump: self).facts() }
        guard architecture == .x86_64 else {
            var facts = try self.facts()
            facts.operatingSystem = operatingSystem
            return facts
        }
        do {
            return try LinuxKernel(dump: self).facts()
        } catch {
            var facts = try self.facts()
            facts.operatingSystem = operatingSystem
            facts.warnings.append("kernel not located: \(error.reason)")
            return facts
        }
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
            warnings.append("kernel log not read: \(error.reason)")
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
