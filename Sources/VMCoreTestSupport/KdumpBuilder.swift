import VMCore

/// Writes kdump-compressed files byte by byte as makedumpfile's `write_kdump_header()` and
/// `write_kdump_pages_and_bitmap_cyclic()` do (linux.md A1): header block, sub header with
/// notes and VMCOREINFO, two bitmaps, descriptors, shared zero page, page data, erase info.
public struct KdumpBuilder {
    public enum Layout: Sendable { case abi64, pack32, pad32 }

    public var order: ByteOrder = .little
    public var layout: Layout = .abi64
    public var headerVersion: Int32 = 6
    public var blockSize = 4096
    /// Page frames the bitmaps cover.
    public var maxPFN: UInt64
    public var sysname = "Linux"
    public var machine = "x86_64"
    public var release = "6.1.0-test"
    public var version = "#1 SMP test"
    public var nodename = "testhost"
    public var timestamp: Int64 = 1_700_000_000
    /// Dumped pages and their contents.
    public var pages: [UInt64: [UInt8]] = [:]
    /// Pages that exist but are left out (filtered).
    public var excluded: Set<UInt64> = []
    public var compression: PageCompression = .zlib
    /// Per-page overrides of `compression`.
    public var pageCompression: [UInt64: PageCompression] = [:]
    /// Share one zero page for every all-zero page (makedumpfile `-d 1`, QEMU always).
    public var shareZeroPage = true
    public var dumpLevel: Int32 = 31
    public var physBase: UInt64 = 0
    public var notes: [ELFNote] = []
    public var vmcoreinfo: String?
    public var eraseinfo: String?
    /// Stop after writing this many pages, as makedumpfile does on ENOSPC (sets INCOMPLETE).
    public var incompleteAfter: Int?
    /// Write one bitmap serving as both (very old dumps).
    public var singleBitmap = false
    public var nrCPUs: Int32 = 2

    public init(maxPFN: UInt64) { self.maxPFN = maxPFN }

    var is64: Bool { layout == .abi64 }
    var subHeaderSize: Int { layout == .abi64 ? 104 : layout == .pack32 ? 80 : 96 }

    /// The whole file.
    public func build() -> [UInt8] {
        buildFiles(ranges: [0..<maxPFN], split: false)[0]
    }

    /// A `makedumpfile --split` set: one file per range of PFNs.
    public func buildSplit(_ ranges: [Range<UInt64>]) -> [[UInt8]] {
        buildFiles(ranges: ranges, split: true)
    }

    func buildFiles(ranges: [Range<UInt64>], split: Bool) -> [[UInt8]] {
        let block = blockSize
        var allNotes = notes
        if let vmcoreinfo, headerVersion >= 4 {
            allNotes.append(ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array(vmcoreinfo.utf8)))
        }
        let noteBytes = headerVersion >= 4 ? encodeNotes(allNotes, order: order) : []
        let v3Text = headerVersion == 3 ? Array((vmcoreinfo ?? "").utf8) : []
        let subBlocks = headerVersion >= 1 ? (subHeaderSize + noteBytes.count + v3Text.count + block - 1) / block : 0
        let bitmapEach = Int(((maxPFN + 7) / 8 + UInt64(block) - 1) / UInt64(block))
        let bitmapBlocks = singleBitmap ? bitmapEach : 2 * bitmapEach
        var bitmap1 = [UInt8](repeating: 0, count: bitmapEach * block)
        var bitmap2 = bitmap1
        for pfn in pages.keys where pfn < maxPFN { bitmap1[Int(pfn / 8)] |= 1 << (pfn % 8); bitmap2[Int(pfn / 8)] |= 1 << (pfn % 8) }
        for pfn in excluded where pfn < maxPFN { bitmap1[Int(pfn / 8)] |= 1 << (pfn % 8) }
        if singleBitmap { bitmap1 = bitmap2 }
        let descriptorBase = (1 + subBlocks + bitmapBlocks) * block

