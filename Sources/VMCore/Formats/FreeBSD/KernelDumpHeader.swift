/// The header FreeBSD writes before and after a dump on the dump device.
///
/// Mirrors `struct kerneldumpheader`, FreeBSD `sys/sys/kerneldump.h` (freebsd.md §1.2): 512 bytes,
/// integers big-endian, versions 1–4 with different field offsets (v1: FreeBSD 5–11; v2: EKCD;
/// v3: 12-CURRENT compression; v4: current). A valid header XORs to zero over its 128 32-bit words.
public struct KernelDumpHeader: Sendable, Equatable {
    public enum Kind: String, Sendable { case kernelDump = "FreeBSD Kernel Dump", textDump = "FreeBSD Text Dump", cleared = "Cleared Kernel Dump" }
    public enum Compression: UInt8, Sendable {
        case none = 0, gzip = 1, zstd = 2

        /// The name savecore and netdumpd print ("none", "gzip", "zstd").
        public var name: String {
            switch self {
            case .none: "none"
            case .gzip: "gzip"
            case .zstd: "zstd"
            }
        }

        /// The suffix a compressed dump's file gets (".gz", ".zst"); nil when not compressed.
        public var suffix: String? {
            switch self {
            case .none: nil
            case .gzip: ".gz"
            case .zstd: ".zst"
            }
        }
    }

    public var kind: Kind
    public var architecture: String
    public var version: UInt32
    public var architectureVersion: UInt32
    /// Bytes of dump payload (the exact compressed size for compressed dumps).
    public var dumpLength: UInt64
    /// Space the payload occupies on the device (≥ dumpLength; locates the leading header).
    public var dumpExtent: UInt64
    public var dumpTime: UInt64
    /// Bytes of the EKCD key area after the leading header (0: not encrypted).
    public var dumpKeySize: UInt32
    public var blockSize: UInt32
    public var hostname: String
    public var versionString: String
    public var panicString: String
    public var compression: Compression
    public var parity: UInt32

    public static let size = 512

    /// The kind of header `bytes` (at least 20) starts with, compared as `strncmp` does.
    public static func kind(_ bytes: ArraySlice<UInt8>) -> Kind? {
        guard bytes.count >= 20 else { return nil }
        let field = bytes.prefix(20)
        let text = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
        return Kind(rawValue: text)
    }

    /// XOR of the 128 32-bit words; zero for an intact header (`kerneldump_parity()`).
    public static func parity(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var p: UInt32 = 0
        var i = bytes.startIndex
        while i + 4 <= min(bytes.endIndex, bytes.startIndex + 512) {
            p ^= UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
            i += 4
        }
        return p
    }

    /// Parses the 512-byte header at `offset` of `source`.
    public init(from source: any ByteSource, at offset: UInt64, verifyParity: Bool = true) throws(VMCoreError) {
        let bytes = try source.bytes(at: offset, count: Self.size, what: "kernel dump header")
        try self.init(bytes: bytes, file: source.name, offset: offset, verifyParity: verifyParity)
    }

