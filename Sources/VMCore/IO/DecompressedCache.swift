/// Transparent reading of `vmcore.N.gz` and `vmcore.N.zst`: the first open decompresses the
/// file once into a cache file, and every open reads that file as if it were the dump.
///
/// Random access into a gzip or zstd stream costs a decompression from the start (or an index
/// of the decoder's state every few MiB); a plain copy costs one pass and disk space, and then
/// every command is as fast as on the uncompressed dump. The copy is sparse: all-zero 4 KiB
/// blocks are holes, so it takes the space of the dump's non-zero part.
///
/// A cache file is `<name>.<hash of the source's canonical path>` in the cache directory. Its
/// data is followed by a 512-byte record (`CacheRecord`) of the source it was made from —
/// device, inode, size, modification time in nanoseconds and format — and it is reused only
/// while all of them still match. It is written under a temporary name, `fsync`ed and renamed
/// only when complete (`AtomicFile`), so an interrupted or failed decompression leaves no
/// cache file.
public struct DecompressedCache: Sendable {
    /// Where cache files go.
    public var directory: String?
    /// Called once before a file is decompressed, with a sentence for the user:
    /// `decompressing vmcore.0.zst into ~/.cache/vmcore/vmcore.0.zst.… (once)`. The library
    /// itself never prints; a program shows the sentence where it shows its messages.
    public var notice: @Sendable (String) -> Void

    public init(directory: String?, notice: @escaping @Sendable (String) -> Void = { _ in }) {
        self.directory = directory
        self.notice = notice
    }

    /// The cache in `$VMCORE_CACHE_DIR`, else `$XDG_CACHE_HOME/vmcore`, else `$HOME/.cache/vmcore`,
    /// with no notice (the library never prints; a program that wants to say a dump is being
    /// decompressed passes its own with `standard(notice:)`).
    public static var standard: DecompressedCache {
        standard(notice: { _ in })
    }

    /// The cache `standard` names, with `notice`.
    public static func standard(notice: @escaping @Sendable (String) -> Void) -> DecompressedCache {
        DecompressedCache(directory: directory(environment: FileSystem.environment), notice: notice)
    }

    /// The cache directory the environment names (`lookup` returns nil for unset or empty).
    public static func directory(environment lookup: (String) -> String?) -> String? {
        if let dir = lookup("VMCORE_CACHE_DIR") { return dir }
        if let xdg = lookup("XDG_CACHE_HOME") { return xdg + "/vmcore" }
        if let home = lookup("HOME") { return home + "/.cache/vmcore" }
        return nil
    }

    /// The bytes of the file at `path` as a dump: the file itself, or, when it starts with a
    /// gzip or zstd magic, its decompressed copy (made now if there is no current one). The
    /// source keeps `path` as its name, so messages name the file the user gave.
    public func source(forPath path: String) throws(VMCoreError) -> FileSource {
        let file = try FileSource(path: path)
        let prefix = try file.bytes(at: 0, count: Int(min(4, file.size)), what: "file header")
        guard let format = StreamDecoder.Format.detect(prefix) else { return file }
        return try decompressed(file, format: format, path: path)
    }

    /// The cache file for `file`: reused when its record matches, made otherwise.
    func decompressed(_ file: FileSource, format: StreamDecoder.Format, path: String) throws(VMCoreError) -> FileSource {
        try decompressed(file, identity: file.identity, format: format, name: path, key: FileSystem.canonicalPath(path) ?? path)
    }

