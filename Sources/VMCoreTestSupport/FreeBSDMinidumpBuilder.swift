import VMCore

/// Writes FreeBSD minidumps as each architecture's `cpu_minidumpsys` does
/// (`sys/{amd64,arm64,i386,riscv}/.../minidump_machdep*.c`; freebsd.md §4): a header page, the
/// message buffer, `dump_avail` (in versions that have it), the bitmap, the pmap, then the dumped
/// pages in bit order, every section rounded up to the dump's page size.
///
/// The pmap of amd64 holds the entries given (v2/v3 PDEs per 2 MiB, v1 PTEs per 4 KiB), so tests
/// can end it anywhere; for the other architectures it is padded to whole pages of entries,
/// as their writers emit one page of entries per L2 (i386: per page directory entry).
public struct FreeBSDMinidumpBuilder {
    public var machine: FreeBSDMinidumpHeader.Machine = .amd64
    public var version: UInt32 = 3
    /// 4096, or 16384 for arm64 v3 16 KiB kernels.
    public var pageSize: Int = 4096
    /// i386: PAE page tables (8-byte PTEs).
    public var paeMode = false
    public var kernelBase: UInt64 = 0xffff_fe00_0000_0000
    /// arm64 and riscv `dmapphys`.
    public var directMapPhysical: UInt64 = 0
    public var directMapBase: UInt64 = 0xffff_f800_0000_0000
    public var directMapEnd: UInt64 = 0xffff_fc00_0000_0000
    /// Physical ranges the bitmap numbers (versions with dump_avail); before that the bitmap
    /// numbers page frames from 0.
    public var dumpAvail: [PhysicalRange] = [PhysicalRange(start: 0x1000, end: 0x9f000), PhysicalRange(start: 0x100000, end: 0x2000000)]
    /// Dumped physical pages, by page frame number in units of `pageSize`.
    public var pages: [UInt64: [UInt8]] = [:]
    public var messageBuffer: [UInt8] = []
    /// The pmap's entries: amd64 v2/v3 PDEs per 2 MiB of KVA from kernbase, otherwise one
    /// (L3) PTE per page.
    public var pmap: [UInt64] = []

    /// An amd64 v3 minidump, as `init(machine: .amd64)` sets it up.
    public init() {}

    /// A minidump of `machine` with the kernel's own address-space layout
    /// (`sys/<arch>/include/vmparam.h`) and a plausible `dump_avail`.
    public init(machine: FreeBSDMinidumpHeader.Machine, version: UInt32? = nil, pageSize: Int = 4096, paeMode: Bool = false) {
        self.machine = machine
        self.pageSize = pageSize
        self.paeMode = paeMode
        switch machine {
        case .amd64:
            self.version = version ?? 3
        case .arm64:
            self.version = version ?? 3
            kernelBase = 0xffff_0000_0000_0000
            (directMapBase, directMapEnd) = (0xffff_a000_0000_0000, 0xffff_ff00_0000_0000)
            directMapPhysical = 0x4000_0000
            dumpAvail = [PhysicalRange(start: 0x4000_0000, end: 0x4800_0000)]
        case .i386:
            self.version = version ?? 2
            kernelBase = 0x80_0000  // KERNBASE = KERNLOAD, 8 MiB
            (directMapBase, directMapEnd) = (0, 0)
            dumpAvail = [PhysicalRange(start: 0x1000, end: 0x9f000), PhysicalRange(start: 0x100000, end: 0x800_0000)]
        case .riscv:
            self.version = version ?? 2
            kernelBase = 0xffff_ffc0_0000_0000
            (directMapBase, directMapEnd) = (0xffff_ffd0_0000_0000, 0xffff_fff0_0000_0000)
            directMapPhysical = 0x8000_0000
            dumpAvail = [PhysicalRange(start: 0x8000_0000, end: 0x8800_0000)]
        }
    }

    /// True when this version writes a dump_avail section (amd64 from v3, the others from v2).
    public var hasDumpAvail: Bool { version >= (machine == .amd64 ? 3 : 2) }

