/// A CPU's general registers as a dump saves them and as a debugger numbers them.
///
/// Linux saves them in `struct elf_prstatus` (`include/linux/elfcore.h`): `pr_pid` in the
/// common part, then `pr_reg`, the architecture's `user_regs_struct` (or `user_pt_regs`),
/// then `pr_fpvalid`. `slots` is `pr_reg` in memory order; `gdbOrder` is the order of gdb's
/// target description for the architecture (its `g` packet), with each register's width.
public struct RegisterFile: Sendable {
    public struct Register: Sendable, Equatable {
        public var name: String
        /// Width in bits.
        public var bits: Int

        public init(_ name: String, bits: Int) {
            self.name = name
            self.bits = bits
        }
    }

    /// `pr_reg`'s words in memory order, by their `user_regs_struct` names.
    public var slots: [String]
    /// Bytes per `pr_reg` word.
    public var wordSize: Int
    /// The offset of `pr_pid` in `struct elf_prstatus`.
    public var pidOffset: Int
    /// The offset of `pr_reg`.
    public var registersOffset: Int
    /// `sizeof(struct elf_prstatus)`: what identifies the architecture of a note.
    public var prstatusSize: Int
    /// The registers in gdb's order, with their widths.
    public var gdbOrder: [Register]
    /// The names of the program counter and the stack pointer among `slots`.
    public var programCounter: String
    public var stackPointer: String

    /// The layout of a 64-bit `struct elf_prstatus`: `pr_pid` at 32, `pr_reg` at 112, then an
    /// int `pr_fpvalid` padded to 8.
    static func lp64(slots: [String], gdbOrder: [Register], pc: String, sp: String) -> RegisterFile {
        RegisterFile(slots: slots, wordSize: 8, pidOffset: 32, registersOffset: 112, prstatusSize: 112 + slots.count * 8 + 8,
                     gdbOrder: gdbOrder, programCounter: pc, stackPointer: sp)
    }

    /// The layout of a 32-bit `struct elf_prstatus`: `pr_pid` at 24, `pr_reg` at 72, then an
    /// int `pr_fpvalid`.
    static func ilp32(slots: [String], gdbOrder: [Register], pc: String, sp: String) -> RegisterFile {
        RegisterFile(slots: slots, wordSize: 4, pidOffset: 24, registersOffset: 72, prstatusSize: 72 + slots.count * 4 + 4,
                     gdbOrder: gdbOrder, programCounter: pc, stackPointer: sp)
    }
}