    /// A gzip or zstd stream inside a larger file — a dump the kernel compressed on a dump
    /// device — read through its decompressed copy like `vmcore.N.zst`. A device keeps its
    /// inode and modification time when a new dump is written to it, so the copy is keyed by
    /// where the stream lies (`file`, `offset`) and by `version`, bytes that differ from dump
    /// to dump (the dump header's time, length and parity). Errors and the copy name `data`.
    public func source(forEmbedded data: any ByteSource, format: StreamDecoder.Format, in file: any ByteSource, at offset: UInt64,
                       version: [UInt8]) throws(VMCoreError) -> FileSource {
        let enclosing = (file as? FileSource)?.identity
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for byte in version { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let identity = FileIdentity(device: enclosing?.device ?? 0, inode: enclosing?.inode ?? 0, size: data.size,
                                    modificationTimeNanoseconds: Int64(bitPattern: hash))
        let key = (FileSystem.canonicalPath(file.name) ?? file.name) + "@" + hex(offset)
        return try decompressed(data, identity: identity, format: format, name: data.name, key: key)
    }

    /// The cache file for `data`, keyed by `key` (a canonical path) and checked against
    /// `identity`: reused when its record matches, made otherwise. `name` is how messages and
    /// the returned source refer to it.
    func decompressed(_ data: any ByteSource, identity: FileIdentity, format: StreamDecoder.Format, name: String,
                      key: String) throws(VMCoreError) -> FileSource {
        guard let directory else {
            throw VMCoreError(.io, file: name, "\(format.rawValue)-compressed dump, and no directory to decompress it into",
                              "set VMCORE_CACHE_DIR (or XDG_CACHE_HOME or HOME)")
        }
        let cacheName = Self.cacheName(forCanonicalPath: key)
        let cachePath = directory + "/" + cacheName
        let record = CacheRecord(format: format, source: identity, dataLength: 0, sourcePath: key)
        if let cached = try? FileSource(path: cachePath, name: name), let length = CacheRecord.validDataLength(in: cached, matching: record) {
            return try FileSource(path: cachePath, name: name, length: length)
        }
        try FileSystem.makeDirectories(directory)
        AtomicFile.removeAbandoned(directory: directory, name: cacheName)
        notice("decompressing \(name) into \(cachePath) (once)")
        let length = try Self.decompress(data, format: format, into: AtomicFile(directory: directory, name: cacheName), record: record)
        return try FileSource(path: cachePath, name: name, length: length)
    }

    /// `<basename>.<16 hex digits>`: the file's own name (to be recognisable) and a hash of its
    /// canonical path (so two `vmcore.0.gz` in different directories do not collide, and a
    /// dump saved again under the same path replaces its stale copy).
    static func cacheName(forCanonicalPath path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? "dump"
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(base.prefix(100)) + "." + String(String(hash, radix: 16).leftPadded(16))
    }

    /// Streams `source` through a decoder into `output`, skipping all-zero blocks, then adds
    /// the record and commits. Returns the decompressed length. On any failure the temporary
    /// file is removed.
    static func decompress(_ source: any ByteSource, format: StreamDecoder.Format, into output: AtomicFile,
                           record: CacheRecord) throws(VMCoreError) -> UInt64 {
        let written = try decompress(source, format: format, into: output)
        var trailer = record
        trailer.dataLength = written
        try output.write(trailer.encoded(), 0..<CacheRecord.size, at: written)
        try output.commit(length: written + UInt64(CacheRecord.size))
        return written
    }

    /// Streams `source` (gzip members or zstd frames, then optional zero padding) through a
    /// decoder into `output` from offset 0, skipping all-zero blocks; returns the decompressed
    /// length. Does not commit `output`.
    public static func decompress(_ source: any ByteSource, format: StreamDecoder.Format, into output: AtomicFile) throws(VMCoreError) -> UInt64 {
        guard let decoder = StreamDecoder(format: format) else {
            throw VMCoreError(.io, file: source.name, "cannot start a \(format.rawValue) decoder", "out of memory")
        }
        let chunk = 1 << 20
        var input = [UInt8](repeating: 0, count: chunk)
        var inputStart = 0, inputEnd = 0
        var inputBase: UInt64 = 0          // file offset of input[0]
        var nextRead: UInt64 = 0           // file offset of the next byte to read
        var out = [UInt8](repeating: 0, count: chunk)  // a multiple of the block size
        var outFill = 0
        var written: UInt64 = 0            // decompressed bytes already handed to the file
        var memberStart: UInt64 = 0
        var betweenMembers = false
        let unit = format == .gzip ? "gzip member" : "zstd frame"

        func flush() throws(VMCoreError) {
            try writeSkippingZeroBlocks(out, count: outFill, at: written, to: output)
            written += UInt64(outFill)
            outFill = 0
        }

        while true {
            if inputStart == inputEnd && nextRead < source.size {
                let n = Int(min(UInt64(chunk), source.size - nextRead))
                try source.read(into: &input, bufferOffset: 0, at: nextRead, count: n)
                (inputBase, inputStart, inputEnd) = (nextRead, 0, n)
                nextRead += UInt64(n)
            }
            let atEnd = inputStart == inputEnd && nextRead == source.size
            if betweenMembers {
                if atEnd { break }
                // Zero bytes after the last member are padding (a dump copied in whole blocks).
                if input[inputStart] == 0 {
                    try requireZeros(source, from: inputBase + UInt64(inputStart), after: unit)
                    break
                }
                decoder.reset()
                memberStart = inputBase + UInt64(inputStart)
                betweenMembers = false
            }
            let step = decoder.decode(input, inputStart..<inputEnd, into: &out, outFill..<out.count)
            inputStart += step.consumed
            outFill += step.produced
            if outFill == out.count { try flush() }
            switch step.status {
            case .endOfMember:
                betweenMembers = true
            case .failed(let reason):
                throw VMCoreError(.corrupt, file: source.name, offset: inputBase + UInt64(inputStart),
                                  "corrupt \(format.rawValue) data", "\(reason) (in the \(unit) that starts at offset \(hex(memberStart)))")
            case .more:
                guard step.consumed == 0 && step.produced == 0 else { continue }
                if atEnd {
                    throw VMCoreError(.truncated, file: source.name, offset: source.size, "\(format.rawValue) data ends early",
                                      "the \(unit) that starts at offset \(hex(memberStart)) is incomplete; the file may be truncated")
                }
                if inputStart < inputEnd {
                    throw VMCoreError(.corrupt, file: source.name, offset: inputBase + UInt64(inputStart),
                                      "corrupt \(format.rawValue) data", "the decoder cannot make progress")
                }
            }
        }
        try flush()
        return written
    }

    /// Writes the non-zero 4 KiB blocks of `bytes[0..<count]` at `offset` (a multiple of 4 KiB),
    /// runs of them in one write; zero blocks become holes.
    public static func writeSkippingZeroBlocks(_ bytes: [UInt8], count: Int, at offset: UInt64, to output: AtomicFile) throws(VMCoreError) {
        let block = 4096
        var runStart: Int?
        var i = 0
        while i < count {
            let end = min(i + block, count)
            if PageCodec.isZero(bytes, i..<end) {
                if let s = runStart { try output.write(bytes, s..<i, at: offset + UInt64(s)); runStart = nil }
            } else if runStart == nil {
                runStart = i
            }
            i = end
        }
        if let s = runStart { try output.write(bytes, s..<count, at: offset + UInt64(s)) }
    }

    /// Checks that `source` holds only zero bytes from `offset` to its end.
    static func requireZeros(_ source: any ByteSource, from offset: UInt64, after unit: String) throws(VMCoreError) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var at = offset
        while at < source.size {
            let n = Int(min(UInt64(buffer.count), source.size - at))
            try source.read(into: &buffer, bufferOffset: 0, at: at, count: n)
            if let k = buffer[0..<n].firstIndex(where: { $0 != 0 }) {
                throw VMCoreError(.corrupt, file: source.name, offset: at + UInt64(k), "unexpected data after the last \(unit)",
                                  "after zero padding, only zero bytes may follow")
            }
            at += UInt64(n)
        }
    }
}