    var pmapEntrySize: Int { machine == .i386 && !paeMode ? 4 : 8 }
    var pageShift: UInt64 { UInt64(pageSize.trailingZeroBitCount) }

    /// Sets pmap entry `index`, growing the pmap with zero (invalid) entries as needed.
    public mutating func setPmapEntry(_ index: Int, _ entry: UInt64) {
        if pmap.count <= index { pmap += [UInt64](repeating: 0, count: index + 1 - pmap.count) }
        pmap[index] = entry
    }

    // MARK: amd64

    /// amd64 v2/v3: maps the 2 MiB at `va` (≥ kernbase) to physical `pa` with a large page.
    public mutating func mapLarge(_ va: UInt64, to pa: UInt64) {
        setPmapEntry(Int((va - kernelBase) >> 21), pa | 0x83)
    }

    /// amd64 v2/v3: maps the 4 KiB page at `va` to `pa` through a page-table page at physical
    /// `table` (dumped).
    public mutating func map(_ va: UInt64, to pa: UInt64, tableAt table: UInt64) {
        setPmapEntry(Int((va - kernelBase) >> 21), table | 0x3)
        var pt = pages[table / 4096] ?? [UInt8](repeating: 0, count: 4096)
        let slot = Int((va >> 12) & 511) * 8
        for b in 0..<8 { pt[slot + b] = UInt8(truncatingIfNeeded: (pa | 0x3) >> UInt64(8 * b)) }
        pages[table / 4096] = pt
    }

    // MARK: one entry per page (amd64 v1, arm64, i386, riscv)

    /// The pmap entry the kernel's writer puts down for a kernel page at `pa`: arm64
    /// `pa | ATTR_DEFAULT | L3_PAGE`; riscv `PPN << 10 | PTE_KERN`; i386 `pa | PG_V | PG_RW | PG_A
    /// | PG_M`; amd64 v1 `pa | PG_V | PG_RW`.
    public func pageEntry(_ pa: UInt64) -> UInt64 {
        switch machine {
        case .arm64: pa | 0x400 | 0x300 | 0x3
        case .riscv: (pa >> 12) << 10 | 0xc7
        case .i386: pa | 0x63
        case .amd64: pa | 0x3
        }
    }

    /// Maps the page at `va` (≥ kernbase) to physical `pa` with one pmap entry.
    public mutating func mapPage(_ va: UInt64, to pa: UInt64) {
        setPmapEntry(Int((va - kernelBase) >> pageShift), pageEntry(pa))
    }

    /// Maps a large page at `va` to `pa` the way the writers record one: an arm64 L2 block
    /// (2 MiB, or 32 MiB with 16 KiB pages), a riscv 2 MiB superpage, or an i386 4 MiB (2 MiB
    /// PAE) page become a page of per-page entries (riscv: the L2 entry with each page's index
    /// added to its PPN).
    public mutating func mapBlock(_ va: UInt64, to pa: UInt64) {
        let entries = pageSize / pmapEntrySize
        let first = Int((va - kernelBase) >> pageShift)
        for i in 0..<entries {
            let entry = machine == .riscv ? pageEntry(pa) | UInt64(i) << 10 : pageEntry(pa + UInt64(i * pageSize))
            setPmapEntry(first + i, entry)
        }
    }

    /// The bytes of one large page mapped by `mapBlock`.
    public var blockSize: UInt64 { UInt64(pageSize / pmapEntrySize * pageSize) }

    /// Writes the kernel's `struct msgbuf` (`sys/sys/msgbuf.h`) at physical `pa`, in a dumped
    /// page: `msg_ptr` (as wide as the architecture's pointers), `msg_magic`, `msg_size`,
    /// `msg_wseq`, `msg_rseq`.
    public mutating func putMessageBufferHeader(atPhysical pa: UInt64, pointer: UInt64, size: UInt32, writeSequence: UInt32) {
        let pfn = pa / UInt64(pageSize)
        var w = ByteWriter(order: .little)
        w.bytes = pages[pfn] ?? [UInt8](repeating: 0, count: pageSize)
        let at = Int(pa % UInt64(pageSize))
        let p = machine.pointerSize
        w.put(pointer, at: at, width: p)
        w.u32(0x063062, at: at + p)
        w.u32(size, at: at + p + 4)
        w.u32(writeSequence, at: at + p + 8)
        w.u32(writeSequence, at: at + p + 12)
        pages[pfn] = w.bytes
    }

