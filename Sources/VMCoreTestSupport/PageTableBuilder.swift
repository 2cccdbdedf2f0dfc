import VMCore

/// Builds x86-64 page tables in a flat physical memory image, for translation tests.
/// Tables are allocated from `nextTable` upward; `map` creates the levels it needs.
public struct PageTableBuilder {
    public var memory: [UInt8]
    public let fiveLevel: Bool
    public let root: UInt64
    var nextTable: UInt64

    /// `size` bytes of physical memory; page tables are placed from `tablesAt`.
    public init(size: Int, fiveLevel: Bool = false, tablesAt: UInt64 = 0x10_0000) {
        memory = [UInt8](repeating: 0, count: size)
        self.fiveLevel = fiveLevel
        root = tablesAt
        nextTable = tablesAt + 4096
    }

    func entry(_ address: UInt64) -> UInt64 { memory.littleEndian64(at: Int(address)) }

    public mutating func setEntry(_ address: UInt64, _ value: UInt64) { memory.setLittleEndian64(value, at: Int(address)) }

    /// Maps `va` to `pa` with a page of `size` (4 KiB, 2 MiB or 1 GiB) and extra entry bits.
    /// Returns the physical address of the final entry.
    @discardableResult
    public mutating func map(_ va: UInt64, to pa: UInt64, size: UInt64 = 4096, flags: UInt64 = 0x3) -> UInt64 {
        let shifts = (fiveLevel ? [48, 39] : [39]) + [30, 21, 12]
        let leafShift = size == 1 << 30 ? 30 : size == 1 << 21 ? 21 : 12
        var table = root
        for shift in shifts {
            let index = (va >> UInt64(shift)) & 511
            let slot = table + index * 8
            if shift == leafShift {
                setEntry(slot, pa | flags | (leafShift == 12 ? 0 : 1 << 7))
                return slot
            }
            var e = entry(slot)
            if e & 1 == 0 {
                e = nextTable | 0x63
                nextTable += 4096
                setEntry(slot, e)
            }
            table = e & 0x000f_ffff_ffff_f000
        }
        fatalError("unreachable")
    }
}
