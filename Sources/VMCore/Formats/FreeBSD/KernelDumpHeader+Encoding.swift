extension KernelDumpHeader {
    /// A header with the fields the FreeBSD kernel's `dump_init_header()` sets
    /// (`sys/kern/kern_shutdown.c`): version 4, `dumpextent` = `dumplength`, parity computed.
    public init(kind: Kind = .kernelDump, architecture: String, architectureVersion: UInt32, dumpLength: UInt64,
                dumpExtent: UInt64? = nil, dumpTime: UInt64, dumpKeySize: UInt32 = 0, blockSize: UInt32,
                hostname: String, versionString: String, panicString: String, compression: Compression = .none,
                version: UInt32 = 4) {
        self.kind = kind
        self.architecture = architecture
        self.version = version
        self.architectureVersion = architectureVersion
        self.dumpLength = dumpLength
        self.dumpExtent = dumpExtent ?? dumpLength
        self.dumpTime = dumpTime
        self.dumpKeySize = dumpKeySize
        self.blockSize = blockSize
        self.hostname = hostname
        self.versionString = versionString
        self.panicString = panicString
        self.compression = compression
        self.parity = 0
        self.parity = Self.parity(encoded(parity: 0)[...])
    }

    /// The 512 bytes of this header in its version's layout (`sys/sys/kerneldump.h`; v1–v3 as
    /// netdumpd's `kerneldump_compat.h` keeps them), strings truncated and NUL-padded as
    /// `strlcpy`/`strncpy` leave them, and the stored `parity`.
    public func encoded() -> [UInt8] { encoded(parity: parity) }

    /// The header with its parity recomputed so that it XORs to zero.
    public func withParity() -> KernelDumpHeader {
        var h = self
        h.parity = Self.parity(encoded(parity: 0)[...])
        return h
    }

    func encoded(parity: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        func put(_ text: String, _ at: Int, _ count: Int) {
            for (i, c) in text.utf8.prefix(count - 1).enumerated() { b[at + i] = c }
        }
        func u32(_ v: UInt32, _ at: Int) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i)) } }
        func u64(_ v: UInt64, _ at: Int) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * i)) } }
        for (i, c) in kind.rawValue.utf8.enumerated() { b[i] = c }
        put(architecture, 20, 12)
        u32(version, 32)
        u32(architectureVersion, 36)
        switch version {
        case 1:
            u64(dumpLength, 40); u64(dumpTime, 48); u32(blockSize, 56)
            put(hostname, 60, 64); put(versionString, 124, 192); put(panicString, 316, 192)
        case 2:
            u64(dumpLength, 40); u64(dumpTime, 48); u32(dumpKeySize, 56); u32(blockSize, 60)
            put(hostname, 64, 64); put(versionString, 128, 192); put(panicString, 320, 188)
        case 3:
            u64(dumpLength, 40); u64(dumpExtent, 48); u64(dumpTime, 56); u32(dumpKeySize, 64); u32(blockSize, 68)
            b[72] = compression.rawValue
            put(hostname, 73, 64); put(versionString, 137, 192); put(panicString, 329, 179)
        default:
            u64(dumpLength, 40); u64(dumpTime, 48); u32(dumpKeySize, 56); u32(blockSize, 60)
            put(hostname, 64, 64); put(versionString, 128, 192); put(panicString, 320, 175)
            b[495] = compression.rawValue
            u64(dumpExtent, 496)
        }
        u32(parity, 508)
        return b
    }
}