    /// Parses a 512-byte header read from `file` at `offset`.
    public init(bytes: [UInt8], file: String, offset: UInt64, verifyParity: Bool = true) throws(VMCoreError) {
        let r = ByteReader(Array(bytes.prefix(Self.size)), file: file, base: offset, order: .big)
        guard let kind = Self.kind(r.bytes[...]) else {
            throw VMCoreError(.badMagic, file: file, offset: offset, "not a FreeBSD kernel dump header",
                              "expected \"FreeBSD Kernel Dump\", \"FreeBSD Text Dump\" or \"Cleared Kernel Dump\"")
        }
        self.kind = kind
        architecture = try r.cString(20, 12, "architecture")
        version = try r.u32(32, "version")
        architectureVersion = try r.u32(36, "architectureversion")
        parity = try r.u32(508, "parity")
        switch version {
        case 1:
            dumpLength = try r.u64(40, "dumplength"); dumpTime = try r.u64(48, "dumptime")
            blockSize = try r.u32(56, "blocksize"); dumpKeySize = 0
            hostname = try r.cString(60, 64, "hostname"); versionString = try r.cString(124, 192, "versionstring")
            panicString = try r.cString(316, 192, "panicstring"); compression = .none; dumpExtent = dumpLength
        case 2:
            dumpLength = try r.u64(40, "dumplength"); dumpTime = try r.u64(48, "dumptime")
            dumpKeySize = try r.u32(56, "dumpkeysize"); blockSize = try r.u32(60, "blocksize")
            hostname = try r.cString(64, 64, "hostname"); versionString = try r.cString(128, 192, "versionstring")
            panicString = try r.cString(320, 188, "panicstring"); compression = .none; dumpExtent = dumpLength
        case 3:
            dumpLength = try r.u64(40, "dumplength"); dumpExtent = try r.u64(48, "dumpextent")
            dumpTime = try r.u64(56, "dumptime"); dumpKeySize = try r.u32(64, "dumpkeysize"); blockSize = try r.u32(68, "blocksize")
            let c = try r.u8(72, "compression")
            guard let comp = Compression(rawValue: c) else {
                throw VMCoreError(.corrupt, file: file, offset: offset + 72, "unknown dump compression \(c)", "expected 0 (none), 1 (gzip) or 2 (zstd)")
            }
            compression = comp
            hostname = try r.cString(73, 64, "hostname"); versionString = try r.cString(137, 192, "versionstring")
            panicString = try r.cString(329, 179, "panicstring")
        case 4:
            dumpLength = try r.u64(40, "dumplength"); dumpTime = try r.u64(48, "dumptime")
            dumpKeySize = try r.u32(56, "dumpkeysize"); blockSize = try r.u32(60, "blocksize")
            hostname = try r.cString(64, 64, "hostname"); versionString = try r.cString(128, 192, "versionstring")
            panicString = try r.cString(320, 175, "panicstring")
            let c = try r.u8(495, "compression")
            guard let comp = Compression(rawValue: c) else {
                throw VMCoreError(.corrupt, file: file, offset: offset + 495, "unknown dump compression \(c)", "expected 0 (none), 1 (gzip) or 2 (zstd)")
            }
            compression = comp
            dumpExtent = try r.u64(496, "dumpextent")
        default:
            throw VMCoreError(.unsupported, file: file, offset: offset + 32, "unknown kernel dump header version \(version)", "expected 1 to 4")
        }
        let p = Self.parity(r.bytes[...])
        guard p == 0 || !verifyParity else {
            throw VMCoreError(.corrupt, file: file, offset: offset + 508, "kernel dump header fails its parity check",
                              "the header's 32-bit words XOR to \(hex(p)), not 0")
        }
    }
}

/// `struct kerneldumpkey` (`sys/sys/kerneldump.h`, packed, big-endian): the EKCD key block.
public struct KernelDumpKey: Sendable, Equatable {
    /// `kdk_encryption`'s values.
    public typealias Cipher = DumpCipherAlgorithm
    public var encryption: UInt8
    public var iv: [UInt8]
    public var encryptedKey: [UInt8]

    public init(from source: any ByteSource, at offset: UInt64, size: Int) throws(VMCoreError) {
        let r = try source.reader(at: offset, count: size, order: .big, what: "kernel dump key")
        encryption = try r.u8(0, "kdk_encryption")
        iv = Array(try r.slice(1, 32, "kdk_iv"))
        let n = Int(try r.u32(33, "kdk_encryptedkeysize"))
        guard n <= 2048, 37 + n <= size else {
            throw VMCoreError(.corrupt, file: source.name, offset: offset + 33, "corrupt dump key", "encrypted key size \(n) does not fit the \(size)-byte key area")
        }
        encryptedKey = Array(try r.slice(37, n, "kdk_encryptedkey"))
    }
}
