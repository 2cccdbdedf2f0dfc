import VMCore

/// Writes `struct kerneldumpheader` (FreeBSD `sys/sys/kerneldump.h`, version 4: 512 bytes,
/// integers big-endian) as `dump_init_header()` fills it (`sys/kern/kern_shutdown.c`), with
/// the parity word that makes the 128 32-bit words XOR to zero.
public struct KernelDumpHeaderBuilder {
    public var magic = "FreeBSD Kernel Dump"
    public var architecture = "amd64"
    public var version: UInt32 = 4
    public var architectureVersion: UInt32 = 2
    public var dumpLength: UInt64 = 0
    public var dumpExtent: UInt64?
    public var dumpTime: UInt64 = 1_717_236_000
    public var dumpKeySize: UInt32 = 0
    public var blockSize: UInt32 = 512
    public var hostname = "crashbox.example.org"
    public var versionString = "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64\n"
    public var panicString = ""
    public var compression: UInt8 = 0

    public init() {}

    /// A textdump's header as `textdump_dumpsys()` writes it: `TEXTDUMPMAGIC`, architecture
    /// version `KERNELDUMP_TEXT_VERSION` (4), dumplength = dumpextent = the archive's length.
    public static func textdump(length: UInt64) -> KernelDumpHeaderBuilder {
        var b = KernelDumpHeaderBuilder()
        b.magic = "FreeBSD Text Dump"
        b.architectureVersion = 4
        b.dumpLength = length
        return b
    }

    public func build() -> [UInt8] {
        var w = ByteWriter(count: 512, order: .big)
        w.cString(magic, at: 0, size: 20)
        w.cString(architecture, at: 20, size: 12)
        w.u32(version, at: 32)
        w.u32(architectureVersion, at: 36)
        w.u64(dumpLength, at: 40)
        w.u64(dumpTime, at: 48)
        w.u32(dumpKeySize, at: 56)
        w.u32(blockSize, at: 60)
        w.cString(hostname, at: 64, size: 64)
        // strlcpy; a version string that does not fit keeps its newline at [190].
        w.cString(versionString, at: 128, size: 192)
        if versionString.utf8.count >= 192 { w.bytes[128 + 190] = 0x0a }
        w.cString(panicString, at: 320, size: 175)
        w.bytes[495] = compression
        w.u64(dumpExtent ?? dumpLength, at: 496)
        w.u32(KernelDumpHeader.parity(w.bytes[...]), at: 508)
        return w.bytes
    }
}
