/// The architecture of the dumped machine.
public enum Architecture: String, Sendable, Codable {
    case x86_64
    case i386
    case aarch64
    case arm
    case ppc64
    case s390x
    case riscv64
    case unknown

    /// From an ELF `e_machine` value (`<elf.h>` `EM_*`).
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
}
