/// A value and where it came from ("VMCOREINFO", "recovered VMCOREINFO", "page tables (CR3)", …).
public struct Sourced<Value: Sendable>: Sendable {
    public var value: Value
    public var source: String
}

/// The Linux kernel in a dump: where its image sits (KASLR offset, phys_base), its page
/// tables, and its VMCOREINFO — from the dump's note, or recovered from guest RAM when the
/// dump carries none (linux.md A6.2).
///
/// x86-64 only for now; other architectures get `unsupported`.
public final class LinuxKernel: Sendable {
    public let dump: Dump
    /// VMCOREINFO: the dump's note, or the kernel's own note found in RAM.
    public let vmcoreinfo: Sourced<VMCoreInfo>?
    /// Physical address of the kernel's VMCOREINFO note text, when it was recovered from RAM.
    public let recoveredVMCoreInfoAddress: UInt64?
    public let kaslrOffset: Sourced<UInt64>
    public let physBase: Sourced<UInt64>
    public let pagingLevels: Sourced<Int>
    /// Physical address of the kernel's top-level page table.
    public let pageTableRoot: Sourced<UInt64>
    /// Kernel virtual memory, through the kernel's page tables.
    public let addressSpace: KernelAddressSpace

    /// `__START_KERNEL_map`: where the kernel image is mapped (arch/x86/include/asm/page_64_types.h).
    public static let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
    /// `_text` without KASLR: `__START_KERNEL_map` + CONFIG_PHYSICAL_START (16 MiB by default).
    public static let defaultText: UInt64 = 0xffff_ffff_8100_0000
    /// The kernel image mapping is at most 1 GiB (KERNEL_IMAGE_SIZE with KASLR).
    static let kernelImageEnd: UInt64 = 0xffff_ffff_c000_0000

