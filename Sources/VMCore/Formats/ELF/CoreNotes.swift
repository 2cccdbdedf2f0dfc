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

    /// The registers of one `NT_PRSTATUS` note, laid out as the architecture's register file
    /// says (`Architectures/<Arch>.swift` in VMCoreTranslation).
    static func savedCPU(_ note: ELFNote, index: Int, architecture: Architecture, file: String, order: ByteOrder) -> SavedCPU? {
        let r = ByteReader(note.descriptor, file: file, base: note.descriptorOffset, order: order)
        // A record of another architecture's size is not this machine's `elf_prstatus`.
        guard let layout = architecture.registers, note.descriptor.count == layout.prstatusSize,
              let pid = try? r.u32(layout.pidOffset, "pr_pid") else { return nil }
        var registers: [String: UInt64] = [:]
        for (i, name) in layout.slots.enumerated() {
            guard let value = try? r.uint(layout.registersOffset + i * layout.wordSize, width: layout.wordSize, "pr_reg") else { return nil }
            registers[name] = value
        }
        return SavedCPU(index: index, pid: pid, pc: registers[layout.programCounter] ?? 0, sp: registers[layout.stackPointer] ?? 0,
                        registers: registers)
    }
}
