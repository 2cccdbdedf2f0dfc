/// 32-bit arm: its saved registers (no paging forms are read yet).
public enum ARM {
    /// `struct pt_regs` as `elf_gregset_t` (`arch/arm/include/uapi/asm/ptrace.h`): r0–r12, sp,
    /// lr, pc, cpsr, orig_r0; gdb's arm core numbers r0–r12, sp, lr, pc, then cpsr.
    public static let registers = RegisterFile.ilp32(
        slots: (0...12).map { "r\($0)" } + ["sp", "lr", "pc", "cpsr", "orig_r0"],
        gdbOrder: ((0...12).map { "r\($0)" } + ["sp", "lr", "pc", "cpsr"]).map { .init($0, bits: 32) },
        pc: "pc", sp: "sp")
}
