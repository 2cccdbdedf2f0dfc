/// A FreeBSD minidump (the `vmcore.N` payload `cpu_minidumpsys` writes) of an amd64, arm64,
/// i386 or riscv kernel.
///
/// Every architecture writes the same sections, each rounded up to the dump's page size
/// (`sys/<arch>/<arch>/minidump_machdep.c`; freebsd.md §4): a header page, the message buffer,
/// `dump_avail` (in the versions that have it), the page bitmap, the kernel's page-table
/// entries for KVA from `kernbase` ("pmap"), then one page per set bit in bit order. Kernel
/// virtual addresses need no kernel file: the pmap covers KVA from `kernbase`, and the direct
/// map (amd64, arm64, riscv) is linear. Each architecture's header reader and address
/// translation live in `Minidump+<Arch>.swift`.
public final class FreeBSDMinidump: PhysicalMemory, Sendable {
    public let source: any ByteSource
    public let header: FreeBSDMinidumpHeader
    /// `dump_avail`: the physical ranges the bitmap numbers, as [start, end) pairs; before
    /// versions with a `dump_avail` section, one range from 0 covering every bit.
    public let dumpAvail: [PhysicalRange]
    public let ranges: [PhysicalRange]
    let bitmap: PageBitmap
    /// Per `dump_avail` range: its first and past-the-end page frame, and the bitmap bit of
    /// its first page; sorted, so a page's bit is a binary search away.
    let bitRuns: [(first: UInt64, end: UInt64, bit: UInt64)]
    /// Page frames the bitmap numbers (the sum over `dump_avail` ranges).
    public let availablePages: UInt64
    let pmapOffset: UInt64
    /// The pmap section, held in memory when it is small (it grows with kernel address space,
    /// not with memory: 4 KiB per GiB of KVA on amd64 v2+, 8 bytes per page elsewhere).
    let pmap: [UInt8]?
    static let pmapInMemoryLimit: UInt32 = 64 << 20
    /// File offset of the first data page.
    public let sparseOffset: UInt64

    public var architecture: Architecture { header.machine.architecture }
    public var pageSize: Int { header.pageSize }
    public var version: UInt32 { header.version }
    public var messageBufferSize: UInt32 { header.messageBufferSize }
    public var bitmapSize: UInt32 { header.bitmapSize }
    public var pmapSize: UInt32 { header.pmapSize }
    public var kernelBase: UInt64 { header.kernelBase }
    public var directMapBase: UInt64 { header.directMapBase }
    public var directMapEnd: UInt64 { header.directMapEnd }
    public var directMapPhysical: UInt64 { header.directMapPhysical }

    /// True if the first bytes are a FreeBSD minidump of any architecture (one this library
    /// does not read is then refused by name when opened).
    public static func probe(_ prefix: [UInt8]) -> Bool {
        FreeBSDMinidumpHeader.architectureName(prefix) != nil
    }

