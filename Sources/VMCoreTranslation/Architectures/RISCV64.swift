/// riscv64: its paging forms and its saved registers.
public enum RISCV64 {
    /// `struct user_regs_struct` (`arch/riscv/include/uapi/asm/ptrace.h`): pc, then x1–x31 by
    /// their ABI names; gdb's `org.gnu.gdb.riscv.cpu` numbers x0 (zero)…x31, then pc. A dump
    /// saves no x0, which is always zero.
    public static let registers = RegisterFile.lp64(
        slots: abiNames.dropFirst().reduce(into: ["pc"]) { $0.append($1) },
        gdbOrder: (abiNames + ["pc"]).map { .init($0, bits: 64) },
        pc: "pc", sp: "sp")

    static let abiNames = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"]
        + (0...7).map { "a\($0)" } + (2...11).map { "s\($0)" } + (3...6).map { "t\($0)" }
}

/// RISC-V Sv39/Sv48/Sv57 paging (the privileged spec, §10): 4 KiB pages, 8-byte PTEs, 9 index
/// bits a level; a PTE is a leaf when any of R, W, X is set, and its PPN (bits 53–10) shifted
/// to bit 12 is the page. Bits 63–54 are not address (Svpbmt keeps memory types there).
public struct RISCV64Paging: PagingForm {
    /// 3 (Sv39), 4 (Sv48) or 5 (Sv57).
    public let levelCount: Int
    /// Names of the two bits software may use (8, 9), which each kernel names its own way.
    public let softwareBits: [(Int, String)]

    /// Named as FreeBSD and aarch64 name them, counting down from `l3`, the leaf (Sv39: l1,
    /// l2, l3); the privileged spec numbers them the other way.
    public let levels: [PagingLevel]

    public init(levels count: Int = 3, softwareBits: [(Int, String)] = []) {
        levelCount = count
        self.softwareBits = softwareBits
        levels = (0..<count).map { i in
            PagingLevel(name: "l\(4 - count + i)", shift: 12 + 9 * (count - 1 - i), bits: 9)
        }
    }

    public var name: String { "riscv64 Sv\(12 + 9 * levelCount)" }
    public var entrySize: Int { 8 }
    public var virtualBits: Int { 12 + 9 * levelCount }


    /// Bits 63–54 (`PTE_HI_MASK` in FreeBSD `sys/riscv/include/pte.h`).
    static let highMask: UInt64 = 0xffc0_0000_0000_0000

    public func decode(_ entry: UInt64, level: Int) -> PageTableEntry {
        guard entry & 1 != 0 else { return .notPresent }
        let base = ((entry & ~Self.highMask) >> 10) << 12
        if entry & 0xe != 0 { return .page(base & ~(levels[level].span - 1)) }
        return level == levels.count - 1 ? .notPresent : .table(base)
    }

    public func notPresentMessage(level: Int) -> String {
        level == levels.count - 1 ? "\(levels[level].name.uppercased()) PTE is not a valid leaf" : "\(levels[level].name.uppercased()) PTE is not valid"
    }

    static let hardwareBits: [(Int, String)] = [(0, "V"), (1, "R"), (2, "W"), (3, "X"), (4, "U"), (5, "G"), (6, "A"), (7, "D")]

    public func flags(_ entry: UInt64, level: Int) -> [String] {
        Self.flagNames(entry, Self.hardwareBits + softwareBits)
    }
}
