import VMCore

/// Writes FreeBSD/amd64 minidumps as `cpu_minidumpsys` does (freebsd.md §4.1): header page,
/// message buffer, dump_avail (v3), bitmap, pmap, then the dumped pages in bit order.
public struct FreeBSDMinidumpBuilder {
    public var version: UInt32 = 3
    public var kernelBase: UInt64 = 0xffff_fe00_0000_0000
    public var directMapBase: UInt64 = 0xffff_f800_0000_0000
    public var directMapEnd: UInt64 = 0xffff_fc00_0000_0000
    /// Physical ranges the bitmap numbers (v3); before v3 the bitmap numbers PFNs from 0.
    public var dumpAvail: [PhysicalRange] = [PhysicalRange(start: 0x1000, end: 0x9f000), PhysicalRange(start: 0x100000, end: 0x2000000)]
    /// Dumped physical pages.
    public var pages: [UInt64: [UInt8]] = [:]
    public var messageBuffer: [UInt8] = []
    /// Kernel mappings: v2/v3 PDEs per 2 MiB of KVA from kernbase (v1: PTEs per 4 KiB).
    public var pmap: [UInt64] = []

    public init() {}

    /// Maps the 2 MiB at `va` (≥ kernbase) to physical `pa` with a large page.
    public mutating func mapLarge(_ va: UInt64, to pa: UInt64) {
        let i = Int((va - kernelBase) >> 21)
        if pmap.count <= i { pmap += [UInt64](repeating: 0, count: i + 1 - pmap.count) }
        pmap[i] = pa | 0x83
    }

    /// Maps the 4 KiB page at `va` to `pa` through a page-table page at physical `table` (dumped).
    public mutating func map(_ va: UInt64, to pa: UInt64, tableAt table: UInt64) {
        let i = Int((va - kernelBase) >> 21)
        if pmap.count <= i { pmap += [UInt64](repeating: 0, count: i + 1 - pmap.count) }
        pmap[i] = table | 0x3
        var pt = pages[table / 4096] ?? [UInt8](repeating: 0, count: 4096)
        let slot = Int((va >> 12) & 511) * 8
        for b in 0..<8 { pt[slot + b] = UInt8(truncatingIfNeeded: (pa | 0x3) >> UInt64(8 * b)) }
        pages[table / 4096] = pt
    }

    func bit(_ pfn: UInt64) -> UInt64? {
        guard version >= 3 else { return pfn }
        var base: UInt64 = 0
        for r in dumpAvail {
            let first = r.start / 4096, last = (r.end + 4095) / 4096
            if pfn >= first && pfn < last { return base + pfn - first }
            base += last - first
        }
        return nil
    }

    public func build() -> [UInt8] {
        func roundPage(_ n: Int) -> Int { (n + 4095) / 4096 * 4096 }
        let totalBits = version >= 3 ? dumpAvail.reduce(UInt64(0)) { $0 + ($1.end + 4095) / 4096 - $1.start / 4096 } : (pages.keys.max() ?? 0) + 1
        let bitmapSize = roundPage(Int((totalBits + 7) / 8))
        var bitmap = [UInt8](repeating: 0, count: bitmapSize)
        var byBit: [(UInt64, [UInt8])] = []
        for (pfn, data) in pages {
            guard let b = bit(pfn) else { continue }
            bitmap[Int(b / 8)] |= 1 << (b % 8)
            byBit.append((b, data))
        }
        byBit.sort { $0.0 < $1.0 }
        var w = ByteWriter(order: .little)
        w.raw(Array("minidump FreeBSD/amd64".utf8), at: 0)
        w.u32(version, at: 24)
        w.u32(UInt32(messageBuffer.count), at: 28)
        w.u32(UInt32(bitmapSize), at: 32)
        w.u32(UInt32(pmap.count * 8), at: 36)
        w.u64(kernelBase, at: 40)
        w.u64(directMapBase, at: 48)
        w.u64(directMapEnd, at: 56)
        if version >= 3 { w.u32(4096, at: 64) }
        w.grow(to: 4096)
        w.append(messageBuffer)
        w.pad(toMultipleOf: 4096)
        if version >= 3 {
            let at = w.bytes.count
            for (i, r) in dumpAvail.enumerated() { w.u64(r.start, at: at + 16 * i); w.u64(r.end, at: at + 16 * i + 8) }
            w.grow(to: at + 4096)
        }
        w.append(bitmap)
        w.pad(toMultipleOf: 4096)
        for e in pmap { w.u64(e, at: w.bytes.count) }
        w.pad(toMultipleOf: 4096)
        for (_, data) in byBit { w.append(data) }
        return w.bytes
    }
}