    public init(source: any ByteSource) throws(VMCoreError) {
        self.source = source
        let file = source.name
        let h = try FreeBSDMinidumpHeader(source: source)
        header = h
        let ps = UInt64(h.pageSize)

        // libkvm `_<arch>_minidump_initvtop`: header page, then each section rounded to a page.
        func roundPage(_ v: UInt64) -> UInt64 { (v + ps - 1) / ps * ps }
        var at: UInt64 = ps + roundPage(UInt64(h.messageBufferSize))
        let availOffset = at
        at += roundPage(UInt64(h.dumpAvailSize))
        let bitmapOffset = at
        at += roundPage(UInt64(h.bitmapSize))
        pmapOffset = at
        at += roundPage(UInt64(h.pmapSize))
        sparseOffset = at
        guard sparseOffset <= source.size, sparseOffset <= source.storedBytes else {
            throw VMCoreError(.truncated, file: file, offset: 24, "minidump sections run past the end of the file",
                              "message buffer \(h.messageBufferSize), \(h.hasDumpAvail ? "dump_avail \(h.dumpAvailSize), " : "")bitmap \(h.bitmapSize) and pmap \(h.pmapSize) bytes need \(sparseOffset); the file has \(source.size)")
        }

        // dump_avail: u64 [start, end) pairs ended by an end of 0 (`vm_paddr_t` is 64-bit on
        // every architecture here, i386 included: `sys/x86/include/_types.h`).
        var avail: [PhysicalRange] = []
        if h.hasDumpAvail {
            let a = try source.reader(at: availOffset, count: Int(h.dumpAvailSize), order: .little, what: "dump_avail")
            var i = 0
            while i + 16 <= a.count {
                let start = try a.u64(i, "dump_avail start"), end = try a.u64(i + 8, "dump_avail end")
                if end == 0 { break }
                guard start <= end else {
                    throw VMCoreError(.corrupt, file: file, offset: availOffset + UInt64(i), "corrupt dump_avail entry", "\(hex(start)) > \(hex(end))")
                }
                if let last = avail.last, start < last.end {
                    throw VMCoreError(.corrupt, file: file, offset: availOffset + UInt64(i), "corrupt dump_avail entry",
                                      "\(hex(start)) starts before the previous range ends at \(hex(last.end))")
                }
                avail.append(PhysicalRange(start: start, end: end))
                i += 16
            }
        } else {
            avail = [PhysicalRange(start: 0, end: UInt64(h.bitmapSize) * 8 * ps)]
        }
        dumpAvail = avail
        // Bits per range as libkvm `_kvm_pa_bit_id` counts them: howmany(end) − start / page.
        // The ranges are ordered and disjoint, so the total stays below 2^64 / page + ranges.
        var runs: [(first: UInt64, end: UInt64, bit: UInt64)] = []
        var bits: UInt64 = 0
        for r in avail {
            let first = r.start / ps, end = r.end / ps + (r.end % ps == 0 ? 0 : 1)
            runs.append((first, end, bits))
            bits += end - first
        }
        bitRuns = runs
        availablePages = bits

        let bitmapBytes = try source.bytes(at: bitmapOffset, count: Int(h.bitmapSize), what: "page bitmap")
        bitmap = PageBitmap(bytes: bitmapBytes, bitCount: UInt64(h.bitmapSize) * 8)
        let pages = bitmap.population
        let held = (source.size - sparseOffset) / ps
        guard pages <= held else {
            throw VMCoreError(.truncated, file: file, offset: sparseOffset, "minidump is truncated",
                              "the bitmap marks \(pages) pages, the file holds \(held)")
        }
        ranges = avail.filter { $0.size > 0 }
        pmap = h.pmapSize <= Self.pmapInMemoryLimit ? try source.bytes(at: pmapOffset, count: Int(h.pmapSize), what: "pmap") : nil
    }

    /// "FreeBSD/arm64 minidump v3, 16 KiB pages", "FreeBSD/i386 minidump v2 (PAE)".
    public var variant: String {
        var v = "FreeBSD/\(header.machine.rawValue) minidump v\(header.version)"
        if header.machine == .arm64 { v += ", \(pageSize / 1024) KiB pages" }
        if header.paeMode == true { v += " (PAE)" }
        return v
    }

