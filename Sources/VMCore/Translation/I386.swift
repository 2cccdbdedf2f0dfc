/// i386 paging, as FreeBSD's libkvm walks it for full dumps (`lib/libkvm/kvm_i386.c`,
/// `kvm_i386.h`): without PAE a 1024-entry page directory of 4-byte entries (4 MiB pages with
/// PS) over 1024-entry page tables; with PAE a 4-entry PDPT over 512-entry page directories
/// of 8-byte entries (2 MiB pages with PS). Virtual addresses are 32 bits wide.
public struct I386Paging: PagingArchitecture {
    public let pae: Bool

    public init(pae: Bool) { self.pae = pae }

    public var name: String { pae ? "i386 PAE" : "i386" }
    public var entrySize: Int { pae ? 8 : 4 }
    public var virtualBits: Int { 32 }
    public var signExtended: Bool { false }

    public var levels: [PagingLevel] {
        pae ? [PagingLevel(name: "pdpt", shift: 30, bits: 2), PagingLevel(name: "pde", shift: 21, bits: 9), PagingLevel(name: "pte", shift: 12, bits: 9)]
            : [PagingLevel(name: "pde", shift: 22, bits: 10), PagingLevel(name: "pte", shift: 12, bits: 10)]
    }

    /// `I386_PG_FRAME` / `I386_PG_FRAME_PAE`, and the PS frames.
    var frame: UInt64 { pae ? 0x000f_ffff_ffff_f000 : 0xffff_f000 }

    public func decode(_ entry: UInt64, level: Int) -> PageTableEntry {
        guard entry & 1 != 0 else { return .notPresent }
        let last = levels.count - 1
        if level == last { return .page(entry & frame) }
        // PS (bit 7) in a page directory entry maps a 4 MiB (2 MiB with PAE) page.
        if level == last - 1 && entry & 0x80 != 0 {
            return .page(entry & frame & ~((UInt64(1) << UInt64(levels[level].shift)) - 1))
        }
        return .table(entry & frame)
    }

    public func flags(_ entry: UInt64, level: Int) -> [String] {
        let names: [(Int, String)] = [(0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"), (5, "A"), (6, "D"), (7, "PS"), (8, "G")]
        var out = names.filter { entry >> UInt64($0.0) & 1 != 0 }.map(\.1)
        if pae && level == 0 { out = out.filter { ["P", "PWT", "PCD"].contains($0) } }
        if pae && entry >> 63 & 1 != 0 { out.append("NX") }
        return out
    }
}
