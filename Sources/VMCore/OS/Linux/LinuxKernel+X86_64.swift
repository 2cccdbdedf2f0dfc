/// Locating an x86-64 Linux kernel: VMCOREINFO's `phys_base` and `init_top_pgt`, or, without
/// VMCOREINFO, the CR3 a CPU saved and the kernel-text mapping it holds (linux.md A6.1–A6.2).
extension LinuxKernel {
    /// `__START_KERNEL_map`: where the kernel image is mapped (arch/x86/include/asm/page_64_types.h).
    public static let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
    /// `_text` without KASLR: `__START_KERNEL_map` + CONFIG_PHYSICAL_START (16 MiB by default).
    public static let defaultText: UInt64 = 0xffff_ffff_8100_0000
    /// The kernel image mapping is at most 1 GiB (KERNEL_IMAGE_SIZE with KASLR).
    static let kernelImageEnd: UInt64 = 0xffff_ffff_c000_0000

    static func locateX86_64(_ dump: Dump, _ vi: VMCoreInfo?, tag: String) throws(VMCoreError) -> Placement {
        let file = dump.files[0]
        if let vi, let pb = vi.number("phys_base"),
           let pgd = vi.symbol("init_top_pgt") ?? vi.symbol("swapper_pg_dir") ?? vi.symbol("init_level4_pgt") {
            let physBase = UInt64(bitPattern: pb)
            let offset = vi.kernelOffset ?? vi.symbol("_stext").map { $0 &- Self.defaultText } ?? 0
            let kaslr = Sourced(value: offset, source: vi.kernelOffset != nil ? "\(tag) KERNELOFFSET" : "\(tag) SYMBOL(_stext)")
            let five = (vi.number("pgtable_l5_enabled") ?? 0) != 0
            let levels = Sourced(value: five ? 5 : 4, source: vi.number("pgtable_l5_enabled") != nil ? "\(tag) pgtable_l5_enabled" : "default")
            let root = Sourced(value: pgd &- Self.startKernelMap &+ physBase,
                               source: "\(tag) SYMBOL(\(vi.symbol("init_top_pgt") != nil ? "init_top_pgt" : "swapper_pg_dir"))")
            let mask = vi.number("sme_mask").map { UInt64(bitPattern: $0) } ?? 0
            // The kernel's physical-address width (46 bits with 4-level paging, 52 with 5).
            let bits = vi.number("MAX_PHYSMEM_BITS").map { Int(clamping: $0) }.flatMap { (36...52).contains($0) ? $0 : nil } ?? 52
            let space = KernelAddressSpace(memory: dump.memory, form: X86_64Paging(fiveLevel: five, physicalBits: bits, encryptionMask: mask),
                                           root: root.value, file: file, rootSource: root.source)
            return Placement(kaslrOffset: kaslr, physBase: Sourced(value: physBase, source: tag), pagingLevels: levels,
                             pageTableRoot: root, addressSpace: space, imageStart: Self.defaultText &+ offset)
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
                let offset = text.virtual &- Self.defaultText
                return Placement(
                    kaslrOffset: Sourced(value: offset, source: "page tables (CPU \(i) CR3), first kernel-text mapping"),
                    physBase: Sourced(value: text.physical &- (text.virtual &- Self.startKernelMap), source: "page tables (CPU \(i) CR3)"),
                    pagingLevels: Sourced(value: five ? 5 : 4, source: five == la57 ? "CPU \(i) CR4.LA57" : "page tables (CR4.LA57 disagreed)"),
                    pageTableRoot: Sourced(value: root, source: "CPU \(i) CR3"), addressSpace: w, imageStart: text.virtual)
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

}
