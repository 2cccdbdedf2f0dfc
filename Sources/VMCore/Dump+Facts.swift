/// What `vmcore info` reports about a dump, in sections: the container, its memory and CPUs,
/// the kernel (what any kernel says of itself), and what only a Linux or a FreeBSD dump has;
/// then warnings. Every value is ready to print, and addresses are `0x…` strings so JSON
/// consumers never lose 64-bit precision. In JSON the sections' keys sit side by side in one
/// object, as `vmcore info --json` has always printed them.
public struct DumpFacts: Sendable, Encodable {
    public var container: ContainerFacts
    public var memory: MemoryFacts
    public var kernel: KernelFacts
    /// Linux (and dumps of no known system): VMCOREINFO and where the kernel sits.
    public var linux: LinuxFacts?
    /// FreeBSD: the minidump header, the dump-device header, the message buffer.
    public var freebsd: FreeBSDDumpFacts?
    public var warnings: [String]

    enum CodingKeys: String, CodingKey { case warnings }

    public func encode(to encoder: any Encoder) throws {
        try container.encode(to: encoder)
        try memory.encode(to: encoder)
        try kernel.encode(to: encoder)
        try linux?.encode(to: encoder)
        try freebsd?.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(warnings, forKey: .warnings)
    }
}

/// What the file is.
public struct ContainerFacts: Sendable, Encodable {
    public var files: [String]
    public var format: Dump.Format
    public var variant: String
    public var flattened: Bool
    public var flattenedRecords: Int?
    public var producer: String?
    public var byteOrder: ByteOrder
    public var architecture: String
    public var pageSize: Int
    public var compression: [String]
    public var dumpLevel: Int?
    public var incomplete: Bool
    /// When the dump file was written (the kdump header's timestamp, a FreeBSD dump header's
    /// dump time), if the writer set it.
    public var dumpTime: Int64?
    public var dumpTimeUTC: String?
    public var eraseinfo: String?
}

/// The machine's memory and CPUs as the dump holds them.
public struct MemoryFacts: Sendable, Encodable {
    public struct Range: Sendable, Codable {
        public var start: String
        public var end: String
        public var size: UInt64
    }

    public struct Pages: Sendable, Codable {
        public var present: UInt64
        public var zero: UInt64
        public var excluded: UInt64
        public var missing: UInt64
    }

    public struct CPU: Sendable, Codable {
        public var index: Int
        public var pid: UInt32
        public var pc: String
        public var sp: String
        /// `pc` as `symbol+offset/size`, when the kernel's symbols name it.
        public var pcSymbol: String?
    }

    public struct QEMUCPU: Sendable, Codable {
        public var index: Int
        public var cr3: String
        public var idtBase: String
        public var rip: String
    }

    public var memoryRanges: [Range]
    public var memoryBytes: UInt64
    public var pages: Pages
    public var cpuCount: Int?
    public var cpus: [CPU]
    public var qemuCPUs: [QEMUCPU]
}

/// What any kernel says of itself: which system and release, the machine's names, how long it
/// ran, and why it died.
public struct KernelFacts: Sendable, Encodable {
    /// The operating system the dump is of, when known ("Linux", "FreeBSD" in JSON).
    public var operatingSystem: OperatingSystem?
    public var kernelRelease: String?
    public var kernelVersion: String?
    public var hostname: String?
    public var domain: String?
    public var machine: String?
    /// Seconds since boot at the last log record: the uptime at the crash.
    public var uptime: Double?
    /// Why the kernel died, from its log.
    public var panic: PanicSummary?
}

/// What a Linux dump says through VMCOREINFO and the kernel's page tables, each placement
/// value with where it came from.
public struct LinuxFacts: Sendable, Encodable {
    public var vmcoreinfo: Bool
    /// Where the VMCOREINFO used came from: the dump's note, or recovered from guest RAM.
    public var vmcoreinfoSource: String?
    /// The VMCOREINFO values most asked for, by their VMCOREINFO key.
    public var vmcoreinfoFacts: [String: String]
    public var buildID: String?
    /// `CRASHTIME` from VMCOREINFO, seconds since the epoch, and as UTC text.
    public var crashTime: Int64?
    public var crashTimeUTC: String?
    public var kaslrOffset: String?
    public var kaslrOffsetSource: String?
    public var physBase: String?
    public var physBaseSource: String?
    public var pagingLevels: Int?
    public var pagingLevelsSource: String?
    public var pageTableRoot: String?
    public var pageTableRootSource: String?
    /// arm64: `kimage_voffset`, `PHYS_OFFSET` (two's complement: negative when a 52-bit kernel
    /// runs with 48-bit VA), the VA width run with and built for, and the linear map's offset
    /// (virtual minus physical address), each with its source.
    public var kimageVoffset: String?
    public var kimageVoffsetSource: String?
    public var physOffset: String?
    public var physOffsetSource: String?
    public var vaBits: Int?
    public var vaBitsConfigured: Int?
    public var vaBitsSource: String?
    public var linearMapOffset: String?
    public var linearMapSource: String?
    /// arm64 `KERNELPACMASK`: the bits pointer authentication uses in return addresses.
    public var pacMask: String?
    /// The full `linux_banner` line.
    public var kernelBanner: String?
    public var kernelBannerSource: String?
    public var logFormat: String?
    public var logRecords: Int?
    /// The kernel's symbol table (kallsyms): how many symbols, and how it was found and decoded.
    public var symbols: Int?
    public var symbolsSource: String?
    /// The kernel's types (BTF): where the blob is, its length, and how it was found.
    public var btfAddress: String?
    public var btfBytes: UInt64?
    public var btfSource: String?
}

