/// An ELF core file of physical memory: the kexec/kdump `/proc/vmcore` layout, makedumpfile
/// `-E` output, and QEMU `dump-guest-memory` (linux.md A3; FreeBSD full dumps share the form).
///
/// Physical addresses come from `p_paddr`. Segments that describe the same physical memory
/// twice (kdump's kernel-text segment, QEMU's `paging=true` virtual segments) are merged, the
/// first by address winning; `p_memsz` beyond `p_filesz` reads as zero.
public final class ELFCore: PhysicalMemory, Sendable {
    public let source: any ByteSource
    public let header: ELFHeader
    public let programHeaders: [ProgramHeader]
    public let notes: [ELFNote]
    public let architecture: Architecture
    public let pageSize: Int
    public let ranges: [PhysicalRange]
    /// Disjoint pieces of physical memory, sorted by address.
    let pieces: [Piece]

    /// `e_flags` bit makedumpfile sets when it could not write the whole dump (`DUMP_ELF_INCOMPLETE`).
    public static let incompleteFlag: UInt32 = 0x1

    /// A run of physical memory and where its bytes are: `start..<stored` in the file from
    /// `fileOffset`, `stored..<fileEnd` promised by the header but past the end of the file,
    /// `fileEnd..<end` zero (`p_memsz` beyond `p_filesz`).
    struct Piece: Sendable {
        var start: UInt64
        var stored: UInt64
        var fileEnd: UInt64
        var end: UInt64
        var fileOffset: UInt64
    }

    /// True when the file ends before the data its program headers promise.
    public var isTruncated: Bool { pieces.contains { $0.stored < $0.fileEnd } }
    public var isIncomplete: Bool { header.flags & Self.incompleteFlag != 0 }

    /// True if `prefix` (the first bytes of a file) is an ELF core file.
    public static func probe(_ prefix: [UInt8]) -> Bool {
        guard ELFHeader.probe(prefix), prefix.count >= 18 else { return false }
        let type = prefix[5] == 1 ? UInt16(prefix[16]) | UInt16(prefix[17]) << 8 : UInt16(prefix[16]) << 8 | UInt16(prefix[17])
        return type == ELFHeader.coreType
    }

    /// Opens an ELF core. The page size is not in the ELF headers: `pageSize` gives it, else
    /// `pageSizeFromNotes` finds it in the notes (the OS layer reads VMCOREINFO's PAGESIZE;
    /// aarch64 kernels use 16 or 64 KiB pages), else it is 4 KiB.
    public init(source: any ByteSource, pageSize: Int? = nil, pageSizeFromNotes: (([ELFNote]) -> Int?)? = nil) throws(VMCoreError) {
        self.source = source
        let header = try ELFHeader(from: source)
        self.header = header
        let file = source.name
        guard header.type == ELFHeader.coreType else {
            throw VMCoreError(.unsupported, file: file, offset: 16, "not an ELF core file", "e_type is \(header.type), expected 4 (ET_CORE)")
        }
        let entrySize = header.is64 ? 56 : 32
        guard Int(header.programHeaderEntrySize) >= entrySize else {
            throw VMCoreError(.corrupt, file: file, offset: header.is64 ? 54 : 42, "bad program header size \(header.programHeaderEntrySize)",
                              "expected at least \(entrySize)")
        }
        // PN_XNUM: more than 65534 program headers, the real count is section header 0's sh_info.
        var count = UInt64(header.programHeaderCount)
        if header.programHeaderCount == ELFHeader.extendedNumbering {
            guard header.sectionHeaderOffset != 0 else {
                throw VMCoreError(.corrupt, file: file, offset: header.is64 ? 56 : 44, "e_phnum is PN_XNUM but there is no section header 0 to hold the count")
            }
            let r = try source.reader(at: header.sectionHeaderOffset, count: header.is64 ? 64 : 40, order: header.order, what: "section header 0")
            count = UInt64(try r.u32(header.is64 ? 44 : 28, "sh_info (program header count)"))
        }
        let tableSize = count * UInt64(header.programHeaderEntrySize)
        guard header.programHeaderOffset <= source.size, tableSize <= source.size - header.programHeaderOffset,
              tableSize <= source.storedBytes else {
            throw VMCoreError(.truncated, file: file, offset: header.programHeaderOffset,
                              "program header table (\(count) entries) runs past the end of the file", "the file has \(source.size) bytes")
        }
        let table = try source.reader(at: header.programHeaderOffset, count: Int(tableSize), order: header.order, what: "program header table")
        var phdrs: [ProgramHeader] = []
        phdrs.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            phdrs.append(try ProgramHeader(table, at: i * Int(header.programHeaderEntrySize), is64: header.is64))
        }
        programHeaders = phdrs