/// The 512 bytes after a cache file's data that say what it was made from. Little-endian:
/// `"vmcore decompressed cache\0"` (32 bytes), record version (u32), format ("gzip"/"zstd",
/// 12 bytes), source device, inode, size (u64 each), modification time in nanoseconds (i64),
/// decompressed length (u64), the source's canonical path (NUL-padded, up to 400 bytes), and
/// an FNV-1a 64 hash of the bytes before it.
struct CacheRecord: Equatable {
    var format: StreamDecoder.Format
    var source: FileIdentity
    var dataLength: UInt64
    var sourcePath: String

    static let size = 512
    static let magic = Array("vmcore decompressed cache".utf8)
    static let version: UInt32 = 1

    func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        func put(_ v: UInt64, _ at: Int) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) } }
        b.replaceSubrange(0..<Self.magic.count, with: Self.magic)
        for i in 0..<4 { b[32 + i] = UInt8(truncatingIfNeeded: Self.version >> UInt32(8 * i)) }
        let tag = Array(format.rawValue.utf8)
        b.replaceSubrange(36..<36 + tag.count, with: tag)
        put(source.device, 48)
        put(source.inode, 56)
        put(source.size, 64)
        put(UInt64(bitPattern: source.modificationTimeNanoseconds), 72)
        put(dataLength, 80)
        let path = Array(sourcePath.utf8.prefix(400))
        b.replaceSubrange(88..<88 + path.count, with: path)
        put(Self.hash(b[0..<504]), 504)
        return b
    }

    static func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }

    /// The data length of `cache` if it ends with an intact record of the same source as
    /// `expected` (every field but the length compared); nil otherwise.
    static func validDataLength(in cache: FileSource, matching expected: CacheRecord) -> UInt64? {
        guard cache.size >= UInt64(size), let r = try? cache.reader(at: cache.size - UInt64(size), count: size, order: .little, what: "cache record"),
              Array(r.bytes[0..<magic.count]) == magic, r.bytes[magic.count] == 0,
              (try? r.u32(32, "version")) == version,
              (try? r.u64(504, "hash")) == hash(r.bytes[0..<504]),
              (try? r.cString(36, 12, "format")) == expected.format.rawValue,
              (try? r.u64(48, "device")) == expected.source.device,
              (try? r.u64(56, "inode")) == expected.source.inode,
              (try? r.u64(64, "size")) == expected.source.size,
              (try? r.i64(72, "mtime")) == expected.source.modificationTimeNanoseconds,
              let length = try? r.u64(80, "length"), length == cache.size - UInt64(size)
        else { return nil }
        return length
    }
}
