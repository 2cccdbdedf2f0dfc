/// x86-64 paging, 4-level and 5-level (LA57): 4 KiB pages, 2 MiB pages at the PMD and 1 GiB
/// pages at the PUD (PS bit 7); linux.md A6.1 and the Intel SDM vol. 3 §4.5.
///
/// Entries hold the frame in bits 12…(physical width − 1); bit 63 is NX, bits 52–62 are
/// software/protection-key bits, and in a large page bit 12 is PAT, not address. AMD SME's
/// C-bit (`NUMBER(sme_mask)` in VMCOREINFO) is masked too.
public struct X86_64Paging: PagingArchitecture {
    public let fiveLevel: Bool
    /// Physical address bits (52 architectural maximum).
    public let physicalBits: Int
    /// The memory-encryption bit(s) to clear from every entry.
    public let encryptionMask: UInt64

    public init(fiveLevel: Bool = false, physicalBits: Int = 52, encryptionMask: UInt64 = 0) {
        self.fiveLevel = fiveLevel
        self.physicalBits = physicalBits
        self.encryptionMask = encryptionMask
    }

    public var name: String { fiveLevel ? "x86-64 5-level" : "x86-64 4-level" }
    public var entrySize: Int { 8 }
    public var virtualBits: Int { fiveLevel ? 57 : 48 }

    public var levels: [PagingLevel] {
        // Linux names: pgd is the root; p4d exists as a level only with LA57.
        (fiveLevel ? [PagingLevel(name: "pgd", shift: 48, bits: 9), PagingLevel(name: "p4d", shift: 39, bits: 9)]
                   : [PagingLevel(name: "pgd", shift: 39, bits: 9)])
            + [PagingLevel(name: "pud", shift: 30, bits: 9), PagingLevel(name: "pmd", shift: 21, bits: 9),
               PagingLevel(name: "pte", shift: 12, bits: 9)]
    }

    static let present: UInt64 = 1 << 0
    static let largePage: UInt64 = 1 << 7

    var addressMask: UInt64 { ((1 << UInt64(physicalBits)) - 1) & ~encryptionMask }

    public func decode(_ entry: UInt64, level: Int) -> PageTableEntry {
        guard entry & Self.present != 0 else { return .notPresent }
        let depth = levels.count
        let shift = UInt64(levels[level].shift)
        // PS means a large page at the PUD (1 GiB) and PMD (2 MiB) levels only.
        if level == depth - 1 {
            return .page(entry & addressMask & ~0xfff)
        }
        if entry & Self.largePage != 0 && (level == depth - 2 || level == depth - 3) {
            return .page(entry & addressMask & ~((1 << shift) - 1))
        }
        return .table(entry & addressMask & ~0xfff)
    }

    public func flags(_ entry: UInt64, level: Int) -> [String] {
        let names: [(Int, String)] = [(0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"), (5, "A"), (6, "D"), (7, "PS"), (8, "G")]
        var out = names.filter { entry >> UInt64($0.0) & 1 != 0 }.map(\.1)
        if level != levels.count - 1 && entry & Self.largePage == 0 { out.removeAll { $0 == "D" || $0 == "G" } }
        if entry >> 63 & 1 != 0 { out.append("NX") }
        if encryptionMask != 0 && entry & encryptionMask != 0 { out.append("C") }
        return out
    }
}
