
/// Saving a FreeBSD dump off its dump device, as savecore(8) does (`sbin/savecore/savecore.c`,
/// `DoFile()`; freebsd.md §2.2–2.5), with stronger guarantees: every file is written under a
/// temporary name, flushed and renamed into place only when complete; the saved dump is read
/// back and its length and SHA-256 checked (the hash is recorded in `info.N`) before the device
/// is cleared; a dump that does not fit in the free space (less `minfree`) is not started and
/// the device is not touched; a bad or partial dump is saved only when forced and is never
/// cleared unless that was asked for with `-c`.
public struct Savecore: Sendable {
    public struct Options: Sendable {
        /// `-C`: only say whether a dump is there.
        public var checkOnly = false
        /// `-c`: only clear the dump header.
        public var clearOnly = false
        /// `-f`: save a dump that fails the checks or was already cleared.
        public var force = false
        /// `-k`: do not clear the device after saving.
        public var keep = false
        /// `-z` (gzip) / `-Z` (zstd): compress while saving.
        public var compression: StreamDecoder.Format?
        /// `-m`: keep at most this many dumps (the number wraps to 0).
        public var maxDumps: Int?
        public init() {}
    }

    /// What happened on one device.
    public enum Outcome: Sendable, Equatable {
        /// No dump header at the end of the device (or only a cleared one).
        case none(String)
        /// A dump is there (`-C`).
        case exists
        /// A dump was found but not saved; the reason.
        case rejected(VMCoreError)
        /// `-c`: the header was cleared.
        case cleared
        case saved(Saved)
    }

    public struct Saved: Sendable, Equatable {
        public var number: Int
        public var core: String
        public var info: String
        public var key: String?
        public var bytes: UInt64
        public var sha256: String
        /// False when a read error cut the dump short (saved only with `-f`).
        public var complete: Bool
        public var cleared: Bool
    }

    public let directory: String
    public let options: Options
    /// Progress and warnings, one line each, as savecore logs them.
    public let log: @Sendable (String) -> Void

    public init(directory: String, options: Options, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.directory = directory
        self.options = options
        self.log = log
    }

    // MARK: - bounds, minfree

    /// The next dump number: the `bounds` file's number, 0 when it is missing or unreadable,
    /// and 0 again when it reaches `maxdumps` (savecore `getbounds()`).
    public func bounds() -> Int {
        guard let bytes = FileSystem.readSmallFile(directory + "/bounds", limit: 5),
              let n = Int(String(decoding: bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)), n >= 0 else { return 0 }
        if let max = options.maxDumps, n >= max { return 0 }
        return n
    }

    /// The `minfree` file's KiB, or 0.
    func minfree() -> UInt64 {
        guard let bytes = FileSystem.readSmallFile(directory + "/minfree", limit: 32) else { return 0 }
        let line = String(decoding: bytes.prefix { $0 != 0x0a }, as: UTF8.self).trimmingSpaces
        guard let n = Int64(line), n >= 0 else {
            log("warning: invalid value \"\(line)\" in \(directory)/minfree; defaulting to 0")
            return 0
        }
        return UInt64(n)
    }

    /// Refuses a dump of `length` bytes that would not leave `minfree` KiB free (savecore
    /// `check_space()`, with the KiB and byte units it mixes made consistent).
    func checkSpace(_ length: UInt64) throws(VMCoreError) {
        guard let space = FileSystem.freeSpace(directory) else {
            throw VMCoreError(.io, file: directory, "cannot read the free space")
        }
        let reserve = minfree()
        let available = reserve > 0 ? (space.available > reserve ? space.available - reserve : 0) : space.total
        let needed = length / 1024 + 2
        guard available >= needed else {
            throw VMCoreError(.io, file: directory, "no dump: not enough free space",
                              "the dump needs \(needed) KiB; \(available) KiB are free\(reserve > 0 ? " above the \(reserve) KiB in minfree" : "")")
        }
    }

    // MARK: - one device

    /// Finds, checks and (unless `-C`) saves or clears the dump on `device`.
    public func process(device: String) throws(VMCoreError) -> Outcome {
        let source = try FileSource(path: device)
        guard let candidate = FreeBSDDumpDevice.trailerCandidates(source).first else {
            return .none("no dump header at the end of \(device)")
        }
        let kind = KernelDumpHeader.kind(candidate.bytes[...])
        if kind == .cleared && !options.force {
            return .none("the dump on \(device) was already saved and cleared")
        }
        if options.clearOnly {
            try clear(device: device, trailer: candidate.offset, block: Int(candidate.block), source: source)
            return .cleared
        }
        let d: FreeBSDDumpDevice
        do throws(VMCoreError) {
            d = try FreeBSDDumpDevice(source: source, force: options.force)
        } catch {
            return .rejected(error)
        }
        let wanted: UInt32 = 4  // KERNELDUMPVERSION and KERNELDUMP_TEXT_VERSION
        if d.header.version != wanted && !options.force {
            return .rejected(VMCoreError(.unsupported, file: device, "unknown version (\(d.header.version)) in the last dump header",
                                         "savecore reads version \(wanted)", hint: .force))
        }
        if d.header.kind == .textDump && d.header.dumpLength % 512 != 0 {
            return .rejected(VMCoreError(.corrupt, file: device, "the textdump's length \(d.header.dumpLength) is not a multiple of 512"))
        }
        if options.checkOnly { return .exists }
        for p in d.problems { log("warning: saving although: \(p.description)") }
        log(d.header.panicString.isEmpty ? "reboot" : "reboot after panic: \(d.header.panicString)")
        return .saved(try save(d, device: device))
    }

