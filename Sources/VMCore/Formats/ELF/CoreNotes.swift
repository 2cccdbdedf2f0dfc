/// Registers a CPU saved at crash time: from an `NT_PRSTATUS` note (kdump: the crashing CPU's
/// panic registers, others from the NMI stop path; QEMU: every vCPU).
public struct SavedCPU: Sendable, Equatable, Codable {
    /// The CPU's position among the dump's `NT_PRSTATUS` notes.
    public var index: Int
    /// `pr_pid`: the task running on that CPU (kdump), or the vCPU index + 1 (QEMU).
    public var pid: UInt32
    /// The saved program counter (x86-64 `rip`, aarch64 `pc`).
    public var pc: UInt64
    /// The saved stack pointer.
    public var sp: UInt64
    /// All general registers by their `user_regs_struct` names.
    public var registers: [String: UInt64]
}

/// The CPU state QEMU saves in its "QEMU" note on x86 targets.
///
/// Mirrors `QEMUCPUState`, QEMU `target/i386/arch_dump.c` (`QEMUCPUSTATE_VERSION` 1; 432 bytes,
/// little-endian): general registers, eight 24-byte segment descriptors, then `cr[5]`.
public struct QEMUCPUState: Sendable, Equatable, Codable {
    public var version: UInt32
    public var rip: UInt64
    public var rsp: UInt64
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var idtBase: UInt64
    public var gdtBase: UInt64
    public var gsBase: UInt64

    init?(_ note: ELFNote, file: String, order: ByteOrder) {
        let r = ByteReader(note.descriptor, file: file, base: note.descriptorOffset, order: order)
        guard let version = try? r.u32(0, "version"), let size = try? r.u32(4, "size"), size >= 432,
              let rip = try? r.u64(136, "rip"), let rsp = try? r.u64(56, "rsp"),
              let gsBase = try? r.u64(248 + 16, "gs.base"),
              let gdt = try? r.u64(344 + 16, "gdt.base"), let idt = try? r.u64(368 + 16, "idt.base"),
              let cr0 = try? r.u64(392, "cr0"), let cr3 = try? r.u64(416, "cr3"), let cr4 = try? r.u64(424, "cr4")
        else { return nil }
        self.version = version
        self.rip = rip
        self.rsp = rsp
        self.cr0 = cr0
        self.cr3 = cr3
        self.cr4 = cr4
        self.idtBase = idt
        self.gdtBase = gdt
        self.gsBase = gsBase
    }
}

/// What the notes of a dump say: saved CPUs, QEMU's CPU state, and the VMCOREINFO text.
public struct CoreNotes: Sendable {
    public var all: [ELFNote]
    public var cpus: [SavedCPU]
    public var qemuCPUs: [QEMUCPUState]
    /// The VMCOREINFO note's text, and the file offset of that text.
    public var vmcoreinfo: (text: String, offset: UInt64)?

    public static let prstatus: UInt32 = 1  // NT_PRSTATUS

    public init(_ notes: [ELFNote], architecture: Architecture, file: String, order: ByteOrder) {
        all = notes
        cpus = []
        qemuCPUs = []
        vmcoreinfo = nil
        for note in notes {
            switch (note.name, note.type) {
            case ("CORE", Self.prstatus):
                if let cpu = Self.savedCPU(note, index: cpus.count, architecture: architecture, file: file, order: order) {
                    cpus.append(cpu)
                }
            case ("QEMU", 0):
                if let state = QEMUCPUState(note, file: file, order: order) { qemuCPUs.append(state) }
            case ("VMCOREINFO", 0) where vmcoreinfo == nil:
                let end = note.descriptor.firstIndex(of: 0) ?? note.descriptor.endIndex
                vmcoreinfo = (String(decoding: note.descriptor[..<end], as: UTF8.self), note.descriptorOffset)
            default:
                break
            }
        }
    }

    /// The architecture an `NT_PRSTATUS` descriptor size implies (`struct elf_prstatus`:
    /// 336 bytes on x86-64, 392 on aarch64, 144 on i386, 148 on arm), for dumps whose headers
    /// do not say.
    public static func architecture(prstatusSize: Int) -> Architecture? {
        switch prstatusSize {
        case 336: .x86_64
        case 392: .aarch64
        case 144: .i386
        case 148: .arm
        default: nil
        }
    }

    // Register order of `user_regs_struct` per architecture (pr_reg); offsets from
    // `struct elf_prstatus` (linux.md A3.2): pr_pid at 32 (64-bit) or 24 (32-bit),
    // pr_reg at 112 or 72.
    private static let x86_64Registers = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
                                          "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
                                          "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"]
    private static let i386Registers = ["ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "ds", "es", "fs", "gs",
                                        "orig_eax", "eip", "cs", "eflags", "esp", "ss"]
    private static let aarch64Registers = (0...30).map { "x\($0)" } + ["sp", "pc", "pstate"]
    private static let armRegisters = (0...12).map { "r\($0)" } + ["sp", "lr", "pc", "cpsr", "orig_r0"]

    static func savedCPU(_ note: ELFNote, index: Int, architecture: Architecture, file: String, order: ByteOrder) -> SavedCPU? {
        let r = ByteReader(note.descriptor, file: file, base: note.descriptorOffset, order: order)
        let (names, pidOffset, regOffset, width, pc, sp): ([String], Int, Int, Int, String, String)
        switch architecture {
        case .x86_64: (names, pidOffset, regOffset, width, pc, sp) = (x86_64Registers, 32, 112, 8, "rip", "rsp")
        case .aarch64: (names, pidOffset, regOffset, width, pc, sp) = (aarch64Registers, 32, 112, 8, "pc", "sp")
        case .i386: (names, pidOffset, regOffset, width, pc, sp) = (i386Registers, 24, 72, 4, "eip", "esp")
        case .arm: (names, pidOffset, regOffset, width, pc, sp) = (armRegisters, 24, 72, 4, "pc", "sp")
        default: return nil
        }
        // A record of another architecture's size is not this machine's `elf_prstatus`.
        guard Self.architecture(prstatusSize: note.descriptor.count) == architecture,
              let pid = try? r.u32(pidOffset, "pr_pid") else { return nil }
        var registers: [String: UInt64] = [:]
        for (i, name) in names.enumerated() {
            guard let value = try? r.uint(regOffset + i * width, width: width, "pr_reg") else { return nil }
            registers[name] = value
        }
        return SavedCPU(index: index, pid: pid, pc: registers[pc] ?? 0, sp: registers[sp] ?? 0, registers: registers)
    }
}
