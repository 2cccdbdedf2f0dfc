/// The arm64 kernel's layout: what VMCOREINFO says about it, and what its page tables say
/// where the two can disagree (linux.md A6.3, linux-analysis.md C4).
public struct AArch64Layout: Sendable {
    /// `kimage_voffset`: kernel-image virtual address minus physical address.
    public var kimageVoffset: Sourced<UInt64>
    /// `PHYS_OFFSET` (`memstart_addr`), as a 64-bit two's-complement value: negative when a
    /// 52-bit kernel runs with 48-bit VA.
    public var physOffset: Sourced<UInt64>?
    /// `NUMBER(VA_BITS)`: the width the kernel was built for.
    public var configuredVABits: Int
    /// The width it ran with (`64 − TCR_EL1_T1SZ`).
    public var vaBits: Sourced<Int>
    /// The kernel's page size.
    public var pageSize: Int
    /// `NUMBER(KERNELPACMASK)`: the bits pointer authentication signs return addresses with.
    public var pacMask: UInt64?
    /// Linear-map virtual address minus physical address, for every address of the linear map.
    public var linearOffset: Sourced<UInt64>?
    /// Where VMCOREINFO and the page tables disagree.
    public var warnings: [String]
}

extension LinuxKernel {
    /// `_stext` is 64 KiB above `_text` on arm64 (the image header and `.head.text`).
    static let arm64HeadSize: UInt64 = 0x10000

    /// Locates an arm64 kernel from VMCOREINFO: the page-table root `swapper_pg_dir −
    /// kimage_voffset`, the walk chosen by page size and VA widths, and the linear map's
    /// offset found through the page tables (a negative `PHYS_OFFSET` included). QEMU's
    /// aarch64 dumps save no TTBR1, so without VMCOREINFO — in the dump or in RAM — there is
    /// no root to walk from.
    static func locateAArch64(_ dump: Dump, _ vi: VMCoreInfo?, tag: String, searchedRAM: Bool) throws(VMCoreError) -> Placement {
        let file = dump.files[0]
        guard let vi else {
            throw VMCoreError(.translation, file: file, "cannot locate the arm64 kernel",
                              "the dump has no VMCOREINFO note\(searchedRAM ? " and none was found in its memory" : ""), and an arm64 dump's CPU notes hold no TTBR1, so nothing gives the page-table root (SYMBOL(swapper_pg_dir) and NUMBER(kimage_voffset))")
        }
        let missing = ["SYMBOL(swapper_pg_dir)", "NUMBER(kimage_voffset)"].filter { vi[$0] == nil }
        guard missing.isEmpty, let pgd = vi.symbol("swapper_pg_dir"), let voffset = vi.number("kimage_voffset").map(UInt64.init(bitPattern:)) else {
            throw VMCoreError(.translation, file: file, "cannot locate the arm64 kernel", "its \(tag) has no \(missing.joined(separator: " or "))")
        }
        let pageSize = vi.pageSize ?? dump.pageSize
        let configured = vi.number("VA_BITS").flatMap { (36...52).contains($0) ? Int($0) : nil } ?? 48
        let configuredSource = vi.number("VA_BITS") != nil ? "\(tag) VA_BITS" : "default (no VA_BITS)"
        var running: Sourced<Int>
        if let t1sz = vi.number("TCR_EL1_T1SZ"), (12...28).contains(t1sz) {
            running = Sourced(value: 64 - Int(t1sz), source: "\(tag) TCR_EL1_T1SZ")
        } else if configured == 52, pageSize != 65536, let ms = vi.symbol("mem_section") {
            // 5.4–5.8 give no T1SZ: a 52-bit kernel that fell back to 48 bits has its linear
            // map at 0xffff… (bit 51 set); running 52-bit, below 0xfff8… (makedumpfile's guess).
            running = Sourced(value: ms >> 51 & 1 == 1 ? 48 : 52, source: "\(tag) SYMBOL(mem_section) (no TCR_EL1_T1SZ)")
        } else {
            running = Sourced(value: configured, source: configuredSource)
        }
        guard let form = AArch64.linuxKernelPaging(pageSize: UInt64(pageSize), configuredBits: configured, runningBits: running.value) else {
            throw VMCoreError(.unsupported, file: file, "cannot walk the arm64 kernel's page tables",
                              "its \(tag) gives page size \(pageSize) and VA_BITS \(configured); arm64 pages are 4, 16 or 64 KiB and VA widths 36–52 bits")
        }
        if pageSize == 65536 { running = Sourced(value: running.value, source: running.source + "; 64 KiB pages walk the \(configured)-bit table") }
        let root = Sourced(value: pgd &- voffset, source: "\(tag) SYMBOL(swapper_pg_dir) − kimage_voffset")
        let space = KernelAddressSpace(memory: dump.memory, form: form, root: root.value, file: file, rootSource: root.source)

        let kaslr = vi.kernelOffset.map { Sourced(value: $0, source: "\(tag) KERNELOFFSET") }
            ?? Sourced(value: 0, source: "not in \(tag) (no KERNELOFFSET)")
        let stext = vi.symbol("_stext")
        // The search of the image starts at _stext: 6.1 leaves the 64 KiB head below it unmapped.
        let imageStart = stext ?? vi.number("MODULES_END").map { UInt64(bitPattern: $0) &+ kaslr.value &+ arm64HeadSize }
        var warnings: [String] = []
        // The image mapping the tables hold must be kimage_voffset's.
        if let stext, let pa = try? space.physical(stext), pa != stext &- voffset {
            warnings.append("the page tables map _stext at physical \(hex(pa)), not at \(hex(stext &- voffset)) as kimage_voffset says")
        }

        let physOffset = vi.number("PHYS_OFFSET").map { Sourced(value: UInt64(bitPattern: $0), source: "\(tag) PHYS_OFFSET") }
        // The linear map: PAGE_OFFSET is the configured width's, −(1 << VA_BITS) (5.4+), and
        // pa = va − PAGE_OFFSET + PHYS_OFFSET; the page tables have the last word.
        let pageOffset = UInt64.max << UInt64(configured)
        let formula = physOffset.map { pageOffset &- $0.value }
        var linear: Sourced<UInt64>?
        if let ms = vi.symbol("mem_section"), ms >> 63 == 1, !(imageStart.map { ms >= $0 && ms &- $0 < 1 << 30 } ?? false),
           let pa = try? space.physical(ms) {
            linear = Sourced(value: ms &- pa, source: "page tables (SYMBOL(mem_section))")
            if let formula, formula != ms &- pa {
                warnings.append("the linear map is at offset \(hex(ms &- pa)) in the page tables, not \(hex(formula)) as PHYS_OFFSET and VA_BITS say")
            }
        } else if let formula {
            linear = Sourced(value: formula, source: "\(tag) PHYS_OFFSET and VA_BITS")
        }
        let layout = AArch64Layout(
            kimageVoffset: Sourced(value: voffset, source: "\(tag) kimage_voffset"), physOffset: physOffset,
            configuredVABits: configured, vaBits: running, pageSize: pageSize,
            pacMask: vi.number("KERNELPACMASK").map(UInt64.init(bitPattern:)), linearOffset: linear, warnings: warnings)
        let levels = Sourced(value: form.levels.count,
                             source: "\(form.virtualBits)-bit VA, \(pageSize / 1024) KiB pages (\(running.source))")
        return Placement(kaslrOffset: kaslr, physBase: nil, pagingLevels: levels, pageTableRoot: root, addressSpace: space,
                         imageStart: imageStart, aarch64: layout)
    }
}