    /// Overwrites the trailing header's magic with "Cleared Kernel Dump", the rest of the block
    /// unchanged (savecore's "nuke"); the leading header is left as it is.
    func clear(device: String, trailer: UInt64, block: Int, source: any ByteSource) throws(VMCoreError) {
        var sector = try source.bytes(at: trailer, count: block, what: "trailing dump header")
        let magic = Array(KernelDumpHeader.Kind.cleared.rawValue.utf8) + [0]
        sector.replaceSubrange(0..<magic.count, with: magic)
        try FileSystem.overwrite(device, at: trailer, sector)
        let check = try FileSource(path: device).bytes(at: trailer, count: 20, what: "cleared header")
        guard KernelDumpHeader.kind(check[...]) == .cleared else {
            throw VMCoreError(.io, file: device, offset: trailer, "the dump header did not read back cleared")
        }
    }

    func save(_ d: FreeBSDDumpDevice, device: String) throws(VMCoreError) -> Saved {
        let h = d.header
        try checkSpace(h.dumpLength)
        let n = bounds()
        try FileSystem.writeFile(directory: directory, name: "bounds", Array("\(n + 1)\n".utf8), permissions: 0o644)
        for stale in ["info", "vmcore", "vmcore_encrypted", "key", "textdump.tar", "livecore"] {
            for suffix in ["", ".gz", ".zst"] { try FileSystem.remove(directory: directory, name: "\(stale).\(n)\(suffix)") }
        }
        let encrypted = h.dumpKeySize > 0
        let compressedByKernel = h.compression != .none
        // The kernel's own compression is kept as it is; -z/-Z apply to the rest.
        let compression: StreamDecoder.Format? = compressedByKernel ? nil : options.compression
        let base = h.kind == .textDump ? "textdump.tar" : encrypted ? "vmcore_encrypted" : "vmcore"
        var suffix = ""
        if let compression { suffix = compression == .gzip ? ".gz" : ".zst" }
        if compressedByKernel && !encrypted { suffix = h.compression.suffix ?? "" }
        let coreName = "\(base).\(n)\(suffix)"
        log("writing \(compression == nil ? "" : "\(compression!.rawValue)-compressed ")core to \(directory)/\(coreName)")

        var keyName: String?
        if encrypted, let keyOffset = d.keyOffset {
            keyName = "key.\(n)"
            let key = try d.source.bytes(at: keyOffset, count: Int(h.dumpKeySize), what: "dump key")
            try FileSystem.writeFile(directory: directory, name: keyName!, key)
        }

        let payload: any ByteSource = h.kind == .textDump
            ? try ReversedBlockSource(base: d.source, trailerOffset: d.trailerOffset, length: h.dumpLength)
            : try d.payload()
        let sparse = compression == nil && !compressedByKernel && !encrypted && h.kind != .textDump
        let copy = try write(payload, to: coreName, compression: compression, sparse: sparse)

        // What was read back while writing must checksum as what was written, and the file in
        // place must have its length.
        let saved = try FileSource(path: directory + "/" + coreName)
        guard saved.size == copy.bytes, copy.readBackMatches else {
            throw VMCoreError(.io, file: saved.name, "the saved dump does not read back as written",
                              "\(saved.size) bytes of \(copy.bytes) are there\(copy.readBackMatches ? "" : ", and their CRC-32 differs from what was written"); the device is left as it was")
        }
        if !copy.complete { log("warning: \(directory)/\(coreName) is incomplete: \(copy.failure ?? "read error")") }

        let infoName = "info.\(n)"
        try FileSystem.writeFile(directory: directory, name: infoName,
                                 Array(Self.infoText(d, device: device, bounds: n, status: copy.complete ? "good" : "incomplete",
                                                     core: coreName, bytes: copy.bytes, sha256: copy.sha256).utf8))
        if copy.complete {
            for stale in ["info.last", "key.last", "vmcore.last", "vmcore.last.gz", "vmcore.last.zst", "vmcore_encrypted.last",
                          "vmcore_encrypted.last.gz", "vmcore_encrypted.last.zst", "textdump.tar.last", "textdump.tar.last.gz",
                          "textdump.tar.last.zst"] {
                try FileSystem.remove(directory: directory, name: stale)
            }
            try FileSystem.replaceSymlink(directory: directory, name: "info.last", target: infoName)
            if let keyName { try FileSystem.replaceSymlink(directory: directory, name: "key.last", target: keyName) }
            try FileSystem.replaceSymlink(directory: directory, name: "\(base).last\(suffix)", target: coreName)
        }
        var cleared = false
        if copy.complete && !options.keep {
            try clear(device: device, trailer: d.trailerOffset, block: Int(d.blockSize), source: d.source)
            cleared = true
        }
        return Saved(number: n, core: coreName, info: infoName, key: keyName, bytes: copy.bytes, sha256: copy.sha256,
                     complete: copy.complete, cleared: cleared)
    }

