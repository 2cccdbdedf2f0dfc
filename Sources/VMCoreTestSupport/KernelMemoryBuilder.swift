import VMCore

/// Builds a small x86-64 kernel's memory for tests of OS-level readers: page tables that map
/// the kernel image (`__START_KERNEL_map` + physical, 2 MiB pages, phys_base 0, no KASLR),
/// data placed at kernel virtual addresses, and a VMCOREINFO note naming it all; written out
/// as a kdump-style ELF core.
public struct KernelMemoryBuilder {
    public static let kernelMap: UInt64 = 0xffff_ffff_8000_0000
    public var tables: PageTableBuilder
    /// Lines appended to VMCOREINFO (after OSRELEASE, PAGESIZE and the page-table keys).
    public var vmcoreinfo: [String] = []
    var nextData: UInt64 = 0x40_0000

    /// `size` bytes of physical memory (at least 8 MiB).
    public init(size: Int = 16 << 20) {
        tables = PageTableBuilder(size: size, tablesAt: 0x10_0000)
        var pa: UInt64 = 0
        while pa < UInt64(size) {
            tables.map(Self.kernelMap + pa, to: pa, size: 1 << 21, flags: 0x63)
            pa += 1 << 21
        }
    }

    /// Places `bytes` in memory (8-byte aligned) and returns their kernel virtual address.
    public mutating func place(_ bytes: [UInt8], align: UInt64 = 8) -> UInt64 {
        nextData = (nextData + align - 1) / align * align
        let pa = nextData
        tables.memory.replaceSubrange(Int(pa)..<Int(pa) + bytes.count, with: bytes)
        nextData += UInt64(bytes.count)
        return Self.kernelMap + pa
    }

    /// Places a little-endian 64-bit word and returns its address.
    public mutating func placeWord(_ v: UInt64) -> UInt64 {
        place((0..<8).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) })
    }

    /// Writes a little-endian integer at kernel virtual address `va`.
    public mutating func poke(_ va: UInt64, _ value: UInt64, width: Int = 8) {
        let pa = Int(va - Self.kernelMap)
        for i in 0..<width { tables.memory[pa + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }

    /// The VMCOREINFO text: OSRELEASE, PAGESIZE, the page-table keys, then `vmcoreinfo`.
    public var vmcoreinfoText: String {
        (["OSRELEASE=5.4.0-test", "PAGESIZE=4096",
          "SYMBOL(init_top_pgt)=" + String(Self.kernelMap + tables.root, radix: 16),
          "NUMBER(phys_base)=0", "KERNELOFFSET=0", "NUMBER(pgtable_l5_enabled)=0"] + vmcoreinfo)
            .joined(separator: "\n") + "\n"
    }

    /// The ELF core: one PT_LOAD of all memory and a VMCOREINFO note.
    public func build() -> [UInt8] {
        var b = ELFCoreBuilder()
        b.segments = [.init(physicalAddress: 0, virtualAddress: 0xffff_8880_0000_0000, data: tables.memory)]
        b.notes = [ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array(vmcoreinfoText.utf8))]
        return b.build()
    }

    /// The same memory as a kdump-compressed file that stores only the pages that are not all
    /// zero: a few KiB instead of megabytes (fuzzing seeds).
    public func buildKdump(compression: PageCompression = .none) -> [UInt8] {
        let ps = 4096
        var k = KdumpBuilder(maxPFN: UInt64(tables.memory.count / ps))
        k.compression = compression
        k.vmcoreinfo = vmcoreinfoText
        for pfn in 0..<tables.memory.count / ps {
            let page = Array(tables.memory[pfn * ps..<(pfn + 1) * ps])
            if page.contains(where: { $0 != 0 }) { k.pages[UInt64(pfn)] = page } else { k.excluded.insert(UInt64(pfn)) }
        }
        return k.build()
    }

    /// The same memory as an ELF core with one PT_LOAD per run of pages that are not all zero.
    public func buildSparseELF() -> [UInt8] {
        let ps = 4096
        var b = ELFCoreBuilder()
        var pfn = 0
        let count = tables.memory.count / ps
        func nonzero(_ p: Int) -> Bool { tables.memory[p * ps..<(p + 1) * ps].contains { $0 != 0 } }
        while pfn < count {
            guard nonzero(pfn) else { pfn += 1; continue }
            var end = pfn + 1
            while end < count, nonzero(end) { end += 1 }
            b.segments.append(.init(physicalAddress: UInt64(pfn * ps), virtualAddress: 0xffff_8880_0000_0000 + UInt64(pfn * ps),
                                    data: Array(tables.memory[pfn * ps..<end * ps])))
            pfn = end
        }
        b.notes = [ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array(vmcoreinfoText.utf8))]
        return b.build()
    }
}
