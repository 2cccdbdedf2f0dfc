/// A FreeBSD/amd64 minidump (`vmcore.N` payload written by `cpu_minidumpsys`), versions 1–3.
///
/// Mirrors `struct minidumphdr`, FreeBSD `sys/amd64/include/minidump.h`, and the layout of
/// `sys/amd64/amd64/minidump_machdep.c` (freebsd.md §4.1; little-endian, every section page
/// aligned): header page, message buffer, `dump_avail` (v3), page bitmap, the kernel's page
/// directory entries ("pmap"), then one 4 KiB page per set bit. Kernel virtual addresses need no
/// kernel file: the pmap covers KVA from `kernbase`, and the direct map is linear.
public final class FreeBSDMinidump: PhysicalMemory, Sendable {
    public let source: any ByteSource
    public let version: UInt32
    public let messageBufferSize: UInt32
    public let bitmapSize: UInt32
    public let pmapSize: UInt32
    public let kernelBase: UInt64
    public let directMapBase: UInt64
    public let directMapEnd: UInt64
    /// `dump_avail`: the physical ranges the bitmap numbers, as [start, end) pairs (v3; before
    /// that one range from 0 covering every bit).
    public let dumpAvail: [PhysicalRange]
    public let pageSize = 4096
    public let ranges: [PhysicalRange]
    let bitmap: PageBitmap
    let pmapOffset: UInt64
    /// File offset of the first data page.
    public let sparseOffset: UInt64

    public static let magic = "minidump FreeBSD/amd64"

    public static func probe(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 24 && String(decoding: prefix[0..<24].prefix { $0 != 0 }, as: UTF8.self) == magic
    }

    public init(source: any ByteSource) throws(VMCoreError) {
        self.source = source
        let file = source.name
        let r = try source.reader(at: 0, count: 68, order: .little, what: "minidump header")
        guard Self.probe(r.bytes) else {
            throw VMCoreError(.badMagic, file: file, offset: 0, "not a FreeBSD/amd64 minidump", "expected \"\(Self.magic)\"")
        }
        version = try r.u32(24, "version")
        guard (1...3).contains(version) else {
            throw VMCoreError(.unsupported, file: file, offset: 24, "unknown amd64 minidump version \(version)", "expected 1 to 3")
        }
        messageBufferSize = try r.u32(28, "msgbufsize")
        bitmapSize = try r.u32(32, "bitmapsize")
        pmapSize = try r.u32(36, "pmapsize")
        kernelBase = try r.u64(40, "kernbase")
        directMapBase = try r.u64(48, "dmapbase")
        directMapEnd = try r.u64(56, "dmapend")
        let availSize = version >= 3 ? UInt64(try r.u32(64, "dumpavailsize")) : 0

        func roundPage(_ v: UInt64) -> UInt64 { (v + 4095) & ~4095 }
        var at: UInt64 = 4096 + roundPage(UInt64(messageBufferSize))
        let availOffset = at
        at += roundPage(availSize)
        let bitmapOffset = at
        at += roundPage(UInt64(bitmapSize))
        pmapOffset = at
        at += roundPage(UInt64(pmapSize))
        sparseOffset = at
        guard sparseOffset <= source.size else {
            throw VMCoreError(.truncated, file: file, offset: 24, "minidump sections run past the end of the file",
                              "message buffer \(messageBufferSize), bitmap \(bitmapSize) and pmap \(pmapSize) bytes need \(sparseOffset); the file has \(source.size)")
        }

        // dump_avail: u64 pairs ended by an end of 0.
        var avail: [PhysicalRange] = []
        if version >= 3 {
            let a = try source.reader(at: availOffset, count: Int(availSize), order: .little, what: "dump_avail")
            var i = 0
            while i + 16 <= a.count {
                let start = try a.u64(i, "dump_avail start"), end = try a.u64(i + 8, "dump_avail end")
                if end == 0 { break }
                guard start <= end else {
                    throw VMCoreError(.corrupt, file: file, offset: availOffset + UInt64(i), "corrupt dump_avail entry", "\(hex(start)) > \(hex(end))")
                }
                avail.append(PhysicalRange(start: start, end: end))
                i += 16
            }
        } else {
            avail = [PhysicalRange(start: 0, end: UInt64(bitmapSize) * 8 * 4096)]
        }
        dumpAvail = avail
        let bits = UInt64(bitmapSize) * 8
        let bitmapBytes = try source.bytes(at: bitmapOffset, count: Int(bitmapSize), what: "page bitmap")
        bitmap = PageBitmap(bytes: bitmapBytes, bitCount: bits)
        let pages = bitmap.population
        guard pages <= (source.size - sparseOffset) / 4096 else {
            throw VMCoreError(.truncated, file: file, offset: sparseOffset, "minidump is truncated",
                              "the bitmap marks \(pages) pages, the file holds \((source.size - sparseOffset) / 4096)")
        }
        ranges = avail.filter { $0.size > 0 }
    }