    /// The bitmap bit of physical page `pfn` (numbered across dump_avail ranges), or nil.
    func bit(_ pfn: UInt64) -> UInt64? {
        // The first range ending after pfn (ends are ordered); pfn may fall in the gap before it.
        var lo = 0, hi = bitRuns.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bitRuns[mid].end <= pfn { lo = mid + 1 } else { hi = mid }
        }
        guard lo < bitRuns.count, bitRuns[lo].first <= pfn else { return nil }
        return bitRuns[lo].bit + (pfn - bitRuns[lo].first)
    }

    public func state(ofPage pfn: UInt64) -> PageState {
        guard let b = bit(pfn) else { return .notInDump }
        return bitmap.isSet(b) ? .present : .excluded
    }

    /// The dumped pages: the bitmap's runs, numbered back into physical page frames through
    /// `dump_avail`. Time goes with the bitmap in the file, never with the ranges a header
    /// claims (one flipped bit in `dump_avail` can claim 2^50 pages).
    public func storedPageRuns() -> [Range<UInt64>] {
        var runs: [Range<UInt64>] = []
        var k = 0
        for set in bitmap.runs() {
            // bitRuns are ordered by bit too; move to the first that ends after this run starts.
            while k < bitRuns.count, bitRuns[k].bit + (bitRuns[k].end - bitRuns[k].first) <= set.lowerBound { k += 1 }
            var j = k
            while j < bitRuns.count, bitRuns[j].bit < set.upperBound {
                let r = bitRuns[j]
                let lower = max(set.lowerBound, r.bit), upper = min(set.upperBound, r.bit + (r.end - r.first))
                if lower < upper { runs.appendJoining(r.first + (lower - r.bit)..<r.first + (upper - r.bit)) }
                j += 1
            }
        }
        return runs
    }

    /// The file offset of physical page `pfn`'s data.
    func offset(ofPage pfn: UInt64) throws(VMCoreError) -> UInt64 {
        let ps = UInt64(pageSize)
        guard let b = bit(pfn) else {
            throw VMCoreError(.notInDump, file: source.name, "physical address \(hex(pfn &* ps)) is not in the dump", "no dump_avail range holds it")
        }
        guard bitmap.isSet(b) else {
            throw VMCoreError(.excludedPage, file: source.name, "physical address \(hex(pfn &* ps)) is not in the minidump",
                              "minidumps keep only the kernel's pages; PFN \(hex(pfn)) was not dumped")
        }
        return sparseOffset + bitmap.rank(b) * ps
    }

    /// Copies physical memory; pages that follow each other in the file are read at once.
    public func read(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError) {
        let ps = UInt64(pageSize)
        var done = 0
        while done < count {
            let at = address &+ UInt64(done)
            let fileOffset = try offset(ofPage: at / ps) + at % ps
            var n = min(count - done, Int(ps - at % ps))
            // Extend over following pages while each is dumped and stored right after the last.
            if done + n < count, var b = bit(at / ps) {
                var pfn = at / ps
                while done + n < count, n < 8 << 20, bit(pfn + 1) == b + 1, bitmap.isSet(b + 1) {
                    pfn += 1
                    b += 1
                    n += min(count - done - n, Int(ps))
                }
            }
            try source.read(into: &buffer, bufferOffset: bufferOffset + done, at: fileOffset, count: n)
            done += n
        }
    }

    /// The raw message buffer section (`msgbufp->msg_ptr`'s bytes, a ring).
    public func messageBuffer() throws(VMCoreError) -> [UInt8] {
        try source.bytes(at: UInt64(pageSize), count: Int(messageBufferSize), what: "message buffer")
    }

    /// True when `va` lies where this kernel keeps its own data: the direct map, or KVA from
    /// `kernbase` (on i386, up to the top of the 32-bit address space).
    public func isKernelAddress(_ va: UInt64) -> Bool {
        if header.machine == .i386 { return va >= kernelBase && va <= UInt64(UInt32.max) }
        return (va >= directMapBase && va < directMapEnd) || va >= kernelBase
    }
}

