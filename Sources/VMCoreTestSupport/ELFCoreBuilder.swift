import VMCore

/// Writes ELF core files: the kdump `/proc/vmcore` layout (program headers right after the
/// ELF header) or QEMU's (section headers at 64, program headers after them, `e_ehsize` 8),
/// 32- or 64-bit, either byte order, with extended numbering (PN_XNUM) when asked or needed.
public struct ELFCoreBuilder {
    public struct Segment {
        public var physicalAddress: UInt64
        public var virtualAddress: UInt64
        public var data: [UInt8]
        /// At least `data.count`; the rest reads as zero.
        public var memorySize: UInt64
        /// Reuse the file bytes of an earlier segment (QEMU `paging=true` aliases).
        public var sharesDataWith: Int?

        public init(physicalAddress: UInt64, virtualAddress: UInt64? = nil, data: [UInt8], memorySize: UInt64? = nil, sharesDataWith: Int? = nil) {
            self.physicalAddress = physicalAddress
            self.virtualAddress = virtualAddress ?? physicalAddress
            self.data = data
            self.memorySize = memorySize ?? UInt64(data.count)
            self.sharesDataWith = sharesDataWith
        }
    }

    public var is64 = true
    public var order: ByteOrder = .little
    public var machine: UInt16 = 62
    public var type: UInt16 = 4
    public var flags: UInt32 = 0
    public var qemuLayout = false
    public var forceExtendedNumbering = false
    public var segments: [Segment] = []
    public var notes: [ELFNote] = []
    /// Extra empty PT_LOADs (memory size 0), to push the count past 65535 cheaply.
    public var emptyLoads = 0

    public init() {}

    public func build() -> [UInt8] {
        var w = ByteWriter(order: order)
        let ehsize = is64 ? 64 : 52
        let phentsize = is64 ? 56 : 32
        let shentsize = is64 ? 64 : 40
        let phnum = 1 + segments.count + emptyLoads
        let extended = forceExtendedNumbering || phnum >= 0xffff
        let shnum = qemuLayout ? 2 : (extended ? 1 : 0)
        let shoff = shnum == 0 ? 0 : ehsize
        let phoff = ehsize + shnum * shentsize
        let notesAt = phoff + phnum * phentsize
        let noteBytes = encodeNotes(notes, order: order)

        w.raw([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, order == .little ? 1 : 2, 1], at: 0)
        w.u16(type, at: 16)
        w.u16(machine, at: 18)
        w.u32(1, at: 20)
        if is64 {
            w.u64(UInt64(phoff), at: 32); w.u64(UInt64(shoff), at: 40); w.u32(flags, at: 48)
            w.u16(qemuLayout ? 8 : 64, at: 52); w.u16(UInt16(phentsize), at: 54)
            w.u16(extended ? 0xffff : UInt16(phnum), at: 56)
            w.u16(UInt16(shentsize), at: 58); w.u16(UInt16(shnum), at: 60); w.u16(qemuLayout ? 1 : 0, at: 62)
        } else {
            w.u32(UInt32(phoff), at: 28); w.u32(UInt32(shoff), at: 32); w.u32(flags, at: 36)
            w.u16(qemuLayout ? 8 : 52, at: 40); w.u16(UInt16(phentsize), at: 42)
            w.u16(extended ? 0xffff : UInt16(phnum), at: 44)
            w.u16(UInt16(shentsize), at: 46); w.u16(UInt16(shnum), at: 48); w.u16(qemuLayout ? 1 : 0, at: 50)
        }
        if shnum > 0, extended {
            w.u32(UInt32(phnum), at: shoff + (is64 ? 44 : 28))  // sh_info of section 0
        }
        // Data after the notes.
        var dataAt = notesAt + noteBytes.count
        var offsets: [Int] = []
        for s in segments {
            if let shared = s.sharesDataWith { offsets.append(offsets[shared]); continue }
            offsets.append(dataAt)
            w.raw(s.data, at: dataAt)
            dataAt += s.data.count
        }
        w.raw(noteBytes, at: notesAt)
        func phdr(_ i: Int, type: UInt32, offset: Int, vaddr: UInt64, paddr: UInt64, filesz: UInt64, memsz: UInt64) {
            let o = phoff + i * phentsize
            if is64 {
                w.u32(type, at: o); w.u32(0, at: o + 4); w.u64(UInt64(offset), at: o + 8)
                w.u64(vaddr, at: o + 16); w.u64(paddr, at: o + 24); w.u64(filesz, at: o + 32); w.u64(memsz, at: o + 40)
            } else {
                w.u32(type, at: o); w.u32(UInt32(offset), at: o + 4); w.u32(UInt32(truncatingIfNeeded: vaddr), at: o + 8)
                w.u32(UInt32(truncatingIfNeeded: paddr), at: o + 12); w.u32(UInt32(filesz), at: o + 16); w.u32(UInt32(memsz), at: o + 20)
            }
        }
        phdr(0, type: 4, offset: notesAt, vaddr: 0, paddr: 0, filesz: UInt64(noteBytes.count), memsz: UInt64(noteBytes.count))
        for (i, s) in segments.enumerated() {
            phdr(1 + i, type: 1, offset: offsets[i], vaddr: s.virtualAddress, paddr: s.physicalAddress,
                 filesz: UInt64(s.data.count), memsz: s.memorySize)
        }
        for i in 0..<emptyLoads {
            phdr(1 + segments.count + i, type: 1, offset: dataAt, vaddr: 0, paddr: 0, filesz: 0, memsz: 0)
        }
        w.grow(to: dataAt)
        return w.bytes
    }
}

/// Writes a makedumpfile flattened stream (linux.md A2) holding `file`.
public struct FlattenedBuilder {
    /// Bytes per record.
    public var recordSize = 65536
    /// Emit records in this permutation of their natural order (nil: in order).
    public var shuffle: ((Int) -> [Int])?
    /// Records appended after the data, rewriting earlier bytes (later records win).
    public var rewrites: [(offset: UInt64, bytes: [UInt8])] = []
    public var endMarker = true

    public init() {}

    public func build(_ file: [UInt8]) -> [UInt8] {
        var w = ByteWriter(order: .big)
        w.raw(FlattenedSource.signature, at: 0)
        w.put(1, at: 16, width: 8)
        w.put(1, at: 24, width: 8)
        w.grow(to: 4096)
        var records: [(UInt64, ArraySlice<UInt8>)] = []
        var o = 0
        while o < file.count {
            let n = min(recordSize, file.count - o)
            records.append((UInt64(o), file[o..<o + n]))
            o += n
        }
        let order = shuffle?(records.count) ?? Array(records.indices)
        func emit(_ offset: UInt64, _ data: ArraySlice<UInt8>) {
            let at = w.bytes.count
            w.put(offset, at: at, width: 8)
            w.put(UInt64(data.count), at: at + 8, width: 8)
            w.append(Array(data))
        }
        for i in order { emit(records[i].0, records[i].1) }
        for r in rewrites { emit(r.offset, r.bytes[...]) }
        if endMarker { w.append([UInt8](repeating: 0xff, count: 16)) }
        return w.bytes
    }
}