    /// The bitmap bit of physical page `pfn` (v3: numbered across dump_avail ranges), or nil.
    func bit(_ pfn: UInt64) -> UInt64? {
        var base: UInt64 = 0
        for r in dumpAvail {
            let first = r.start / 4096, last = (r.end + 4095) / 4096
            if pfn >= first && pfn < last { return base + (pfn - first) }
            base += last - first
        }
        return nil
    }

    public func state(ofPage pfn: UInt64) -> PageState {
        guard let b = bit(pfn) else { return .notInDump }
        return bitmap.isSet(b) ? .present : .excluded
    }

    /// The file offset of physical page `pfn`'s data.
    func offset(ofPage pfn: UInt64) throws(VMCoreError) -> UInt64 {
        guard let b = bit(pfn) else {
            throw VMCoreError(.notInDump, file: source.name, "physical address \(hex(pfn * 4096)) is not in the dump", "no dump_avail range holds it")
        }
        guard bitmap.isSet(b) else {
            throw VMCoreError(.excludedPage, file: source.name, "physical address \(hex(pfn * 4096)) is not in the minidump",
                              "minidumps keep only the kernel's pages; PFN \(hex(pfn)) was not dumped")
        }
        return sparseOffset + bitmap.rank(b) * 4096
    }

    public func read(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError) {
        var done = 0
        while done < count {
            let at = address &+ UInt64(done)
            let n = min(count - done, 4096 - Int(at & 0xfff))
            try source.read(into: &buffer, bufferOffset: bufferOffset + done, at: try offset(ofPage: at / 4096) + (at & 0xfff), count: n)
            done += n
        }
    }

    /// The raw message buffer section (`msgbufp->msg_ptr`'s bytes, a ring).
    public func messageBuffer() throws(VMCoreError) -> [UInt8] {
        try source.bytes(at: 4096, count: Int(messageBufferSize), what: "message buffer")
    }
}

extension FreeBSDMinidump: KernelAddressSpace {
    /// Kernel virtual to physical, as libkvm's `_amd64_minidump_vatop`: the direct map is
    /// linear; above `kernbase` the dumped pmap gives PDEs (v2+, PTEs in v1), whose page tables
    /// are themselves dumped pages.
    public func translate(_ va: UInt64) throws(VMCoreError) -> Translation {
        let file = source.name
        if va >= directMapBase && va < directMapEnd {
            return Translation(virtual: va, physical: va - directMapBase, pageSize: 4096, steps: [])
        }
        guard va >= kernelBase else {
            throw VMCoreError(.translation, file: file, "\(hex(va)) is not a kernel address in this minidump",
                              "it holds KVA from \(hex(kernelBase)) and the direct map \(hex(directMapBase))-\(hex(directMapEnd))")
        }
        let entryIndex = version == 1 ? (va - kernelBase) >> 12 : (va - kernelBase) >> 21
        guard entryIndex < UInt64(pmapSize) / 8 else {
            throw VMCoreError(.translation, file: file, "\(hex(va)) is beyond the kernel address space the minidump maps",
                              "its pmap has \(pmapSize / 8) entries")
        }
        let e = try source.reader(at: pmapOffset + entryIndex * 8, count: 8, order: .little, what: "pmap entry").u64(0, "pmap entry")
        let step = TranslationStep(level: version == 1 ? "pte" : "pde", tableAddress: pmapOffset, index: Int(entryIndex), entry: e,
                                   flags: X86_64Paging().flags(e, level: version == 1 ? 3 : 2))
        guard e & 1 != 0 else {
            throw VMCoreError(.translation, file: file, "\(step.level.uppercased()) not present", "\(step.level)[\(entryIndex)] = \(hex(e)) while translating \(hex(va))")
        }
        if version == 1 {
            return Translation(virtual: va, physical: (e & 0x000f_ffff_ffff_f000) | (va & 0xfff), pageSize: 4096, steps: [step])
        }
        if e & 0x80 != 0 {
            return Translation(virtual: va, physical: (e & 0x000f_ffff_ffe0_0000) | (va & 0x1f_ffff), pageSize: 1 << 21, steps: [step])
        }
        let table = e & 0x000f_ffff_ffff_f000
        let index = Int((va >> 12) & 511)
        let pte = try read(physical: table + UInt64(index * 8), count: 8)
        let p = pte.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
        let step2 = TranslationStep(level: "pte", tableAddress: table, index: index, entry: p, flags: X86_64Paging().flags(p, level: 3))
        guard p & 1 != 0 else {
            throw VMCoreError(.translation, file: file, "PTE not present", "pte[\(index)] = \(hex(p)) while translating \(hex(va))")
        }
        return Translation(virtual: va, physical: (p & 0x000f_ffff_ffff_f000) | (va & 0xfff), pageSize: 4096, steps: [step, step2])
    }
}
