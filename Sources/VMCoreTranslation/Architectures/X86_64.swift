/// x86-64: its paging forms and its saved registers.
public enum X86_64 {
    /// `struct user_regs_struct` (`arch/x86/include/uapi/asm/ptrace.h`... as `elf_gregset_t`),
    /// and gdb's amd64 general registers (`gdb/features/i386/64bit-core.xml`).
    public static let registers = RegisterFile.lp64(
        slots: ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
                "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
                "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"],
        gdbOrder: ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"].map { .init($0, bits: 64) }
            + ["eflags", "cs", "ss", "ds", "es", "fs", "gs"].map { .init($0, bits: 32) },
        pc: "rip", sp: "rsp")
}

/// x86-64 paging, 4-level and 5-level (LA57): 4 KiB pages, 2 MiB pages at the PMD and 1 GiB
/// pages at the PUD (PS bit 7); linux.md A6.1 and the Intel SDM vol. 3 §4.5.
///
/// Entries hold the frame in bits 12…(physical width − 1); bit 63 is NX, bits 52–62 are
/// software/protection-key bits, and in a large page bit 12 is PAT, not address. AMD SME's
/// C-bit (Linux's `sme_mask`) is masked too.
public struct X86_64Paging: PagingForm {
    public let fiveLevel: Bool
    /// Physical address bits (52 architectural maximum).
    public let physicalBits: Int
    /// The memory-encryption bit(s) to clear from every entry.
    public let encryptionMask: UInt64
    /// The levels' names, root first.
    public let levelNames: [String]

    /// Whose names the levels go by.
    public enum Names: Sendable {
        /// pgd, (p4d,) pud, pmd, pte: Linux's pgd is the root either way; p4d is a level only with LA57.
        case linux
        /// (pml5,) pml4, pdp, pde, pte.
        case freebsd
    }

    public init(fiveLevel: Bool = false, physicalBits: Int = 52, encryptionMask: UInt64 = 0, names: Names = .linux) {
        self.fiveLevel = fiveLevel
        self.physicalBits = min(max(physicalBits, 12), 52)
        self.encryptionMask = encryptionMask
        switch names {
        case .linux: levelNames = fiveLevel ? ["pgd", "p4d", "pud", "pmd", "pte"] : ["pgd", "pud", "pmd", "pte"]
        case .freebsd: levelNames = Array(["pml5", "pml4", "pdp", "pde", "pte"].suffix(fiveLevel ? 5 : 4))
        }
    }

    public var name: String { fiveLevel ? "x86-64 5-level" : "x86-64 4-level" }
    public var entrySize: Int { 8 }
    public var virtualBits: Int { fiveLevel ? 57 : 48 }

    public var levels: [PagingLevel] {
        zip(levelNames, fiveLevel ? [48, 39, 30, 21, 12] : [39, 30, 21, 12]).map { PagingLevel(name: $0, shift: $1, bits: 9) }
    }

    static let present: UInt64 = 1 << 0
    static let largePage: UInt64 = 1 << 7

    var addressMask: UInt64 { ((1 << UInt64(physicalBits)) - 1) & ~encryptionMask }

    public func decode(_ entry: UInt64, level: Int) -> PageTableEntry {
        guard entry & Self.present != 0 else { return .notPresent }
        let depth = fiveLevel ? 5 : 4
        // PS means a large page at the PUD (1 GiB) and PMD (2 MiB) levels only.
        if level == depth - 1 {
            return .page(entry & addressMask & ~0xfff)
        }
        if entry & Self.largePage != 0 && (level == depth - 2 || level == depth - 3) {
            let shift = UInt64(level == depth - 2 ? 21 : 30)
            return .page(entry & addressMask & ~((1 << shift) - 1))
        }
        return .table(entry & addressMask & ~0xfff)
    }

    static let flagBits: [(Int, String)] = [(0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"), (5, "A"), (6, "D"), (7, "PS"), (8, "G")]

    public func flags(_ entry: UInt64, level: Int) -> [String] {
        var out = Self.flagNames(entry, Self.flagBits)
        if level != (fiveLevel ? 4 : 3) && entry & Self.largePage == 0 { out.removeAll { $0 == "D" || $0 == "G" } }
        if entry >> 63 & 1 != 0 { out.append("NX") }
        if encryptionMask != 0 && entry & encryptionMask != 0 { out.append("C") }
        return out
    }
}
