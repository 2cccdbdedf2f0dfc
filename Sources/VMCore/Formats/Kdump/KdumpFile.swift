import Dispatch
import Synchronization

/// A kdump-compressed ("diskdump") dump: makedumpfile `-c/-l/-p/-z` and uncompressed output,
/// QEMU's `kdump-*` formats, and a `makedumpfile --split` set opened together (linux.md A1).
///
/// Layout: header block, sub-header blocks (with the ELF notes and VMCOREINFO), two bitmaps
/// (page exists; page dumped), 24-byte page descriptors for every dumped page, page data. A
/// page's descriptor index is the rank of its PFN in the second bitmap.
public final class KdumpFile: PhysicalMemory, Sendable {
    /// One file of the dump (a split set has several, each holding a range of PFNs).
    public struct Part: Sendable {
        public let source: any ByteSource
        public let header: DiskDumpHeader
        public let subHeader: KdumpSubHeader
        /// The PFNs this file holds descriptors for: `startPFN..<endPFN`.
        public let startPFN: UInt64
        public let endPFN: UInt64
        /// File offset of the first page descriptor.
        let descriptorBase: UInt64
        /// Number of page descriptors in this file, as its bitmap counts them.
        let descriptorCount: UInt64
        /// How many of them the file holds: fewer when it ends inside the descriptor table (a
        /// copy interrupted, a disk that filled); the pages of the rest are missing.
        let storedDescriptors: UInt64
        /// Rank of `startPFN` in the dumpable bitmap: descriptor index = rank(pfn) - rankBase.
        let rankBase: UInt64
        /// File offset of the shared all-zero page, if the file has one (linux.md A1.6).
        let zeroPageOffset: UInt64?
        let cache: DescriptorCache
    }

    public let parts: [Part]
    public var header: DiskDumpHeader { parts[0].header }
    public var subHeader: KdumpSubHeader { parts[0].subHeader }
    public let pageSize: Int
    /// The number of page frames the bitmaps cover (`max_mapnr_64`, or `max_mapnr` before v6).
    public let maxPFN: UInt64
    /// 1st bitmap: the page exists (is not a memory hole).
    public let existing: PageBitmap
    /// 2nd bitmap: the page was dumped (has a descriptor).
    public let dumped: PageBitmap
    public let ranges: [PhysicalRange]
    public let notes: [ELFNote]
    /// The VMCOREINFO text the sub header points at (header version 3 and later).
    public let vmcoreinfo: (text: String, offset: UInt64)?
    /// The erase commands makedumpfile applied (header version 5 and later), if any.
    public let eraseinfo: String?
    /// True when only one bitmap is present and serves as both (very old dumps).
    public let singleBitmap: Bool

    let pageCache = DecodedPageCache()

    static let descriptorSize = 24
    static let descriptorsPerChunk = 1024

    public static func probe(_ prefix: [UInt8]) -> Bool { DiskDumpHeader.probe(prefix) }

    /// Opens one kdump-compressed file, or the files of a `makedumpfile --split` set.
    public convenience init(source: any ByteSource) throws(VMCoreError) {
        try self.init(sources: [source])
    }

