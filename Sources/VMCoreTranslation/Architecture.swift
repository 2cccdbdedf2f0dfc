/// The architecture of the dumped machine. What each one is — its paging forms, its saved
/// registers — lives in `Architectures/<Arch>.swift`, one file each.
public enum Architecture: String, Sendable, Codable, CaseIterable {
    case x86_64
    case i386
    case aarch64
    case arm
    case ppc64
    case s390x
    case riscv64
    case unknown

    /// From an `e_machine` value (`<elf.h>` `EM_*`).
    public init(elfMachine: UInt16, is64: Bool) {
        switch elfMachine {
        case 62: self = .x86_64     // EM_X86_64
        case 3: self = .i386        // EM_386
        case 183: self = .aarch64   // EM_AARCH64
        case 40: self = .arm        // EM_ARM
        case 21: self = .ppc64      // EM_PPC64
        case 22: self = is64 ? .s390x : .unknown  // EM_S390
        case 243: self = is64 ? .riscv64 : .unknown  // EM_RISCV
        default: self = .unknown
        }
    }

    /// From `utsname.machine` as the kernel (or a dump tool) writes it; nil if it names none.
    public init?(machineName: String) {
        switch machineName {
        case "x86_64", "amd64": self = .x86_64
        case "i386", "i486", "i586", "i686", "x86": self = .i386
        case "aarch64", "arm64": self = .aarch64
        case let m where m.hasPrefix("armv") || m == "arm": self = .arm
        case "ppc64", "ppc64le": self = .ppc64
        case "s390x": self = .s390x
        case "riscv64": self = .riscv64
        default: return nil
        }
    }

    /// True for architectures whose kernels use 64-bit words.
    public var is64Bit: Bool {
        switch self {
        case .i386, .arm: false
        default: true
        }
    }

    /// Bytes in a kernel pointer.
    public var pointerSize: Int { is64Bit ? 8 : 4 }

    /// The Linux `struct elf_prstatus` registers of this architecture, if known.
    public var registers: RegisterFile? {
        switch self {
        case .x86_64: X86_64.registers
        case .i386: I386.registers
        case .aarch64: AArch64.registers
        case .arm: ARM.registers
        case .riscv64: RISCV64.registers
        default: nil
        }
    }

    /// The architecture whose `struct elf_prstatus` has `size` bytes, for dumps whose headers
    /// do not say (336 on x86-64, 392 on aarch64, 376 on riscv64, 144 on i386, 148 on arm).
    public init?(prstatusSize size: Int) {
        guard let a = Self.allCases.first(where: { $0.registers?.prstatusSize == size }) else { return nil }
        self = a
    }
}
