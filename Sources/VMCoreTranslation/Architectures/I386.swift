/// i386: its paging forms and its saved registers.
public enum I386 {
    /// `struct user_regs_struct` as `elf_gregset_t` (`arch/x86/include/asm/user_32.h`), and
    /// gdb's i386 general registers (`gdb/features/i386/32bit-core.xml`).
    public static let registers = RegisterFile.ilp32(
        slots: ["ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "ds", "es", "fs", "gs",
                "orig_eax", "eip", "cs", "eflags", "esp", "ss"],
        gdbOrder: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
                   "cs", "ss", "ds", "es", "fs", "gs"].map { .init($0, bits: 32) },
        pc: "eip", sp: "esp")
}

/// i386 paging, as FreeBSD's libkvm walks it for full dumps (`lib/libkvm/kvm_i386.c`,
/// `kvm_i386.h`): without PAE a 1024-entry page directory of 4-byte entries (4 MiB pages with
/// PS) over 1024-entry page tables; with PAE a 4-entry PDPT over 512-entry page directories
/// of 8-byte entries (2 MiB pages with PS). Virtual addresses are 32 bits wide.
public struct I386Paging: PagingForm {
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
        let last = pae ? 2 : 1
        if level == last { return .page(entry & frame) }
        // PS (bit 7) in a page directory entry maps a 4 MiB (2 MiB with PAE) page.
        if level == last - 1 && entry & 0x80 != 0 {
            return .page(entry & frame & ~((UInt64(1) << UInt64(pae ? 21 : 22)) - 1))
        }
        return .table(entry & frame)
    }

    public func flags(_ entry: UInt64, level: Int) -> [String] {
        var out = Self.flagNames(entry, X86_64Paging.flagBits)
        if pae && level == 0 { out = out.filter { ["P", "PWT", "PCD"].contains($0) } }
        if pae && entry >> 63 & 1 != 0 { out.append("NX") }
        return out
    }
}