/// What a FreeBSD dump says without a kernel file: the minidump header, the dump-device
/// header, and how the message buffer was put in order.
public struct FreeBSDDumpFacts: Sendable, Encodable {
    /// The minidump header, for minidumps (JSON key `freebsd`).
    public var minidump: FreeBSDFacts?
    /// The kernel dump header, when the dump was read from a FreeBSD dump device.
    public var dumpHeader: FreeBSDDumpHeaderFacts?
    public var messageBufferOrder: String?

    enum CodingKeys: String, CodingKey { case minidump = "freebsd", dumpHeader, messageBufferOrder }
}

/// What a FreeBSD minidump's header and message buffer say.
public struct FreeBSDFacts: Sendable, Codable {
    /// FreeBSD's name for the architecture, as the minidump magic gives it ("amd64", "arm64",
    /// "i386", "riscv").
    public var machine: String
    public var minidumpVersion: UInt32
    public var kernelBase: String
    /// The direct map's virtual range, and the physical address it starts at; nil on i386,
    /// which has no direct map.
    public var directMapBase: String?
    public var directMapEnd: String?
    public var directMapPhysical: String?
    /// arm64 v3 `flags` (the page size is in its low two bits).
    public var flags: String?
    /// i386: whether the kernel used PAE page tables.
    public var paeMode: Bool?
    public var messageBufferSize: UInt32
    public var messageBufferOrder: String?
}

extension Dump {
    /// The VMCOREINFO values `info` shows, by their VMCOREINFO key.
    static func keyFacts(_ info: VMCoreInfo) -> [String: String] {
        var facts: [String: String] = [:]
        for key in ["OSRELEASE", "BUILD-ID", "PAGESIZE", "KERNELOFFSET", "CRASHTIME"] {
            if let v = info[key] { facts[key] = v }
        }
        for name in ["swapper_pg_dir", "init_top_pgt", "init_uts_ns", "_stext", "prb", "vmemmap", "mem_section"] {
            if let v = info.symbol(name) { facts["SYMBOL(\(name))"] = hex(v) }
        }
        for name in ["phys_base", "pgtable_l5_enabled", "KERNEL_IMAGE_SIZE", "VA_BITS", "PHYS_OFFSET", "kimage_voffset"] {
            if let v = info["NUMBER(\(name))"] { facts["NUMBER(\(name))"] = v }
        }
        return facts
    }