    public init(sources: [any ByteSource]) throws(VMCoreError) {
        precondition(!sources.isEmpty)
        var opened: [(any ByteSource, DiskDumpHeader, KdumpSubHeader)] = []
        for source in sources {
            let main = try DiskDumpHeader(from: source)
            let sub = try KdumpSubHeader(from: source, main: main)
            opened.append((source, main, sub))
        }
        let (first, main, sub) = opened[0]
        let file = first.name
        guard main.isKdump else {
            throw VMCoreError(.unsupported, file: file, offset: 0, "RHEL4 \"DISKDUMP\" dumps are not supported", "only \"KDUMP   \" files are read")
        }
        let block = UInt64(main.blockSize)
        pageSize = Int(block)
        maxPFN = main.headerVersion >= 6 && sub.maxMapnr64 != 0 ? sub.maxMapnr64 : UInt64(main.maxMapnr)

        // Bitmaps: each is bitmap_blocks/2 blocks unless there is room for only one.
        let bitmapOffset = (1 + UInt64(main.subHeaderBlocks)) * block
        let bitmapBytes = UInt64(main.bitmapBlocks) * block
        guard bitmapOffset <= first.size, bitmapBytes <= first.size - bitmapOffset, bitmapBytes <= first.storedBytes else {
            throw VMCoreError(.truncated, file: file, offset: bitmapOffset,
                              "page bitmaps (\(main.bitmapBlocks) blocks of \(block) bytes) run past the end of the file",
                              "the file has \(first.size) bytes")
        }
        let needed = Checked.divideRoundingUp(Checked.divideRoundingUp(maxPFN, 8), block)
        singleBitmap = UInt64(main.bitmapBlocks) < 2 * needed
        let eachBytes = singleBitmap ? bitmapBytes : bitmapBytes / 2
        guard eachBytes * 8 >= maxPFN else {
            throw VMCoreError(.corrupt, file: file, offset: bitmapOffset, "page bitmap too small",
                              "\(eachBytes) bytes cannot cover max_mapnr \(maxPFN)")
        }
        let bitmapData = try first.bytes(at: bitmapOffset, count: Int(bitmapBytes), what: "page bitmaps")
        existing = PageBitmap(bytes: Array(bitmapData[0..<Int(eachBytes)]), bitCount: maxPFN)
        dumped = singleBitmap ? existing : PageBitmap(bytes: Array(bitmapData[Int(eachBytes)...]), bitCount: maxPFN)
        let descriptorBase = (1 + UInt64(main.subHeaderBlocks) + UInt64(main.bitmapBlocks)) * block

        // Parts: one, or the split set sorted by range.
        var parts: [Part] = []
        for (source, h, s) in opened {
            guard h.blockSize == main.blockSize, h.subHeaderBlocks == main.subHeaderBlocks, h.bitmapBlocks == main.bitmapBlocks else {
                throw VMCoreError(.corrupt, file: source.name, offset: 0, "not part of the same split dump as \(file)",
                                  "block size, sub-header size or bitmap size differ")
            }
            var start: UInt64 = 0, end = maxPFN
            if s.split != 0 {
                start = h.headerVersion >= 6 ? s.startPFN64 : s.startPFN
                end = h.headerVersion >= 6 ? s.endPFN64 : s.endPFN
                guard start <= end, end <= maxPFN else {
                    throw VMCoreError(.corrupt, file: source.name, offset: block, "corrupt split range",
                                      "PFNs \(hex(start))-\(hex(end)) exceed max_mapnr \(hex(maxPFN))")
                }
            } else if opened.count > 1 {
                throw VMCoreError(.usage, file: source.name, "is not a file of a makedumpfile --split set",
                                  "its sub header's split flag is 0; give split files together, or one ordinary dump")
            }
            let rankBase = dumped.rank(start)
            let count = dumped.rank(end) - rankBase
            let descriptorBytes = count * UInt64(Self.descriptorSize)
            // A file cut inside its descriptor table still holds its header, notes, VMCOREINFO
            // and the pages whose descriptors and data made it: those are read, the rest are
            // missing (crash reads such files with a warning too).
            let room = descriptorBase <= source.size ? source.size - descriptorBase : 0
            let stored = min(count, room / UInt64(Self.descriptorSize))
            // Page data starts after the descriptor table, with the shared zero page first. A
            // makedumpfile --split piece reserves the table for every dumpable page of the whole
            // dump (its own descriptors first, then zeros), so its data starts after all of it.
            var zero: UInt64?
            for dataStart in Set([descriptorBase + dumped.population * UInt64(Self.descriptorSize), descriptorBase + descriptorBytes]).sorted().reversed()
            where stored == count {
                if dataStart + block <= source.size,
                   let page = try? source.bytes(at: dataStart, count: Int(block), what: "zero page"),
                   page.allSatisfy({ $0 == 0 }) {
                    zero = dataStart
                    break
                }
            }
            parts.append(Part(source: source, header: h, subHeader: s, startPFN: start, endPFN: end,
                              descriptorBase: descriptorBase, descriptorCount: count, storedDescriptors: stored, rankBase: rankBase,
                              zeroPageOffset: zero, cache: DescriptorCache()))
        }
        parts.sort { $0.startPFN < $1.startPFN }
        for i in parts.indices.dropFirst() where parts[i].startPFN < parts[i - 1].endPFN {
            throw VMCoreError(.usage, file: parts[i].source.name, "overlaps \(parts[i - 1].source.name) in the split set",
                              "PFN ranges \(hex(parts[i - 1].startPFN))-\(hex(parts[i - 1].endPFN)) and \(hex(parts[i].startPFN))-\(hex(parts[i].endPFN))")
        }
        self.parts = parts

        // Machines have tens or hundreds of memory ranges; a bitmap of alternating bits would
        // make millions, each a range to keep.
        let rangeCount = existing.runCount
        guard rangeCount <= 1 << 20 else {
            throw VMCoreError(.corrupt, file: file, offset: bitmapOffset, "corrupt page bitmap",
                              "the existing-page bitmap makes \(rangeCount) separate memory ranges; no machine has more than a few thousand")
        }
        ranges = existing.runs().map { PhysicalRange(start: $0.lowerBound * block, end: $0.upperBound * block) }

        // Notes and VMCOREINFO from the sub-header blocks.
        let limit: UInt64 = 16 << 20
        func text(_ offset: UInt64, _ size: UInt64, _ what: String) throws(VMCoreError) -> [UInt8]? {
            guard size > 0 else { return nil }
            guard size <= limit, offset <= first.size, size <= first.size - offset else {
                throw VMCoreError(.corrupt, file: file, offset: offset, "\(what) (\(size) bytes) lies outside the file",
                                  "the file has \(first.size) bytes")
            }
            return try first.bytes(at: offset, count: Int(size), what: what)
        }
        if let bytes = try text(sub.noteOffset, sub.noteSize, "ELF note area") {
            notes = try ELFNote.parseAll(ByteReader(bytes, file: file, base: sub.noteOffset, order: main.order))
        } else {
            notes = []
        }
        if let bytes = try text(sub.vmcoreinfoOffset, sub.vmcoreinfoSize, "VMCOREINFO") {
            let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
            vmcoreinfo = (String(decoding: bytes[..<end], as: UTF8.self), sub.vmcoreinfoOffset)
        } else {
            vmcoreinfo = nil
        }
        if let bytes = try? text(sub.eraseinfoOffset, sub.eraseinfoSize, "erase info") {
            eraseinfo = String(decoding: bytes, as: UTF8.self)
        } else {
            eraseinfo = nil
        }
    }

