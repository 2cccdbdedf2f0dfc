/// A FreeBSD dump where the kernel left it: on a dump device, or in an image of one.
///
/// The layout is `dump_start()`/`dump_write_headers()` in FreeBSD `sys/kern/kern_shutdown.c`
/// (freebsd.md §2.1): at least 64 KiB left untouched, the leading header (one block), the EKCD
/// key area (`dumpkeysize` bytes, only when encrypted), the payload (`dumpextent` bytes of
/// which `dumplength` matter), and the trailing header in the device's last block. Both headers
/// are the same 512 bytes zero-padded to the block size. It is found the way savecore's
/// `DoFile()` (`sbin/savecore/savecore.c`) finds it: the trailing header first, then the
/// leading header where the trailing one's sizes put it, and the two must agree byte for byte.
/// An image carries no sector size, so the trailer is looked for 512 and 4096 bytes from the
/// end, and the header's own `blocksize` must match where it was found.
public struct FreeBSDDumpDevice: Sendable {
    public let source: any ByteSource
    /// The trailing header (for a cleared dump: as it was before savecore cleared it).
    public let header: KernelDumpHeader
    public let blockSize: UInt64
    public let trailerOffset: UInt64
    public let leaderOffset: UInt64
    /// Where the payload starts: after the leading header and the key area.
    public let payloadOffset: UInt64
    /// The EKCD key block, when the dump is encrypted.
    public let key: KernelDumpKey?
    public let keyOffset: UInt64?
    /// True when savecore has saved the dump and rewritten the trailer's magic.
    public let cleared: Bool
    /// What savecore would reject the dump for (bad parity, headers that disagree), accepted
    /// because the caller forced it; empty for a good dump.
    public let problems: [VMCoreError]

    /// True when `source` ends with a kernel dump header (any of the three magics) in its last
    /// 512- or 4096-byte block.
    public static func probe(_ source: any ByteSource) -> Bool { trailerCandidates(source).first != nil }

    static func trailerCandidates(_ source: any ByteSource) -> [(offset: UInt64, block: UInt64, bytes: [UInt8])] {
        var found: [(UInt64, UInt64, [UInt8])] = []
        for block: UInt64 in [512, 4096] where source.size >= block {
            let at = source.size - block
            guard let bytes = try? source.bytes(at: at, count: KernelDumpHeader.size, what: "trailing dump header"),
                  KernelDumpHeader.kind(bytes[...]) != nil else { continue }
            found.append((at, block, bytes))
        }
        return found
    }

