import VMCore

/// Builds a small arm64 Linux kernel's memory for tests of the arm64 kernel locator: what
/// Debian's 6.12 kernel looks like on a CPU without LPA2 — built for 52-bit VA, running with
/// 48 bits (4 KiB pages, 4 levels), `PHYS_OFFSET` negative. The kernel image is mapped at
/// `imageVA` by 2 MiB blocks, the linear map at `0xffff_0000_0000_0000 + pa` by 2 MiB blocks,
/// and VMCOREINFO names it all. RAM starts at physical 0.
public struct ARM64KernelMemoryBuilder {
    public var tables: AArch64TableBuilder
    /// Where `_text` is mapped: the 6.12 KIMAGE_VADDR plus a KASLR offset.
    public static let kaslrOffset: UInt64 = 0x1234_5600_0000
    public static let imageVA: UInt64 = 0xffff_8000_8000_0000 + kaslrOffset
    /// The image's physical address.
    public static let imagePA: UInt64 = 0x20_0000
    public static var kimageVoffset: UInt64 { imageVA &- imagePA }
    /// `memstart_addr` for RAM at 0 when a 52-bit kernel runs with 48 bits:
    /// `0 − (PAGE_OFFSET(48) − PAGE_OFFSET(52))`.
    public static let physOffset: UInt64 = 0 &- (0xffff_0000_0000_0000 &- 0xfff0_0000_0000_0000)
    /// The linear-map address of physical 0.
    public static let linearBase: UInt64 = 0xffff_0000_0000_0000
    /// Lines appended to VMCOREINFO (after the arm64 keys).
    public var vmcoreinfo: [String] = []
    /// VMCOREINFO keys to leave out (`NUMBER(kimage_voffset)`, …), for error tests.
    public var omit: Set<String> = []
    var nextData: UInt64

    /// `size` bytes of RAM (at least 8 MiB).
    public init(size: Int = 8 << 20) {
        let form = AArch64Paging(granule: 4096, virtualBits: 48)
        tables = AArch64TableBuilder(form: form, size: size, tablesAt: 0x1_0000)
        var pa: UInt64 = 0
        while pa < UInt64(size) {
            tables.map(Self.linearBase + pa, to: pa, level: 2, attributes: 1 << 53 | 1 << 54)
            pa += 1 << 21
        }
        pa = Self.imagePA
        while pa < UInt64(size) {
            // The image's read-only data: RO, never executable.
            tables.map(Self.imageVA + pa - Self.imagePA, to: pa, level: 2, attributes: 1 << 7 | 1 << 53 | 1 << 54)
            pa += 1 << 21
        }
        nextData = Self.imagePA + 0x1_0000
    }

    /// Places `bytes` in the image (8-byte aligned) and returns their kernel virtual address.
    public mutating func place(_ bytes: [UInt8], align: UInt64 = 8) -> UInt64 {
        nextData = (nextData + align - 1) / align * align
        let pa = nextData
        tables.memory.replaceSubrange(Int(pa)..<Int(pa) + bytes.count, with: bytes)
        nextData += UInt64(bytes.count)
        return Self.imageVA + pa - Self.imagePA
    }

    /// The physical address of an image address `place` returned.
    public static func physical(ofImage va: UInt64) -> UInt64 { va &- kimageVoffset }

    /// The VMCOREINFO text: OSRELEASE, PAGESIZE, the arm64 keys, then `vmcoreinfo`.
    public var vmcoreinfoText: String {
        let keys: [(String, String)] = [
            ("OSRELEASE", "6.12.0-arm64-test"), ("PAGESIZE", "4096"),
            ("SYMBOL(swapper_pg_dir)", String(tables.root &+ Self.kimageVoffset, radix: 16)),
            ("SYMBOL(_stext)", String(Self.imageVA + 0x1_0000, radix: 16)),
            ("SYMBOL(mem_section)", String(Self.linearBase + 0x7f_0000, radix: 16)),
            ("NUMBER(VA_BITS)", "52"), ("NUMBER(TCR_EL1_T1SZ)", "0x10"),
            ("NUMBER(kimage_voffset)", "0x" + String(Self.kimageVoffset, radix: 16)),
            ("NUMBER(PHYS_OFFSET)", "0x" + String(Self.physOffset, radix: 16)),
            ("NUMBER(MODULES_END)", "0xffff800080000000"),
            ("KERNELOFFSET", String(Self.kaslrOffset, radix: 16)), ("NUMBER(KERNELPACMASK)", "0x0"),
        ]
        return (keys.filter { !omit.contains($0.0) }.map { "\($0.0)=\($0.1)" } + vmcoreinfo).joined(separator: "\n") + "\n"
    }

    /// The ELF core (EM_AARCH64): one PT_LOAD per run of pages that are not all zero, and the
    /// VMCOREINFO note unless `withVMCOREINFO` is false.
    public func buildSparseELF(withVMCOREINFO: Bool = true) -> [UInt8] {
        let ps = 4096
        var b = ELFCoreBuilder()
        b.machine = 183
        var pfn = 0
        let memory = tables.memory
        let count = memory.count / ps
        func nonzero(_ p: Int) -> Bool { memory[p * ps..<(p + 1) * ps].contains { $0 != 0 } }
        while pfn < count {
            guard nonzero(pfn) else { pfn += 1; continue }
            var end = pfn + 1
            while end < count, nonzero(end) { end += 1 }
            b.segments.append(.init(physicalAddress: UInt64(pfn * ps), virtualAddress: Self.linearBase + UInt64(pfn * ps),
                                    data: Array(memory[pfn * ps..<end * ps])))
            pfn = end
        }
        if withVMCOREINFO { b.notes = [ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array(vmcoreinfoText.utf8))] }
        return b.build()
    }
}