    public var isIncomplete: Bool { parts.contains { $0.header.isIncomplete } }

    /// Page descriptors the bitmaps promise but the files do not hold (cut inside the table).
    public var descriptorsMissing: UInt64 { parts.reduce(0) { $0 + ($1.descriptorCount - $1.storedDescriptors) } }

    /// The part holding descriptors for `pfn`.
    func part(for pfn: UInt64) -> Part? {
        parts.first { $0.startPFN <= pfn && pfn < $0.endPFN }
    }

    /// A page descriptor (`struct page_desc`, makedumpfile `diskdump_mod.h`): data offset,
    /// stored size, per-page compression flags. 24 bytes on every ABI.
    public struct PageDescriptor: Sendable, Equatable {
        public var offset: UInt64
        public var size: UInt32
        public var flags: UInt32
        public var pageFlags: UInt64

        /// True when the page's stored bytes lie inside a file of `fileSize` bytes (a file cut
        /// short loses the data of its last pages).
        func dataFits(in fileSize: UInt64) -> Bool {
            offset <= fileSize && UInt64(size) <= fileSize - offset
        }
    }

    /// The descriptor of dumped page `pfn` and the file offset it was read from.
    func descriptor(_ pfn: UInt64, in part: Part) throws(VMCoreError) -> (PageDescriptor, UInt64) {
        let index = dumped.rank(pfn) - part.rankBase
        let offset = part.descriptorBase + index * UInt64(Self.descriptorSize)
        guard index < part.storedDescriptors else {
            throw VMCoreError(.truncated, file: part.source.name, offset: offset, "physical address \(hex(pfn &* UInt64(pageSize))) is missing",
                              "the file ends inside the page descriptor table: it holds \(part.storedDescriptors) of \(part.descriptorCount) descriptors")
        }
        let chunk = index / UInt64(Self.descriptorsPerChunk)
        let bytes = try part.cache.chunk(chunk) { () throws(VMCoreError) -> [UInt8] in
            let first = chunk * UInt64(Self.descriptorsPerChunk)
            let n = min(UInt64(Self.descriptorsPerChunk), part.storedDescriptors - first)
            return try part.source.bytes(at: part.descriptorBase + first * UInt64(Self.descriptorSize),
                                         count: Int(n) * Self.descriptorSize, what: "page descriptors")
        }
        let at = Int(index % UInt64(Self.descriptorsPerChunk)) * Self.descriptorSize
        let r = ByteReader(bytes, file: part.source.name, base: offset - UInt64(at), order: part.header.order)
        let d = PageDescriptor(offset: try r.u64(at, "page_desc.offset"), size: try r.u32(at + 8, "page_desc.size"),
                               flags: try r.u32(at + 12, "page_desc.flags"), pageFlags: try r.u64(at + 16, "page_desc.page_flags"))
        return (d, offset)
    }