    /// Finds and checks the dump on `source`. Without `force`, a cleared dump, a header that
    /// fails its parity check, and leading and trailing headers that disagree are errors, as in
    /// savecore; with it they are recorded in `problems` and the dump is read anyway (savecore -f).
    public init(source: any ByteSource, force: Bool = false) throws(VMCoreError) {
        self.source = source
        let file = source.name
        guard let found = Self.trailerCandidates(source).first else {
            throw VMCoreError(.badMagic, file: file, offset: source.size >= 512 ? source.size - 512 : 0,
                              "no FreeBSD dump header at the end of the device",
                              "the last 512- or 4096-byte block should start with \"FreeBSD Kernel Dump\" or \"FreeBSD Text Dump\"")
        }
        var problems: [VMCoreError] = []
        var bytes = found.bytes
        let isCleared = KernelDumpHeader.kind(bytes[...]) == .cleared
        if isCleared {
            // savecore rewrote only the magic; put it back to check the rest (savecore -f does too).
            let restored = Array(KernelDumpHeader.Kind.kernelDump.rawValue.utf8) + [0]
            bytes.replaceSubrange(0..<restored.count, with: restored)
            let e = VMCoreError(.corrupt, file: file, offset: found.offset,
                                "the dump was already saved: savecore cleared it (\"Cleared Kernel Dump\")", hint: .force)
            guard force else { throw e }
            problems.append(e)
        }
        let header: KernelDumpHeader
        do {
            header = try KernelDumpHeader(bytes: bytes, file: file, offset: found.offset)
        } catch where error.kind == .corrupt && error.offset == found.offset + 508 && force {
            problems.append(error)
            header = try KernelDumpHeader(bytes: bytes, file: file, offset: found.offset, verifyParity: false)
        }
        guard UInt64(header.blockSize) == found.block else {
            throw VMCoreError(.corrupt, file: file, offset: found.offset + (header.version == 1 ? 56 : header.version == 3 ? 68 : 60),
                              "the trailing dump header says its block size is \(header.blockSize)",
                              "it was found \(found.block) bytes before the end of the device, in the last block")
        }
        let block = found.block
        // firsthd = lasthd - dumpextent - blocksize - dumpkeysize (savecore DoFile)
        let keySize = UInt64(header.dumpKeySize)
        guard header.dumpExtent <= found.offset, keySize + block <= found.offset - header.dumpExtent else {
            throw VMCoreError(.corrupt, file: file, offset: found.offset + 40,
                              "the dump header's sizes do not fit the device",
                              "a dump extent of \(header.dumpExtent) bytes, \(keySize) key bytes and a \(block)-byte header need more than the \(found.offset) bytes before the trailer")
        }
        let leader = found.offset - header.dumpExtent - keySize - block
        guard header.dumpLength <= header.dumpExtent else {
            throw VMCoreError(.corrupt, file: file, offset: found.offset + 40, "the dump is longer than the space it was given",
                              "dumplength \(header.dumpLength) exceeds dumpextent \(header.dumpExtent)")
        }
        let leading = try source.bytes(at: leader, count: KernelDumpHeader.size, what: "leading dump header")
        if leading != bytes {
            let at = (0..<KernelDumpHeader.size).first { leading[$0] != bytes[$0] } ?? 0
            let e = VMCoreError(.corrupt, file: file, offset: leader + UInt64(at),
                                "the leading and trailing dump headers disagree",
                                "they differ at header byte \(at) (\(Self.field(at: at, version: header.version))); the trailer is at \(hex(found.offset)); an interrupted dump leaves old headers behind")
            guard force else { throw e }
            problems.append(e)
        }
        var key: KernelDumpKey? = nil
        if keySize > 0 {
            key = try KernelDumpKey(from: source, at: leader + block, size: Int(min(keySize, 1 << 20)))
        }
        self.header = header
        self.blockSize = block
        self.trailerOffset = found.offset
        self.leaderOffset = leader
        self.keyOffset = keySize > 0 ? leader + block : nil
        self.payloadOffset = leader + block + keySize
        self.key = key
        self.cleared = isCleared
        self.problems = problems
    }

    /// The payload (`dumplength` bytes after the leading header and key) as a byte source. A
    /// textdump's payload is stored in reverse block order; see `FreeBSDTextdump`.
    public func payload() throws(VMCoreError) -> SliceSource {
        try SliceSource(base: source, start: payloadOffset, size: header.dumpLength)
    }

    /// The name of the v1–v4 header field holding byte `at`, for messages.
    static func field(at: Int, version: UInt32) -> String {
        let v4: [(Int, String)] = [(0, "magic"), (20, "architecture"), (32, "version"), (36, "architectureversion"),
                                   (40, "dumplength"), (48, "dumptime"), (56, "dumpkeysize"), (60, "blocksize"),
                                   (64, "hostname"), (128, "versionstring"), (320, "panicstring"), (495, "compression"),
                                   (496, "dumpextent"), (504, "unused"), (508, "parity")]
        let v3: [(Int, String)] = [(0, "magic"), (20, "architecture"), (32, "version"), (36, "architectureversion"),
                                   (40, "dumplength"), (48, "dumpextent"), (56, "dumptime"), (64, "dumpkeysize"),
                                   (68, "blocksize"), (72, "compression"), (73, "hostname"), (137, "versionstring"),
                                   (329, "panicstring"), (508, "parity")]
        let v1: [(Int, String)] = [(0, "magic"), (20, "architecture"), (32, "version"), (36, "architectureversion"),
                                   (40, "dumplength"), (48, "dumptime"), (56, "blocksize"), (60, "hostname"),
                                   (124, "versionstring"), (316, "panicstring"), (508, "parity")]
        let v2 = Array(v4[0..<10]) + [(320, "panicstring"), (508, "parity")]
        let table = version == 1 ? v1 : version == 2 ? v2 : version == 3 ? v3 : v4
        return table.last { $0.0 <= at }?.1 ?? "magic"
    }
}