    struct Copy {
        var bytes: UInt64
        var sha256: String
        /// The bytes read back from the file checksum as the bytes written to it.
        var readBackMatches: Bool
        var complete: Bool
        var failure: String?
    }

    /// Streams `payload` into `directory/name`, compressed or sparse, hashing what is written.
    /// A read error ends the copy: the file is kept, marked incomplete, only with `-f`.
    func write(_ payload: any ByteSource, to name: String, compression: StreamDecoder.Format?, sparse: Bool) throws(VMCoreError) -> Copy {
        let file = try AtomicFile(directory: directory, name: name)
        var hasher = StreamSHA256()
        var written: UInt64 = 0
        var flushedTo: UInt64 = 0
        // What was handed to the file and what reads back from it are checksummed apart (CRC-32);
        // the SHA-256 recorded in info.N is of the bytes read back.
        var writtenCRC = StreamCRC32(), readCRC = StreamCRC32()
        var verified: UInt64 = 0
        var check = [UInt8](repeating: 0, count: 1 << 20)
        var failure: String?
        let encoder: StreamEncoder?
        if let compression {
            guard let e = StreamEncoder(format: compression, level: compression == .gzip ? 1 : 3, threads: compression == .zstd ? Int32(System.activeProcessorCount) : 0) else {
                throw VMCoreError(.io, file: file.path, "cannot start the \(compression.rawValue) compressor")
            }
            encoder = e
        } else {
            encoder = nil
        }
        func emit(_ bytes: [UInt8], _ count: Int) throws(VMCoreError) {
            writtenCRC.update(bytes, count: count)
            if sparse {
                try DecompressedCache.writeSkippingZeroBlocks(bytes, count: count, at: written, to: file)
            } else {
                try file.write(bytes, 0..<count, at: written)
            }
            written += UInt64(count)
            // Write back as we go, so the flush before the rename is short; read back what
            // was written, hashing it apart from what was handed to the file.
            if written - flushedTo >= 16 << 20 {
                file.startWriteback(offset: flushedTo, count: written - flushedTo)
                flushedTo = written
                try readBack(upTo: written)
            }
        }
        func readBack(upTo end: UInt64) throws(VMCoreError) {
            // Zero blocks at the end of a sparse file were skipped, not written.
            if sparse { try file.setLength(end) }
            while verified < end {
                let n = Int(min(UInt64(check.count), end - verified))
                try file.read(into: &check, at: verified, count: n)
                hasher.update(check, count: n)
                readCRC.update(check, count: n)
                verified += UInt64(n)
            }
        }
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var at: UInt64 = 0
        while at < payload.size {
            let n = Int(min(UInt64(chunk), payload.size - at))
            do throws(VMCoreError) {
                try payload.read(into: &buffer, bufferOffset: 0, at: at, count: n)
            } catch {
                failure = error.description
                break
            }
            at += UInt64(n)
            if let encoder {
                try encoder.encode(buffer, 0..<n, finish: false, sink: emit)
            } else {
                try emit(buffer, n)
            }
        }
        if let encoder { try encoder.encode(buffer, 0..<0, finish: true, sink: emit) }
        if failure != nil && !options.force {
            file.discard()
            throw VMCoreError(.io, file: payload.name, offset: at, "the dump could not be read whole; nothing was saved and the device was not cleared",
                              "\(failure!)", hint: .force)
        }
        try readBack(upTo: written)
        try file.commit(length: written)
        return Copy(bytes: written, sha256: hasher.hex(), readBackMatches: writtenCRC == readCRC,
                    complete: failure == nil, failure: failure)
    }

    /// `info.N` in savecore's text form (libxo text style), with what was saved and its SHA-256.
    public static func infoText(_ d: FreeBSDDumpDevice, device: String, bounds: Int, status: String,
                                core: String, bytes: UInt64, sha256: String) -> String {
        let h = d.header
        var version = h.versionString
        if !version.hasSuffix("\n") { version += "\n" }
        return """
            Dump header from device: \(device)
              Architecture: \(h.architecture)
              Architecture Version: \(h.architectureVersion)
              Dump Length: \(h.dumpLength)
              Blocksize: \(h.blockSize)
              Compression: \(h.compression.name)
              Dumptime: \(formatDumpTime(Int64(clamping: h.dumpTime)))
              Hostname: \(h.hostname)
              Magic: \(h.kind.rawValue)
              Version String: \(version)  Panic String: \(h.panicString)
              Dump Parity: \(h.parity.byteSwapped)
              Bounds: \(bounds)
              Dump Status: \(status)
              Saved As: \(core)
              Saved Length: \(bytes)
              Saved SHA-256: \(sha256)

            """
    }

    /// `strftime("%F %T %z")` in UTC.
    static func formatDumpTime(_ seconds: Int64) -> String {
        String(formatUTC(seconds).dropLast(4)) + " +0000"
    }
}
