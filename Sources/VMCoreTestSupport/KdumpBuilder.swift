import VMCore

/// Writes kdump-compressed files as makedumpfile's `write_kdump_header()` and
/// `write_kdump_pages_and_bitmap_cyclic()` do (linux.md A1): header block, sub header with
/// notes and VMCOREINFO, two bitmaps, descriptors, shared zero page, page data, erase info.
/// The structs come from the library's encoders (`Kdump+Encoding.swift`); this lays them out,
/// including the states a writer must never produce (cut-off files, old header versions).
public struct KdumpBuilder {
    public typealias Layout = KdumpSubHeader.Layout

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
    var subHeaderSize: Int { KdumpSubHeader.size(layout) }

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
        let bitmap2 = PageBitmap.encoded(pages.keys, bitCount: maxPFN, blockSize: block)
        let bitmap1 = singleBitmap ? bitmap2 : PageBitmap.encoded(Array(pages.keys) + Array(excluded), bitCount: maxPFN, blockSize: block)
        let descriptorBase = (1 + subBlocks + bitmapBlocks) * block

        var files: [[UInt8]] = []
        var written = 0
        for range in ranges {
            var w = ByteWriter(order: order)
            var subHeader: KdumpSubHeader?
            let dumped = pages.keys.filter { range.contains($0) && $0 < maxPFN }.sorted()
            // Header block.
            var status: UInt32 = compression.flag
            if incompleteAfter != nil { status |= DiskDumpHeader.incomplete }
            let header = DiskDumpHeader(headerVersion: headerVersion, utsname: [sysname, nodename, release, version, machine, "(none)"],
                                        timestampSeconds: timestamp, status: status, blockSize: Int32(block),
                                        subHeaderBlocks: Int32(subBlocks), bitmapBlocks: UInt32(bitmapBlocks),
                                        maxMapnr: UInt32(min(maxPFN, UInt64(UInt32.max))), nrCPUs: nrCPUs, is64: is64, order: order)
            w.raw(header.encoded(), at: 0)

            // Sub header, then the notes (or v3's bare VMCOREINFO text).
            if headerVersion >= 1 {
                var sub = KdumpSubHeader()
                sub.layout = layout
                sub.physBase = physBase
                sub.dumpLevel = dumpLevel
                if split { (sub.split, sub.startPFN, sub.endPFN) = (1, range.lowerBound, range.upperBound) }
                let notesAt = block + subHeaderSize
                if headerVersion == 3, vmcoreinfo != nil {
                    (sub.vmcoreinfoOffset, sub.vmcoreinfoSize) = (UInt64(notesAt), UInt64(v3Text.count))
                    w.raw(v3Text, at: notesAt)
                }
                if headerVersion >= 4 {
                    if let vmcoreinfo {
                        // The text is the last note's descriptor.
                        let textAt = notesAt + noteBytes.count - ((vmcoreinfo.utf8.count + 3) & ~3)
                        (sub.vmcoreinfoOffset, sub.vmcoreinfoSize) = (UInt64(textAt), UInt64(vmcoreinfo.utf8.count))
                    }
                    (sub.noteOffset, sub.noteSize) = (UInt64(notesAt), UInt64(noteBytes.count))
                    w.raw(noteBytes, at: notesAt)
                }
                if split { (sub.startPFN64, sub.endPFN64) = (range.lowerBound, range.upperBound) }
                sub.maxMapnr64 = maxPFN
                if let eraseinfo, headerVersion >= 5 {
                    // Erase info follows the page data: its offset is known once the pages are laid out.
                    sub.eraseinfoSize = UInt64(eraseinfo.utf8.count)
                }
                subHeader = sub
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
                let d = descriptorBase + i * KdumpFile.PageDescriptor.size
                if let zeroOffset, data.allSatisfy({ $0 == 0 }) {
                    w.raw(KdumpFile.PageDescriptor(offset: UInt64(zeroOffset), size: UInt32(block), flags: 0).encoded(order: order), at: d)
                    continue
                }
                let method = pageCompression[pfn] ?? compression
                let packed = PageCodec.compress(method, data)
                let stored = packed ?? data
                w.raw(KdumpFile.PageDescriptor(offset: UInt64(dataOffset), size: UInt32(stored.count),
                                               flags: packed == nil ? 0 : method.flag).encoded(order: order), at: d)
                w.raw(stored, at: dataOffset)
                dataOffset += stored.count
            }
            if let eraseinfo, headerVersion >= 5 {
                subHeader?.eraseinfoOffset = UInt64(dataOffset)
                w.raw(Array(eraseinfo.utf8), at: dataOffset)
            }
            if let subHeader { w.raw(subHeader.encoded(headerVersion: headerVersion, order: order), at: block) }
            files.append(w.bytes)
        }
        return files
    }
}