        var files: [[UInt8]] = []
        var written = 0
        for range in ranges {
            var w = ByteWriter(order: order)
            let dumped = pages.keys.filter { range.contains($0) && $0 < maxPFN }.sorted()
            // Header block.
            w.raw(Array("KDUMP   ".utf8), at: 0)
            w.i32(headerVersion, at: 8)
            for (i, s) in [sysname, nodename, release, version, machine, "(none)"].enumerated() {
                w.cString(s, at: 12 + 65 * i, size: 65)
            }
            var status: UInt32 = compression.flag
            if incompleteAfter != nil { status |= DiskDumpHeader.incomplete }
            let (ts, st) = is64 ? (408, 424) : (404, 412)
            w.word(UInt64(bitPattern: timestamp), at: ts, is64: is64)
            w.u32(status, at: st)
            w.i32(Int32(block), at: st + 4)
            w.i32(Int32(subBlocks), at: st + 8)
            w.u32(UInt32(bitmapBlocks), at: st + 12)
            w.u32(UInt32(min(maxPFN, UInt64(UInt32.max))), at: st + 16)
            w.i32(nrCPUs, at: st + 36)
            w.pad(toMultipleOf: block)

            // Sub header, then the notes (or v3's bare VMCOREINFO text).
            if headerVersion >= 1 {
                let s = block
                func at(_ a: Int, _ b: Int, _ c: Int) -> Int { s + (layout == .abi64 ? a : layout == .pack32 ? b : c) }
                w.word(physBase, at: s, is64: is64)
                w.i32(dumpLevel, at: at(8, 4, 4))
                if headerVersion >= 2 {
                    w.i32(split ? 1 : 0, at: at(12, 8, 8))
                    w.word(split ? range.lowerBound : 0, at: at(16, 12, 12), is64: is64)
                    w.word(split ? range.upperBound : 0, at: at(24, 16, 16), is64: is64)
                }
                let notesAt = block + subHeaderSize
                if headerVersion == 3, vmcoreinfo != nil {
                    w.u64(UInt64(notesAt), at: at(32, 20, 24))
                    w.word(UInt64(v3Text.count), at: at(40, 28, 32), is64: is64)
                    w.raw(v3Text, at: notesAt)
                }
                if headerVersion >= 4 {
                    if let vmcoreinfo {
                        // The text is the last note's descriptor.
                        let textAt = notesAt + noteBytes.count - ((vmcoreinfo.utf8.count + 3) & ~3)
                        w.u64(UInt64(textAt), at: at(32, 20, 24))
                        w.word(UInt64(vmcoreinfo.utf8.count), at: at(40, 28, 32), is64: is64)
                    }
                    w.u64(UInt64(notesAt), at: at(48, 32, 40))
                    w.word(UInt64(noteBytes.count), at: at(56, 40, 48), is64: is64)
                    w.raw(noteBytes, at: notesAt)
                }
                if headerVersion >= 6 {
                    w.u64(split ? range.lowerBound : 0, at: at(80, 56, 72))
                    w.u64(split ? range.upperBound : 0, at: at(88, 64, 80))
                    w.u64(maxPFN, at: at(96, 72, 88))
                }
                w.grow(to: (1 + subBlocks) * block)
            }
            w.raw(bitmap1, at: (1 + subBlocks) * block)
            if !singleBitmap { w.raw(bitmap2, at: (1 + subBlocks + bitmapEach) * block) }

            // Descriptors and data: the shared zero page first, then pages in PFN order. Like
            // makedumpfile, a split piece reserves the descriptor table of the whole dump.
            let tableEntries = split ? pages.keys.filter { $0 < maxPFN }.count : dumped.count
            var dataOffset = descriptorBase + tableEntries * 24
            w.grow(to: dataOffset)
            var zeroOffset: Int?
            if shareZeroPage {
                zeroOffset = dataOffset
                w.raw([UInt8](repeating: 0, count: block), at: dataOffset)
                dataOffset += block
            }
            for (i, pfn) in dumped.enumerated() {
                if let limit = incompleteAfter, written >= limit { break }
                written += 1
                let data = pages[pfn]!
                let d = descriptorBase + i * 24
                if let zeroOffset, data.allSatisfy({ $0 == 0 }) {
                    w.u64(UInt64(zeroOffset), at: d)
                    w.u32(UInt32(block), at: d + 8)
                    w.u32(0, at: d + 12)
                    continue
                }
                let method = pageCompression[pfn] ?? compression
                let packed = PageCodec.compress(method, data)
                let stored = packed ?? data
                w.u64(UInt64(dataOffset), at: d)
                w.u32(UInt32(stored.count), at: d + 8)
                w.u32(packed == nil ? 0 : method.flag, at: d + 12)
                w.raw(stored, at: dataOffset)
                dataOffset += stored.count
            }
            if let eraseinfo, headerVersion >= 5 {
                func at(_ a: Int, _ b: Int, _ c: Int) -> Int { block + (layout == .abi64 ? a : layout == .pack32 ? b : c) }
                w.u64(UInt64(dataOffset), at: at(64, 44, 56))
                w.word(UInt64(eraseinfo.utf8.count), at: at(72, 52, 64), is64: is64)
                w.raw(Array(eraseinfo.utf8), at: dataOffset)
            }
            files.append(w.bytes)
        }
        return files
    }
}