        var notes: [ELFNote] = []
        for (i, ph) in phdrs.enumerated() where ph.type == ProgramHeader.note && ph.fileSize > 0 {
            // Real note segments are kilobytes (a few MiB on thousands of CPUs).
            guard ph.offset <= source.size, ph.fileSize <= source.size - ph.offset, ph.fileSize <= min(64 << 20, source.storedBytes) else {
                throw VMCoreError(.truncated, file: file, offset: ph.offset,
                                  "note segment (program header \(i), \(ph.fileSize) bytes) runs past the end of the file")
            }
            notes += try ELFNote.parseAll(try source.reader(at: ph.offset, count: Int(ph.fileSize), order: header.order, what: "note segment"))
        }
        self.notes = notes

        var arch = Architecture(elfMachine: header.machine, is64: header.is64)
        if arch == .unknown, let size = notes.first(where: { $0.name == "CORE" && $0.type == CoreNotes.prstatus })?.descriptor.count {
            arch = Architecture(prstatusSize: size) ?? .unknown
        }
        architecture = arch
        let noted = pageSizeFromNotes?(notes)
        self.pageSize = pageSize ?? noted.flatMap { $0 >= 512 && $0 & ($0 - 1) == 0 ? $0 : nil } ?? 4096

        // Disjoint physical pieces, first by address (and larger first) winning.
        let invalid: UInt64 = header.is64 ? UInt64.max : 0xffff_ffff
        let loads = phdrs.filter { $0.type == ProgramHeader.load && $0.memorySize > 0 && $0.physicalAddress != invalid }
            .sorted { ($0.physicalAddress, $1.memorySize) < ($1.physicalAddress, $0.memorySize) }
        var pieces: [Piece] = []
        var covered: UInt64 = 0
        for ph in loads {
            let (end, overflow) = ph.physicalAddress.addingReportingOverflow(ph.memorySize)
            guard !overflow else {
                throw VMCoreError(.corrupt, file: file, offset: header.programHeaderOffset, "PT_LOAD at physical \(hex(ph.physicalAddress)) with size \(hex(ph.memorySize)) wraps around the address space")
            }
            guard ph.fileSize <= ph.memorySize else {
                throw VMCoreError(.corrupt, file: file, offset: header.programHeaderOffset,
                                  "PT_LOAD at physical \(hex(ph.physicalAddress)) has p_filesz \(hex(ph.fileSize)) larger than p_memsz \(hex(ph.memorySize))")
            }
            let start = max(ph.physicalAddress, pieces.isEmpty ? 0 : covered)
            guard start < end else { continue }
            let skip = start - ph.physicalAddress
            let fileEnd = ph.physicalAddress + ph.fileSize
            let available = ph.offset >= source.size ? 0 : source.size - ph.offset
            let stored = ph.physicalAddress + min(ph.fileSize, available)
            // A p_offset past the end of the file stores nothing; its file offset is never read.
            let fileOffset = Checked.sum(ph.offset, skip) ?? source.size
            pieces.append(Piece(start: start, stored: max(start, stored), fileEnd: max(start, fileEnd), end: end,
                                fileOffset: fileOffset))
            covered = end
        }
        self.pieces = pieces
        var ranges: [PhysicalRange] = []
        for p in pieces {
            if let last = ranges.last, last.end == p.start { ranges[ranges.count - 1].end = p.end } else {
                ranges.append(PhysicalRange(start: p.start, end: p.end))
            }
        }
        self.ranges = ranges
    }

    /// The index of the piece holding `address`, if any.
    func pieceIndex(_ address: UInt64) -> Int? {
        var lo = 0, hi = pieces.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pieces[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo < pieces.count && pieces[lo].start <= address ? lo : nil
    }

    public func state(ofPage pfn: UInt64) -> PageState {
        let (address, overflow) = pfn.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow else { return .notInDump }
        // A page counts as what its first byte in the dump is: segments need not be page-aligned.
        var i = pieceIndex(address)
        if i == nil {
            let next = pieces.firstIndex { $0.start > address }
            if let next, pieces[next].start - address < UInt64(pageSize) { i = next }
        }
        guard let i else { return .notInDump }
        let p = pieces[i]
        let at = max(address, p.start)
        if at < p.stored { return .present }
        if at < p.fileEnd { return .missing }
        return .zero
    }

    public func read(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError) {
        var done = 0
        while done < count {
            let at = address &+ UInt64(done)
            guard let i = pieceIndex(at) else {
                throw VMCoreError(.notInDump, file: source.name, "physical address \(hex(at)) is not in the dump",
                                  "no PT_LOAD segment holds it")
            }
            let p = pieces[i]
            let n = Int(min(UInt64(count - done), p.end - at))
            var part = 0
            while part < n {
                let a = at + UInt64(part)
                if a < p.stored {
                    let m = Int(min(UInt64(n - part), p.stored - a))
                    try source.read(into: &buffer, bufferOffset: bufferOffset + done + part, at: p.fileOffset + (a - p.start), count: m)
                    part += m
                } else if a < p.fileEnd {
                    throw VMCoreError(.truncated, file: source.name, offset: p.fileOffset &+ (a - p.start),
                                      "physical address \(hex(a)) is missing: the file ends before its segment's data",
                                      "the file has \(source.size) bytes")
                } else {
                    let m = n - part
                    for k in 0..<m { buffer[bufferOffset + done + part + k] = 0 }
                    part += m
                }
            }
            done += n
        }
    }

    /// Page counts over the segments: file-backed pages are present, `p_memsz` tails are zero,
    /// bytes cut off by a short file are missing.
    public func pageCounts() -> PageCounts {
        var c = PageCounts()
        let ps = UInt64(pageSize)
        func pages(_ a: UInt64, _ b: UInt64) -> UInt64 { b > a ? Checked.divideRoundingUp(b - a, ps) : 0 }
        for p in pieces {
            c.present += pages(p.start, p.stored)
            c.missing += pages(p.stored, p.fileEnd)
            c.zero += pages(p.fileEnd, p.end)
        }
        c.present += c.zero
        return c
    }

    /// The pages the file stores: each segment's file-backed part. `p_memsz` beyond `p_filesz`
    /// reads as zero but is not stored, so a scan (`check`) takes time in proportion to the
    /// file, not to what a header claims (a segment can claim terabytes).
    public func storedPageRuns() -> [Range<UInt64>] {
        let ps = UInt64(pageSize)
        var runs: [Range<UInt64>] = []
        // Segments cannot store more than the source holds: in a flattened stream whose records
        // leave holes, what lies in the holes is not stored.
        var budget = source.storedBytes
        for p in pieces where p.stored > p.start && budget > 0 {
            let length = min(p.stored - p.start, budget)
            budget -= length
            runs.appendJoining(p.start / ps..<Checked.divideRoundingUp(p.start + length, ps))
        }
        return runs
    }
}