    // MARK: writing

    func bit(_ pfn: UInt64) -> UInt64? {
        guard hasDumpAvail else { return pfn }
        let ps = UInt64(pageSize)
        var base: UInt64 = 0
        for r in dumpAvail {
            let first = r.start / ps, last = (r.end + ps - 1) / ps
            if pfn >= first && pfn < last { return base + pfn - first }
            base += last - first
        }
        return nil
    }

    public func build() -> [UInt8] {
        let ps = pageSize
        func roundPage(_ n: Int) -> Int { (n + ps - 1) / ps * ps }
        let totalBits = hasDumpAvail
            ? dumpAvail.reduce(UInt64(0)) { $0 + ($1.end + UInt64(ps) - 1) / UInt64(ps) - $1.start / UInt64(ps) }
            : (pages.keys.max() ?? 0) + 1
        // round_page(BITSET_SIZE(vm_page_dump_pages)): whole longs, then whole pages.
        let bitmapSize = roundPage(Int((totalBits + 63) / 64 * 8))
        var bitmap = [UInt8](repeating: 0, count: bitmapSize)
        var byBit: [(UInt64, [UInt8])] = []
        for (pfn, data) in pages {
            guard let b = bit(pfn) else { continue }
            bitmap[Int(b / 8)] |= 1 << (b % 8)
            byBit.append((b, data))
        }
        byBit.sort { $0.0 < $1.0 }
        var entries = pmap
        if machine != .amd64 {
            let perPage = ps / pmapEntrySize
            entries += [UInt64](repeating: 0, count: (perPage - entries.count % perPage) % perPage)
        }
        let pmapSize = entries.count * pmapEntrySize

        var w = ByteWriter(order: .little)
        w.raw(Array("minidump FreeBSD/\(machine.rawValue)".utf8), at: 0)
        w.u32(version, at: 24)
        w.u32(UInt32(messageBuffer.count), at: 28)
        w.u32(UInt32(bitmapSize), at: 32)
        w.u32(UInt32(pmapSize), at: 36)
        // dumpavailsize = round_page(sizeof(dump_avail)): one page.
        switch machine {
        case .amd64:
            w.u64(kernelBase, at: 40)
            w.u64(directMapBase, at: 48)
            w.u64(directMapEnd, at: 56)
            if hasDumpAvail { w.u32(UInt32(ps), at: 64) }
        case .arm64, .riscv:
            w.u64(kernelBase, at: 40)
            w.u64(directMapPhysical, at: 48)
            w.u64(directMapBase, at: 56)
            w.u64(directMapEnd, at: 64)
            if hasDumpAvail { w.u32(UInt32(ps), at: 72) }
            // MINIDUMP_FLAG_PS_4K 0, MINIDUMP_FLAG_PS_16K 1.
            if machine == .arm64 && version >= 3 { w.u32(ps == 16384 ? 1 : 0, at: 76) }
        case .i386:
            w.u32(UInt32(truncatingIfNeeded: kernelBase), at: 40)
            w.u32(paeMode ? 1 : 0, at: 44)
            if hasDumpAvail { w.u32(UInt32(ps), at: 48) }
        }
        w.grow(to: ps)
        w.append(messageBuffer)
        w.pad(toMultipleOf: ps)
        if hasDumpAvail {
            let at = w.bytes.count
            for (i, r) in dumpAvail.enumerated() { w.u64(r.start, at: at + 16 * i); w.u64(r.end, at: at + 16 * i + 8) }
            w.grow(to: at + ps)
        }
        w.append(bitmap)
        w.pad(toMultipleOf: ps)
        for e in entries { w.put(e, at: w.bytes.count, width: pmapEntrySize) }
        w.pad(toMultipleOf: ps)
        for (_, data) in byBit { w.append(data) }
        return w.bytes
    }
}