    public func state(ofPage pfn: UInt64) -> PageState {
        guard pfn < maxPFN, existing.isSet(pfn) else { return .notInDump }
        guard dumped.isSet(pfn) else { return .excluded }
        guard let part = part(for: pfn), let (d, _) = try? descriptor(pfn, in: part) else { return .missing }
        // No data, or data past the end of a file that was cut short.
        if d.offset == 0 || !d.dataFits(in: part.source.size) { return .missing }
        if let zero = part.zeroPageOffset, d.offset == zero, d.flags == 0 { return .zero }
        return .present
    }

    /// Decodes dumped page `pfn` into `page[0..<pageSize]`, using `scratch` for the stored bytes.
    /// The name errors about the whole dump use: the file, or every file of a split set.
    var fileNames: String { parts.count == 1 ? parts[0].source.name : parts.map(\.source.name).joined(separator: ", ") }

    /// Page frames stored in the files given: the dumped bitmap's runs, within each file's PFN
    /// range (one piece of a split set holds its own range only).
    /// A file cut inside its descriptor table stores only the pages whose descriptors it holds.
    public func storedPageRuns() -> [Range<UInt64>] {
        var runs: [Range<UInt64>] = []
        var taken = [UInt64](repeating: 0, count: parts.count)
        for run in dumped.runs() {
            for (i, part) in parts.enumerated() {
                let lower = max(run.lowerBound, part.startPFN)
                var r = lower..<max(lower, min(run.upperBound, part.endPFN))
                let room = part.storedDescriptors - taken[i]
                if UInt64(r.count) > room { r = r.lowerBound..<r.lowerBound + room }
                taken[i] += UInt64(r.count)
                if !r.isEmpty { runs.append(r) }
            }
        }
        return runs
    }

    /// Decodes pages `pfns` one by one through `context`'s buffers and streams.
    public func readPages(_ pfns: Range<UInt64>, into buffer: inout [UInt8], context: PageReadContext) -> [PageFailure] {
        let bytes = pfns.count * pageSize
        if buffer.count < bytes { buffer = [UInt8](repeating: 0, count: bytes) }
        var failures: [PageFailure] = []
        for (k, pfn) in pfns.enumerated() {
            let o = k * pageSize
            do throws(VMCoreError) {
                try decodePage(pfn, into: &context.page, scratch: &context.scratch, decoder: context.decoder)
                buffer.replaceSubrange(o..<o + pageSize, with: context.page)
            } catch {
                for i in o..<o + pageSize { buffer[i] = 0 }
                failures.append(PageFailure(pfn: pfn, error: error))
            }
        }
        return failures
    }