extension FreeBSDMinidump {
    /// Kernel virtual memory with no kernel file, as libkvm's `_<arch>_minidump_vatop` finds
    /// it: the direct map first (amd64, arm64, riscv; it lies above `kernbase`), linear from
    /// `dmapphys` (0 on amd64, whose header has none); then the dumped page-table entries for
    /// KVA from `kernbase` (on i386, up to the top of the 32-bit space), decoded by the
    /// architecture's paging form (`Minidump+<Arch>.swift` says which level they are).
    public func makeAddressSpace() -> KernelAddressSpace {
        let (form, level) = pmapForm
        let reader = PhysicalMemoryReader(self)
        let walker = PageTableWalker(reader: reader, form: form, root: 0)
        let entries = MinidumpPmap(pmap: pmap, source: source, offset: pmapOffset, size: pmapSize, entrySize: header.pmapEntrySize)
        var regions: [TranslationRegion] = []
        if header.machine != .i386 && directMapEnd > directMapBase {
            regions.append(TranslationRegion(name: "direct map", start: directMapBase, last: directMapEnd - 1,
                                             map: .linear(physicalStart: directMapPhysical, pageSize: UInt64(pageSize))))
        }
        let last: UInt64 = header.machine == .i386 ? UInt64(UInt32.max) : .max
        if kernelBase <= last {
            regions.append(TranslationRegion(name: "kernel address space", start: kernelBase, last: last,
                                             map: .entryArray(EntryArray(base: kernelBase, walker: walker, level: level, entries: entries, location: pmapOffset))))
        }
        let i386 = header.machine == .i386
        let (base, dmapBase, dmapEnd) = (kernelBase, directMapBase, directMapEnd)
        let translator = AddressTranslator(regions: regions) { va in
            TranslationError("\(hex(va)) is not a kernel address in this minidump",
                             i386 ? "it holds KVA from \(hex(base)); i386 kernels have no direct map"
                                  : "it holds KVA from \(hex(base)) and the direct map \(hex(dmapBase))-\(hex(dmapEnd))")
        }
        return KernelAddressSpace(memory: self, translator: translator, file: source.name, scheme: variant, root: kernelBase,
                                  rootSource: i386 ? "the minidump's pmap from kernbase" : "the minidump's pmap from kernbase, and the direct map")
    }

    /// The paging form whose entries the pmap holds, and the level they are.
    var pmapForm: (any PagingForm, Int) {
        switch header.machine {
        case .amd64: amd64PmapForm
        case .arm64: arm64PmapForm
        case .i386: i386PmapForm
        case .riscv: riscvPmapForm
        }
    }

    /// Kernel virtual to physical, with each step (through a new address space: keep one from
    /// `makeAddressSpace()` for many).
    public func translate(_ va: UInt64) throws(VMCoreError) -> Translation { try makeAddressSpace().translate(va) }

    /// `count` bytes at kernel virtual address `va` (through a new address space: keep one
    /// from `makeAddressSpace()` for many reads).
    public func read(virtual va: UInt64, count: Int) throws(VMCoreError) -> [UInt8] { try makeAddressSpace().read(virtual: va, count: count) }
}

/// The pmap section: one page-table entry per page (amd64 v2+: per 2 MiB) of KVA from
/// `kernbase`, held in memory when small, else read from the file. An index past `pmapsize`
/// is refused, as libkvm checks before `_kvm_pmap_get`.
struct MinidumpPmap: EntrySource {
    let pmap: [UInt8]?
    let source: any ByteSource
    let offset: UInt64
    let size: UInt32
    let entrySize: Int

    func entry(_ index: UInt64, translating va: UInt64) throws(TranslationError) -> UInt64 {
        let width = UInt64(entrySize)
        guard index < UInt64(size) / width else {
            throw TranslationError("\(hex(va)) is beyond the kernel address space the minidump maps", "its pmap has \(UInt64(size) / width) entries")
        }
        if let pmap {
            let at = Int(index * width)
            var v: UInt64 = 0
            for i in stride(from: at + entrySize - 1, through: at, by: -1) { v = v << 8 | UInt64(pmap[i]) }
            return v
        }
        do {
            return try source.reader(at: offset + index * width, count: entrySize, order: .little, what: "pmap entry").uint(0, width: entrySize, "pmap entry")
        } catch {
            throw TranslationError(error.reason)
        }
    }
}
