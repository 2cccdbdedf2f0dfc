import VMCore

extension NetdumpDumpSource {
    /// A kernel dump header for a payload that arrives without one, filled as the kernel's
    /// `dump_init_header()` fills it (`sys/kern/kern_shutdown.c`; freebsd.md §1.2, §1.5):
    /// version 4, `dumplength` = `dumpextent` = the payload's size, netdump's block size 4096,
    /// the key size, parity that XORs to zero. The architecture is read from a minidump's
    /// magic when the payload is one (else `architecture`); the compression from a gzip or
    /// zstd magic, so that the server names the file `.gz` or `.zst`.
    public static func synthesizedHeader(payloadPrefix: [UInt8], payloadLength: UInt64, keyLength: Int,
                                         architecture: String? = nil, hostname: String, dumpTime: UInt64,
                                         versionString: String = "", panicString: String = "") -> KernelDumpHeader {
        let arch = architecture ?? minidumpArchitecture(payloadPrefix) ?? "amd64"
        return KernelDumpHeader(architecture: arch, architectureVersion: architectureVersion(arch),
                                dumpLength: payloadLength, dumpTime: dumpTime, dumpKeySize: UInt32(keyLength),
                                blockSize: UInt32(Netdump.maxPayload), hostname: hostname, versionString: versionString,
                                panicString: panicString, compression: compression(payloadPrefix))
    }

    /// `MACHINE_ARCH` of a minidump's `"minidump FreeBSD/<arch>"` magic.
    static func minidumpArchitecture(_ prefix: [UInt8]) -> String? {
        let magic = "minidump FreeBSD/"
        guard prefix.count >= magic.utf8.count, prefix.starts(with: magic.utf8) else { return nil }
        let name = String(decoding: prefix.dropFirst(magic.utf8.count).prefix(12).prefix { $0 != 0 }, as: UTF8.self)
        switch name {
        case "amd64": return "amd64"
        case "arm64": return "aarch64"
        case "i386": return "i386"
        case "riscv": return "riscv64"
        default: return name.isEmpty ? nil : name
        }
    }

    /// `KERNELDUMP_<ARCH>_VERSION` (`sys/sys/kerneldump.h`).
    static func architectureVersion(_ arch: String) -> UInt32 {
        switch arch {
        case "amd64", "i386": 2
        default: 1
        }
    }

    /// gzip (`1f 8b`) or zstd (`28 b5 2f fd`), as the kernel's compressors write them.
    static func compression(_ prefix: [UInt8]) -> KernelDumpHeader.Compression {
        if prefix.starts(with: [0x1f, 0x8b]) { return .gzip }
        if prefix.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        return .none
    }
}
