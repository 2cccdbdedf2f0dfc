import VMCore

/// Builds aarch64 stage-1 page tables of any granule, VA width and descriptor format in a flat
/// physical memory image, for translation tests. Tables are allocated one granule each from
/// the root upward; `map` creates the levels it needs.
public struct AArch64TableBuilder {
    public let form: AArch64Paging
    public var memory: [UInt8]
    public let root: UInt64
    var nextTable: UInt64

    /// `size` bytes of physical memory; the root table sits at `tablesAt` (granule-aligned).
    public init(form: AArch64Paging, size: Int, tablesAt: UInt64) {
        self.form = form
        memory = [UInt8](repeating: 0, count: size)
        root = tablesAt
        nextTable = tablesAt + form.granule
    }

    /// A descriptor for output address `pa` in the form's format, with low bits `type` (0b11
    /// table or page, 0b01 block) and any attribute bits.
    public func descriptor(_ pa: UInt64, type: UInt64, attributes: UInt64 = 0) -> UInt64 {
        var d = type | attributes | (1 << 10)  // AF
        switch form.descriptors {
        case .base: d |= pa & 0x0000_ffff_ffff_ffff & ~(form.granule - 1)
        case .lpa: d |= pa & 0x0000_ffff_ffff_0000 | (pa >> 48 & 0xf) << 12
        case .lpa2: d |= pa & 0x0003_ffff_ffff_ffff & ~(form.granule - 1) | (pa >> 50 & 0x3) << 8
        }
        return d
    }

    public func entry(_ address: UInt64) -> UInt64 { memory.littleEndian64(at: Int(address)) }

    public mutating func setEntry(_ address: UInt64, _ value: UInt64) { memory.setLittleEndian64(value, at: Int(address)) }

    /// Maps `va` to `pa` by an entry at `level` (an index into `form.levels`; the last level
    /// maps a page, the others a block of that level's span). Returns the entry's address.
    @discardableResult
    public mutating func map(_ va: UInt64, to pa: UInt64, level: Int? = nil, attributes: UInt64 = 0) -> UInt64 {
        let levels = form.levels
        let leaf = level ?? levels.count - 1
        var table = root
        for depth in 0...leaf {
            let slot = table + UInt64(levels[depth].index(va)) * 8
            if depth == leaf {
                setEntry(slot, descriptor(pa, type: depth == levels.count - 1 ? 3 : 1, attributes: attributes))
                return slot
            }
            var e = entry(slot)
            if e & 1 == 0 {
                e = descriptor(nextTable, type: 3)
                nextTable += form.granule
                setEntry(slot, e)
            }
            table = form.outputAddress(e)
        }
        fatalError("unreachable")
    }

    /// How many neighbouring last-level entries one contiguous hint covers (ARM ARM D8.6.1):
    /// 16 with 4 KiB pages, 128 with 16 KiB, 32 with 64 KiB.
    public var contiguousPages: Int { form.granule == 16384 ? 128 : form.granule == 65536 ? 32 : 16 }

    /// Maps the aligned run of `contiguousPages` pages at `va` to the run at `pa`, each entry
    /// with the contiguous bit (52).
    public mutating func mapContiguous(_ va: UInt64, to pa: UInt64) {
        for i in 0..<UInt64(contiguousPages) {
            map(va + i * form.granule, to: pa + i * form.granule, attributes: 1 << 52)
        }
    }
}

/// Reads a flat memory image as physical memory from address 0, for translation tests and the
/// page-walk fuzz target.
public struct FlatPhysicalMemory: PhysicalReader {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func readPhysical(_ address: UInt64, into buffer: inout [UInt8], count: Int) throws(TranslationError) {
        guard address <= UInt64(bytes.count), UInt64(count) <= UInt64(bytes.count) - address else {
            throw TranslationError("physical address \(hex(address)) is not in memory", "memory is \(bytes.count) bytes")
        }
        buffer.replaceSubrange(0..<count, with: bytes[Int(address)..<Int(address) + count])
    }
}