    /// Gathers the facts `vmcore info` prints. Reads headers and, for kdump-compressed files,
    /// one sequential pass over the page descriptors (for the page counts).
    public func facts() throws(VMCoreError) -> DumpFacts {
        var pages = PageCounts()
        var compression: [String] = []
        var warnings: [String] = []
        if let kdump {
            let s = try kdump.statistics()
            pages = s.counts
            compression = s.compressions.sorted().map(\.rawValue)
            if kdump.descriptorsMissing > 0 {
                warnings.append("the file ends inside its page descriptor table: \(kdump.descriptorsMissing) dumped pages have no descriptor and are missing")
            }
        } else if let elf {
            pages = elf.pageCounts()
            if elf.isTruncated { warnings.append("the file ends before the data its program headers describe") }
        } else if let minidump {
            pages.present = minidump.bitmap.population
            let avail = minidump.availablePages
            pages.excluded = avail > pages.present ? avail - pages.present : 0
        } else {
            pages.present = memory.ranges.reduce(0) { $0 &+ Checked.divideRoundingUp($1.size, UInt64(pageSize)) }
        }
        if flattenedSources.contains(where: { !$0.hasEndMarker }) {
            warnings.append("the flattened stream has no end record: it was cut off, pages written after the cut are missing")
        }
        let info = vmcoreinfo
        var physBase: (UInt64, String)?
        if let n = info?.number("phys_base") {
            physBase = (UInt64(bitPattern: n), "VMCOREINFO")
        } else if let kdump, producer != "QEMU", kdump.header.headerVersion >= 1, architecture == .x86_64 {
            // QEMU's sub-header phys_base is unreliable (it parses the decimal value as hex).
            physBase = (kdump.subHeader.physBase, "kdump sub header")
        }
        let facts = info.map(Self.keyFacts) ?? [:]
        let crashTime = info?.crashTime
        var dumpTime: Int64?
        if let kdump, kdump.header.timestampSeconds > 0 { dumpTime = kdump.header.timestampSeconds }
        let release = info?.osRelease ?? kdump.flatMap { $0.header.release.isEmpty ? nil : $0.header.release }
        let ranges = memory.ranges
        let container = ContainerFacts(
            files: files, format: format, variant: variant, flattened: flattened,
            flattenedRecords: flattenedSources.isEmpty ? nil : flattenedSources.reduce(0) { $0 + $1.recordCount },
            producer: producer, byteOrder: byteOrder, architecture: architecture.rawValue, pageSize: pageSize,
            compression: compression, dumpLevel: kdump.map { Int($0.subHeader.dumpLevel) },
            incomplete: (kdump?.isIncomplete ?? false) || (elf?.isIncomplete ?? false) || pages.missing > 0,
            dumpTime: dumpTime, dumpTimeUTC: dumpTime.map(formatUTC), eraseinfo: kdump?.eraseinfo)
        let memoryFacts = MemoryFacts(
            memoryRanges: ranges.map { MemoryFacts.Range(start: hex($0.start), end: hex($0.end), size: $0.size) },
            memoryBytes: ranges.reduce(0) { $0 + $1.size },
            pages: MemoryFacts.Pages(present: pages.present, zero: pages.zero, excluded: pages.excluded, missing: pages.missing),
            cpuCount: kdump.map { Int($0.header.nrCPUs) } ?? (cpus.isEmpty ? nil : cpus.count),
            cpus: cpus.map { MemoryFacts.CPU(index: $0.index, pid: $0.pid, pc: hex($0.pc), sp: hex($0.sp), pcSymbol: nil) },
            qemuCPUs: qemuCPUs.enumerated().map { MemoryFacts.QEMUCPU(index: $0.offset, cr3: hex($0.element.cr3), idtBase: hex($0.element.idtBase), rip: hex($0.element.rip)) })
        let kernel = KernelFacts(
            operatingSystem: operatingSystem, kernelRelease: release,
            kernelVersion: kdump.flatMap { $0.header.version.isEmpty ? nil : $0.header.version },
            hostname: kdump.flatMap { $0.header.nodename.isEmpty ? nil : $0.header.nodename })
        let linux = operatingSystem == .freebsd ? nil : LinuxFacts(
            vmcoreinfo: info != nil, vmcoreinfoSource: info == nil ? nil : "VMCOREINFO note", vmcoreinfoFacts: facts,
            buildID: info?.buildID, crashTime: crashTime, crashTimeUTC: crashTime.map(formatUTC),
            kaslrOffset: info?.kernelOffset.map(hex), kaslrOffsetSource: info?.kernelOffset == nil ? nil : "VMCOREINFO KERNELOFFSET",
            physBase: physBase.map { hex($0.0) }, physBaseSource: physBase?.1)
        return DumpFacts(container: container, memory: memoryFacts, kernel: kernel, linux: linux,
                         freebsd: operatingSystem == .freebsd ? FreeBSDDumpFacts() : nil, warnings: warnings)
    }
}

/// `value` with exactly `places` digits after the point, rounded half up (no Foundation: its
/// `String(format:)` would load ICU, doubling a quick command's start-up).
public func formatDecimal(_ value: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let negative = value < 0
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let n = UInt64(scaled)
    let unit = UInt64(scale)
    let whole = String(n / unit)
    let fraction = places == 0 ? "" : "." + String(n % unit).leftPadded(places)
    return (negative && n > 0 ? "-" : "") + whole + fraction
}

/// `YYYY-MM-DD hh:mm:ss UTC` for seconds since the epoch (proleptic Gregorian calendar).
public func formatUTC(_ seconds: Int64) -> String {
    // ±2^55 s is a billion years either way; a damaged CRASHTIME must not overflow the calendar.
    let seconds = min(max(seconds, -(1 << 55)), 1 << 55)
    let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
    let secs = seconds - days * 86400
    // Days to civil date (H. Hinnant's algorithm).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { String(v).leftPadded(2) }
    return "\(y)-\(two(m))-\(two(d)) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) UTC"
}
