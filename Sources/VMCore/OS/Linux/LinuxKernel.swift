import Synchronization

/// A value and where it came from ("VMCOREINFO", "recovered VMCOREINFO", "page tables (CR3)", …).
public struct Sourced<Value: Sendable>: Sendable {
    public var value: Value
    public var source: String
}

/// The Linux kernel in a dump: where its image sits (KASLR offset; x86-64 phys_base; arm64
/// kimage_voffset and PHYS_OFFSET), its page tables, and its VMCOREINFO — from the dump's
/// note, or recovered from guest RAM when the dump carries none (linux.md A6.2).
///
/// What differs by architecture is how the kernel is located: `LinuxKernel+X86_64.swift` and
/// `LinuxKernel+AArch64.swift`, one file each, both returning a `Placement`. Other
/// architectures get `unsupported`.
public final class LinuxKernel: Sendable {
    public let dump: Dump
    /// VMCOREINFO: the dump's note, or the kernel's own note found in RAM.
    public let vmcoreinfo: Sourced<VMCoreInfo>?
    /// Physical address of the kernel's VMCOREINFO note text, when it was recovered from RAM.
    public let recoveredVMCoreInfoAddress: UInt64?
    public let kaslrOffset: Sourced<UInt64>
    /// x86-64: where the kernel image's physical load address differs from its link address.
    public let physBase: Sourced<UInt64>?
    public let pagingLevels: Sourced<Int>
    /// Physical address of the kernel's top-level page table.
    public let pageTableRoot: Sourced<UInt64>
    /// Kernel virtual memory, through the kernel's page tables.
    public let addressSpace: KernelAddressSpace
    /// Where the search of the image's read-only data starts (x86-64 `_text`, arm64 `_stext`);
    /// nil when the dump does not say.
    public let imageStart: UInt64?
    /// The arm64 kernel's layout, on arm64.
    public let aarch64: AArch64Layout?
    /// The symbol table, once read (`kallsyms()`).
    let kallsymsCache = Mutex<Result<Kallsyms, VMCoreError>?>(nil)
    /// The kernel's BTF, once read (`btf()`).
    let btfCache = Mutex<Result<Sourced<BTF>, VMCoreError>?>(nil)
    /// The loaded modules, once read (`modules()`).
    let modulesCache = Mutex<Result<[KernelModule], VMCoreError>?>(nil)
    /// The modules' split BTF, once read (`moduleBTFs()`).
    let moduleBTFCache = Mutex<[(module: String, btf: BTF)]?>(nil)
    /// The user's symbol file and how far its addresses move (`useSymbols(_:)`).
    let symbolFile = Mutex<(SymbolFile, UInt64)?>(nil)
    /// Globals found by their structure (`structuralGlobal(_:)`), and misses.
    let globalsCache = Mutex<[String: UInt64?]>([:])

    /// How an architecture's locator describes the kernel it found.
    struct Placement {
        var kaslrOffset: Sourced<UInt64>
        var physBase: Sourced<UInt64>?
        var pagingLevels: Sourced<Int>
        var pageTableRoot: Sourced<UInt64>
        var addressSpace: KernelAddressSpace
        var imageStart: UInt64?
        var aarch64: AArch64Layout?
    }

    /// Locates the kernel in `dump`. `recoverVMCoreInfo: false` skips the search of guest RAM
    /// for the kernel's own VMCOREINFO note (then only the page tables a CPU saved are used).
    public init(dump: Dump, recoverVMCoreInfo: Bool = true) throws(VMCoreError) {
        self.dump = dump
        let file = dump.files[0]
        guard Self.supportedArchitectures.contains(dump.architecture) else {
            throw VMCoreError(.unsupported, file: file, "kernel address translation is not implemented for \(dump.architecture.rawValue) dumps yet")
        }
        var info = dump.vmcoreinfo.map { Sourced(value: $0, source: "VMCOREINFO note") }
        var recoveredAt: UInt64?
        if info == nil, recoverVMCoreInfo, let found = Self.recoverVMCoreInfo(dump.memory) {
            info = Sourced(value: found.info, source: "VMCOREINFO recovered from guest RAM at \(hex(found.address))")
            recoveredAt = found.address
        }
        vmcoreinfo = info
        recoveredVMCoreInfoAddress = recoveredAt
        let tag = recoveredAt == nil ? "VMCOREINFO" : "recovered VMCOREINFO"
        let placement = switch dump.architecture {
        case .aarch64: try Self.locateAArch64(dump, info?.value, tag: tag, searchedRAM: recoverVMCoreInfo)
        default: try Self.locateX86_64(dump, info?.value, tag: tag)
        }
        kaslrOffset = placement.kaslrOffset
        physBase = placement.physBase
        pagingLevels = placement.pagingLevels
        pageTableRoot = placement.pageTableRoot
        addressSpace = placement.addressSpace
        imageStart = placement.imageStart
        aarch64 = placement.aarch64
    }

    /// The architectures whose kernels this type can locate.
    public static let supportedArchitectures: Set<Architecture> = [.x86_64, .aarch64]