    /// Locates the kernel in `dump`. `recoverVMCoreInfo: false` skips the search of guest RAM
    /// for the kernel's own VMCOREINFO note (then only the page tables a CPU saved are used).
    public init(dump: Dump, recoverVMCoreInfo: Bool = true) throws(VMCoreError) {
        self.dump = dump
        let file = dump.files[0]
        guard dump.architecture == .x86_64 else {
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

        if let vi = info?.value, let pb = vi.number("phys_base"),
           let pgd = vi.symbol("init_top_pgt") ?? vi.symbol("swapper_pg_dir") ?? vi.symbol("init_level4_pgt") {
            let physBase = UInt64(bitPattern: pb)
            self.physBase = Sourced(value: physBase, source: tag)
            let offset = vi.kernelOffset ?? vi.symbol("_stext").map { $0 &- Self.defaultText } ?? 0
            kaslrOffset = Sourced(value: offset, source: vi.kernelOffset != nil ? "\(tag) KERNELOFFSET" : "\(tag) SYMBOL(_stext)")
            let five = (vi.number("pgtable_l5_enabled") ?? 0) != 0
            pagingLevels = Sourced(value: five ? 5 : 4, source: vi.number("pgtable_l5_enabled") != nil ? "\(tag) pgtable_l5_enabled" : "default")
            let root = pgd &- Self.startKernelMap &+ physBase
            pageTableRoot = Sourced(value: root, source: "\(tag) SYMBOL(\(vi.symbol("init_top_pgt") != nil ? "init_top_pgt" : "swapper_pg_dir"))")
            let mask = vi.number("sme_mask").map { UInt64(bitPattern: $0) } ?? 0
            // The kernel's physical-address width (46 bits with 4-level paging, 52 with 5).
            let bits = vi.number("MAX_PHYSMEM_BITS").map { Int(clamping: $0) }.flatMap { (36...52).contains($0) ? $0 : nil } ?? 52
            addressSpace = KernelAddressSpace(memory: dump.memory, form: X86_64Paging(fiveLevel: five, physicalBits: bits, encryptionMask: mask),
                                              root: root, file: file, rootSource: pageTableRoot.source)
            return
        }

        // No usable VMCOREINFO: the CR3 a CPU saved, and the kernel-text mapping it holds. Each
        // distinct CR3 is tried once, and at most 64 of them (a damaged dump can carry millions
        // of CPU notes).
        var tried = Set<UInt64>()
        for (i, cpu) in dump.qemuCPUs.enumerated() {
            guard tried.count < 64, tried.insert(cpu.cr3 ^ (cpu.cr4 & (1 << 12))).inserted else { continue }
            let la57 = cpu.cr4 & (1 << 12) != 0  // CR4.LA57
            // CR3 bits 0-11 are PCID/flags and bit 63 "no flush"; with PTI the user copy of the
            // PGD is the kernel's + 4 KiB, so try the 8 KiB-aligned kernel half too.
            let base = cpu.cr3 & 0x000f_ffff_ffff_f000
            // CR4 says how many levels; if its answer maps no kernel text, the tables decide.
            for (five, root) in [la57, !la57].flatMap({ f in Set([base, base & ~0x1000]).sorted().map { (f, $0) } }) {
                let w = KernelAddressSpace(memory: dump.memory, form: X86_64Paging(fiveLevel: five), root: root, file: file,
                                           rootSource: "CPU \(i) CR3")
                guard let text = Self.firstKernelTextMapping(w) else { continue }
                kaslrOffset = Sourced(value: text.virtual &- Self.defaultText, source: "page tables (CPU \(i) CR3), first kernel-text mapping")
                physBase = Sourced(value: text.physical &- (text.virtual &- Self.startKernelMap), source: "page tables (CPU \(i) CR3)")
                pagingLevels = Sourced(value: five ? 5 : 4, source: five == la57 ? "CPU \(i) CR4.LA57" : "page tables (CR4.LA57 disagreed)")
                pageTableRoot = Sourced(value: root, source: "CPU \(i) CR3")
                addressSpace = w
                return
            }
        }
        throw VMCoreError(.translation, file: file, "cannot locate the kernel",
                          "the dump has no VMCOREINFO note, none was found in its memory, and no saved CR3 maps kernel text")
    }

    /// The lowest mapped page of the kernel-image region: `_text`, since the kernel unmaps
    /// what lies below it (`cleanup_highmap`). Steps 2 MiB at a time (the image is 2 MiB aligned).
    static func firstKernelTextMapping(_ w: KernelAddressSpace) -> Translation? {
        var va = startKernelMap
        while va < kernelImageEnd {
            if let t = try? w.translate(va) { return t }
            va += 1 << 21
        }
        return nil
    }

    /// Finds the kernel's own VMCOREINFO note in memory: an ELF note named "VMCOREINFO" whose
    /// text starts with `OSRELEASE=` (`kernel/vmcore_info.c` builds it at boot in its own page).
    /// Page starts are searched first, from low addresses up; then every 4-byte position.
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
        // One pass over memory: a note at a page start wins at once; the first one elsewhere
        // is kept in case no page start holds one.
        var unaligned: (VMCoreInfo, UInt64)?
        for run in memory.storedPageRuns() {
            var pfn = run.lowerBound
            while pfn < run.upperBound {
                let n = min(run.upperBound - pfn, 256)
                defer { pfn += n }
                // A chunk with a page only partly in memory fails as a whole: read its pages one by one.
                var chunk = (try? memory.read(physical: pfn * ps, count: Int(n * ps))) ?? []
                if chunk.isEmpty {
                    for p in pfn..<pfn + n {
                        chunk += (try? memory.read(physical: p * ps, count: Int(ps))) ?? [UInt8](repeating: 0, count: Int(ps))
                    }
                }
                let base = pfn * ps
                for o in stride(from: 0, to: chunk.count, by: Int(ps)) {
                    if let found = candidate(chunk, o, base) { return found }
                }
                guard unaligned == nil else { continue }
                // The note's name and the text's first key, found by memchr/memcmp; the header
                // before them must sit at a 4-byte position.
                var from = 0
                while let i = ByteSearch.firstIndex(of: needle, in: chunk, range: from..<chunk.count) {
                    from = i + 1
                    if i >= 12, (i - 12) % 4 == 0, let found = candidate(chunk, i - 12, base) { unaligned = found; break }
                }
            }
        }
        return unaligned
    }
}

extension LinuxKernel: Kernel {
    public var operatingSystem: OperatingSystem { .linux }

    public func kernelAddressSpace() throws(VMCoreError) -> KernelAddressSpace { addressSpace }

    /// A symbol VMCOREINFO names (`init_uts_ns`).
    public func symbol(_ name: String) -> UInt64? { vmcoreinfo?.value.symbol(name) }

    public func unknownSymbolDetail(_ name: String) -> String {
        vmcoreinfo == nil ? "the dump has no VMCOREINFO to name symbols" : "VMCOREINFO names no SYMBOL(\(name))"
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