    func decodePage(_ pfn: UInt64, into page: inout [UInt8], scratch: inout [UInt8], decoder: PageDecoder) throws(VMCoreError) {
        guard pfn < maxPFN, existing.isSet(pfn) else {
            throw VMCoreError(.notInDump, file: fileNames, "physical address \(hex(pfn &* UInt64(pageSize))) is not in the dump",
                              pfn >= maxPFN ? "PFN \(hex(pfn)) is beyond the last page frame (\(hex(maxPFN)))" : "PFN \(hex(pfn)) is a memory hole")
        }
        guard dumped.isSet(pfn) else {
            throw VMCoreError(.excludedPage, file: fileNames, "physical address \(hex(pfn &* UInt64(pageSize))) was excluded from the dump",
                              "makedumpfile dump level \(subHeader.dumpLevel) filtered out PFN \(hex(pfn))")
        }
        guard let part = part(for: pfn) else {
            throw VMCoreError(.notInDump, file: fileNames, "physical address \(hex(pfn &* UInt64(pageSize))) is in a split file that was not given",
                              "no file of the set holds PFN \(hex(pfn))")
        }
        let name = part.source.name
        let (d, at) = try descriptor(pfn, in: part)
        if d.offset == 0 {
            if part.header.isIncomplete {
                throw VMCoreError(.excludedPage, file: name, "physical address \(hex(pfn &* UInt64(pageSize))) is missing",
                                  "the dump is incomplete (makedumpfile stopped before writing PFN \(hex(pfn)))")
            }
            throw VMCoreError(.corrupt, file: name, offset: at, "corrupt page descriptor for PFN \(hex(pfn))", "data offset is 0")
        }
        guard let method = PageCompression(pageFlags: d.flags) else {
            throw VMCoreError(.corrupt, file: name, offset: at, "corrupt page descriptor for PFN \(hex(pfn))",
                              "unknown compression flags \(hex(d.flags))")
        }
        if method == .none && Int(d.size) != pageSize {
            throw VMCoreError(.corrupt, file: name, offset: at, "corrupt page descriptor for PFN \(hex(pfn))",
                              "uncompressed size \(d.size) is not the block size \(pageSize)")
        }
        if Int(d.size) > pageSize || d.size == 0 {
            throw VMCoreError(.corrupt, file: name, offset: at, "corrupt page descriptor for PFN \(hex(pfn))",
                              "compressed size \(d.size) exceeds block size \(pageSize)")
        }
        let size = part.source.size
        guard d.dataFits(in: size) else {
            throw VMCoreError(.truncated, file: name, offset: d.offset, "data of PFN \(hex(pfn)) runs past the end of the file",
                              "\(d.size) bytes at \(hex(d.offset)), the file has \(size) bytes")
        }
        if method == .none {
            try part.source.read(into: &page, bufferOffset: 0, at: d.offset, count: pageSize)
            return
        }
        try part.source.read(into: &scratch, bufferOffset: 0, at: d.offset, count: Int(d.size))
        let produced = decoder.decompress(method, scratch[0..<Int(d.size)], into: &page, expected: pageSize)
        guard produced == pageSize else {
            throw VMCoreError(.corrupt, file: name, offset: d.offset, "corrupt \(method.rawValue) data for PFN \(hex(pfn))",
                              produced.map { "it decompresses to \($0) bytes, expected \(pageSize)" } ?? "the \(method.rawValue) stream does not decode")
        }
    }

    /// Reads through a small cache of decoded pages: page-table walks and small reads touch
    /// the same few pages again and again (bulk scans use `decodePage` directly).
    public func read(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError) {
        // A large read (kallsyms' names, BTF, `read`) decodes its pages on every core, in
        // page-aligned parts; the first failing part's error is the read's.
        let threads = min(System.activeProcessorCount, 8)
        guard threads > 1, count >= 64 * pageSize else {
            return try readSequential(physical: address, into: &buffer, bufferOffset: bufferOffset, count: count)
        }
        let ps = UInt64(pageSize)
        var cuts = [0]
        for k in 1..<threads {
            let target = address &+ UInt64(count / threads * k)
            cuts.append(Int((target - target % ps) &- address))
        }
        cuts.append(count)
        let parts = (0..<threads).map { cuts[$0]..<cuts[$0 + 1] }.filter { !$0.isEmpty }
        let results = Mutex<[Result<[UInt8], VMCoreError>?]>(Array(repeating: nil, count: parts.count))
        DispatchQueue.concurrentPerform(iterations: parts.count) { i in
            var local = [UInt8](repeating: 0, count: parts[i].count)
            let r = Result { () throws(VMCoreError) -> [UInt8] in
                try readSequential(physical: address &+ UInt64(parts[i].lowerBound), into: &local, bufferOffset: 0, count: parts[i].count)
                return local
            }
            results.withLock { $0[i] = r }
        }
        for (i, r) in results.withLock({ $0 }).enumerated() {
            let bytes = try r!.get()
            buffer.replaceSubrange(bufferOffset + parts[i].lowerBound..<bufferOffset + parts[i].upperBound, with: bytes)
        }
    }