    /// Finds the kernel's own VMCOREINFO note in memory: an ELF note named "VMCOREINFO" whose
    /// text starts with `OSRELEASE=` (`kernel/vmcore_info.c` builds it at boot in its own page).
    /// Page starts (every 4 KiB) are searched first, from low addresses up; then every 4-byte
    /// position.
    static func recoverVMCoreInfo(_ memory: any PhysicalMemory) -> (info: VMCoreInfo, address: UInt64)? {
        let header: [UInt8] = [11, 0, 0, 0]
        let name = Array("VMCOREINFO\0\0".utf8)
        let text = Array("OSRELEASE=".utf8)
        let needle = name + text
        func candidate(_ chunk: [UInt8], _ o: Int, _ base: UInt64) -> (VMCoreInfo, UInt64)? {
            guard o + 24 + text.count <= chunk.count, chunk[o..<o + 4].elementsEqual(header),
                  chunk[o + 8..<o + 12].elementsEqual([0, 0, 0, 0]), chunk[o + 12..<o + 24].elementsEqual(name),
                  chunk[o + 24..<o + 24 + text.count].elementsEqual(text) else { return nil }
            let size = Int(chunk[o + 4]) | Int(chunk[o + 5]) << 8 | Int(chunk[o + 6]) << 16 | Int(chunk[o + 7]) << 24
            guard size > 0, size <= 1 << 16 else { return nil }
            let bytes: [UInt8]
            if o + 24 + size <= chunk.count {
                bytes = Array(chunk[o + 24..<o + 24 + size])
            } else if let more = try? memory.read(physical: base + UInt64(o + 24), count: size) {
                bytes = more
            } else {
                return nil
            }
            let info = VMCoreInfo(text: String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
            guard info.osRelease != nil, info.pageSize != nil,
                  info.symbol("swapper_pg_dir") != nil || info.symbol("init_top_pgt") != nil else { return nil }
            return (info, base + UInt64(o + 24))
        }
        let ps = UInt64(memory.pageSize)
        // One pass over memory, 4 MiB at a time decoded on every core: a note at a page start
        // wins at once; the first one elsewhere is kept in case no page start holds one.
        var unaligned: (VMCoreInfo, UInt64)?
        var found: (VMCoreInfo, UInt64)?
        try? memory.searchStoredChunks(chunkPages: max(1, (4 << 20) / Int(ps))) { (c: PageChunk) -> Bool in
            var chunk = c.bytes
            // Pages that did not decode read as zero, not as what the buffer held before.
            for f in c.failures where f.pfn >= c.pfns.lowerBound {
                let at = Int(f.pfn - c.pfns.lowerBound) * Int(ps)
                if at + Int(ps) <= chunk.count { chunk.replaceSubrange(at..<at + Int(ps), with: repeatElement(0, count: Int(ps))) }
            }
            let base = c.pfns.lowerBound * ps
            // Every 4 KiB boundary is a kernel page start: QEMU writes aarch64 kdump files in
            // 64 KiB blocks whatever the kernel's page size.
            for o in stride(from: 0, to: chunk.count, by: min(Int(ps), 4096)) {
                if let hit = candidate(chunk, o, base) { found = hit; return true }
            }
            guard unaligned == nil else { return false }
            // The note's name and the text's first key, found by memchr/memcmp; the header
            // before them must sit at a 4-byte position.
            var from = 0
            while let i = ByteSearch.firstIndex(of: needle, in: chunk, range: from..<chunk.count) {
                from = i + 1
                if i >= 12, (i - 12) % 4 == 0, let hit = candidate(chunk, i - 12, base) { unaligned = hit; break }
            }
            return false
        }
        if let found { return found }
        return unaligned
    }
}

extension LinuxKernel: Kernel {
    public var operatingSystem: OperatingSystem { .linux }

    public func kernelAddressSpace() throws(VMCoreError) -> KernelAddressSpace { addressSpace }

    /// A symbol VMCOREINFO names (`init_uts_ns`), else one of kallsyms.
    public func symbol(_ name: String) -> UInt64? {
        vmcoreinfo?.value.symbol(name) ?? lookupSymbol(name)?.address
    }

    public func unknownSymbolDetail(_ name: String) -> String {
        if vmcoreinfo == nil { return "the dump has no VMCOREINFO to name symbols" }
        do {
            _ = try kallsyms()
            if let file = symbolFileSource { return "neither VMCOREINFO, kallsyms nor \(file) names \(name)" }
            return "neither VMCOREINFO nor kallsyms names \(name) (a kernel built without CONFIG_KALLSYMS_ALL keeps only its text symbols there; its System.map has the rest)"
        } catch {
            return "VMCOREINFO names no SYMBOL(\(name)), and kallsyms is not readable: \(error.reason)"
        }
    }

    public func messages() throws(VMCoreError) -> KernelMessages {
        let log = try kernelLog()
        return KernelMessages(entries: log.records.map(LogEntry.record), problems: log.problems)
    }

    /// The failure the log reports, with the kernel's names for itself and the crash time.
    public func panicReport() throws(VMCoreError) -> PanicReport {
        let log = try kernelLog()
        guard let panic = PanicSummary(records: log.records) else {
            throw VMCoreError(.notInDump, file: dump.files[0], "the kernel log reports no panic, oops, BUG, warning or lockup",
                              "\(log.records.count) records read; vmcore dmesg prints them")
        }
        let uts = try? utsname()
        let crashTime = vmcoreinfo?.value.crashTime
        return PanicReport(panic: panic, operatingSystem: .linux, kernelRelease: uts?.release ?? vmcoreinfo?.value.osRelease,
                           kernelVersion: uts?.version, hostname: uts?.nodename, crashTime: crashTime, crashTimeUTC: crashTime.map(formatUTC))
    }

    public func facts() throws(VMCoreError) -> DumpFacts {
        var facts = try dump.facts()
        facts.kernel.operatingSystem = .linux
        facts.add(kernel: self)
        return facts
    }
}