    func readSequential(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError) {
        let ps = UInt64(pageSize)
        var page: [UInt8] = []
        var scratch: [UInt8] = []
        var decoder: PageDecoder?
        var done = 0
        // Small reads (a page-table entry, a pointer, a string) come back to the same pages:
        // cache those. A large read is sequential, and caching it would only copy each page.
        let small = count <= 2 * pageSize
        while done < count {
            let at = address &+ UInt64(done)
            let pfn = at / ps
            let within = Int(at % ps)
            let n = min(count - done, pageSize - within)
            if small, let cached = pageCache.page(pfn) {
                page = cached
            } else {
                if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: pageSize) }
                if page.count != pageSize { page = [UInt8](repeating: 0, count: pageSize) }
                if decoder == nil { decoder = PageDecoder() }
                try decodePage(pfn, into: &page, scratch: &scratch, decoder: decoder!)
                if small { pageCache.insert(pfn, page) }
            }
            buffer.replaceSubrange(bufferOffset + done..<bufferOffset + done + n, with: page[within..<within + n])
            done += n
        }
    }

    /// What the page descriptors say, from one sequential pass over them.
    public struct Statistics: Sendable, Equatable {
        public var counts = PageCounts()
        /// The compression methods pages actually use (per-page flags, which are what count).
        public var compressions: Set<PageCompression> = []
    }

    /// Page counts and methods in use, from one pass over every descriptor.
    public func statistics() throws(VMCoreError) -> Statistics {
        var s = Statistics()
        // A damaged file's dumped bitmap can mark pages its existing bitmap does not.
        let existingCount = existing.population, dumpedCount = dumped.population
        s.counts.excluded = existingCount > dumpedCount ? existingCount - dumpedCount : 0
        for part in parts {
            s.counts.present += part.descriptorCount
            s.counts.missing += part.descriptorCount - part.storedDescriptors
            var index: UInt64 = 0
            let batch: UInt64 = 16384
            let fileSize = part.source.size
            while index < part.storedDescriptors {
                let n = min(batch, part.storedDescriptors - index)
                let base = part.descriptorBase + index * UInt64(Self.descriptorSize)
                let r = try part.source.reader(at: base, count: Int(n) * Self.descriptorSize, order: part.header.order, what: "page descriptors")
                for i in 0..<Int(n) {
                    let o = i * Self.descriptorSize
                    let d = PageDescriptor(offset: try r.u64(o, "page_desc.offset"), size: try r.u32(o + 8, "page_desc.size"),
                                           flags: try r.u32(o + 12, "page_desc.flags"), pageFlags: 0)
                    // No data, or data past the end of a file that was cut short: missing.
                    if d.offset == 0 || !d.dataFits(in: fileSize) { s.counts.missing += 1; continue }
                    if let zero = part.zeroPageOffset, d.offset == zero, d.flags == 0 { s.counts.zero += 1; continue }
                    if let m = PageCompression(pageFlags: d.flags) { s.compressions.insert(m) }
                }
                index += n
            }
        }
        s.counts.present -= s.counts.missing
        return s
    }
}

/// A few recently used chunks of page descriptors, shared by the threads reading a file.
final class DescriptorCache: Sendable {
    private let chunks = Mutex<[UInt64: [UInt8]]>([:])
    static let capacity = 64

    func chunk(_ index: UInt64, load: () throws(VMCoreError) -> [UInt8]) throws(VMCoreError) -> [UInt8] {
        if let hit = chunks.withLock({ $0[index] }) { return hit }
        let bytes = try load()
        chunks.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            cache[index] = bytes
        }
        return bytes
    }
}

/// Recently decoded pages, shared by the threads reading a dump; evicts in insertion order.
final class DecodedPageCache: Sendable {
    private struct State {
        var pages: [UInt64: [UInt8]] = [:]
        var order: [UInt64] = []
        var next = 0
    }
    private let state = Mutex(State())
    static let capacity = 256

    func page(_ pfn: UInt64) -> [UInt8]? { state.withLock { $0.pages[pfn] } }

    func insert(_ pfn: UInt64, _ bytes: [UInt8]) {
        state.withLock { s in
            guard s.pages[pfn] == nil else { return }
            if s.order.count < Self.capacity {
                s.order.append(pfn)
            } else {
                s.pages[s.order[s.next]] = nil
                s.order[s.next] = pfn
                s.next = (s.next + 1) % Self.capacity
            }
            s.pages[pfn] = bytes
        }
    }
}
