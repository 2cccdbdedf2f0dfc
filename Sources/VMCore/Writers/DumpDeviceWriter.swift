/// Writes a FreeBSD dump device image as the kernel leaves one (`sys/kern/kern_shutdown.c`
/// `dump_start()`, `dump_write_headers()`, `dump_encrypted_write()`; `sys/kern/subr_compressor.c`;
/// `sys/ddb/db_textdump.c`; freebsd.md §2–3, §6): for testing savecore set-ups and tools.
///
/// The payload is compressed (gzip or zstd) and then encrypted (EKCD: a random 64-byte key
/// wrapped with an RSA public key, AES-256-CBC or ChaCha20) as the kernel would, streamed at
/// the offset its dump extent puts it, then both headers are written with the final length and
/// parity. A textdump's 512-byte blocks are written in reverse order below the trailer. The
/// image is written under a temporary name and renamed when complete.
public struct DumpDeviceWriter {
    public enum Corruption: String, Sendable, CaseIterable {
        /// The trailer fails its parity check.
        case parity
        /// The leading header is an older dump's (another dump time).
        case mismatch
        /// savecore already saved it: the trailer's magic is "Cleared Kernel Dump".
        case cleared
    }

    public var blockSize = 512
    /// The device size; nil: just large enough (64 KiB untouched, headers, key and extent).
    public var mediaSize: UInt64?
    public var compression: KernelDumpHeader.Compression = .none
    /// The cipher and the RSA public key (PEM) to wrap its key with, for an encrypted dump.
    public var encryption: (cipher: KernelDumpKey.Cipher, publicKeyPEM: String)?
    public var textdump = false
    public var corruption: Corruption?
    public var architecture = "amd64"
    public var hostname = "crashbox"
    public var versionString = "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n"
    public var panicString = "page fault while in kernel mode"
    public var dumpTime: UInt64 = 1_700_000_000

    public init() {}

    public struct Written: Sendable {
        public var header: KernelDumpHeader
        public var mediaSize: UInt64
        public var payloadOffset: UInt64
    }

    /// Writes the image of `payload` to `path`.
    public func write(payload: any ByteSource, to path: String) throws(VMCoreError) -> Written {
        let bs = UInt64(blockSize)
        guard blockSize >= 512, blockSize & (blockSize - 1) == 0 else {
            throw VMCoreError(.usage, file: path, "the block size must be a power of two, at least 512", "not \(blockSize)")
        }
        if textdump {
            guard blockSize == 512, encryption == nil, compression == .none else {
                throw VMCoreError(.usage, file: path, "textdumps use 512-byte blocks, no compression and no encryption", "as db_textdump.c requires")
            }
            guard payload.size % 512 == 0 else {
                throw VMCoreError(.usage, file: payload.name, "a textdump is a tar of 512-byte blocks", "the file has \(payload.size) bytes")
            }
        }
        if encryption?.cipher == .aes256CBC && compression == .none && payload.size % 16 != 0 {
            throw VMCoreError(.usage, file: payload.name, "AES-256-CBC encrypts whole 16-byte blocks", "the payload has \(payload.size) bytes")
        }
        if encryption?.cipher == .aes256CBC && compression != .none {
            throw VMCoreError(.usage, file: path, "AES-256-CBC cannot be combined with compression", "the kernel refuses it (no padding); use ChaCha20")
        }
        // The key block, when encrypting.
        var keyBlock: [UInt8] = []
        var cipher: DumpCipher?
        if let encryption {
            let key = (0..<64).map { _ in UInt8.random(in: 0...255) }
            let iv = (0..<32).map { _ in UInt8.random(in: 0...255) }
            let wrapped = try DumpKeyWrap.wrap(key, publicKeyPEM: encryption.publicKeyPEM, publicKeyFile: "the public key")
            keyBlock = KernelDumpKey(cipher: encryption.cipher, iv: iv, encryptedKey: wrapped).encoded(blockSize: blockSize)
            cipher = try DumpCipher(cipher: encryption.cipher, key: key, iv: iv, direction: .encrypt, file: path)
        }
        // dump_init_header: extent = the uncompressed size (whole blocks).
        let extent = (payload.size + bs - 1) / bs * bs
        let needed = 65536 + bs + UInt64(keyBlock.count) + extent + bs
        let media = mediaSize ?? needed
        guard media >= needed else {
            throw VMCoreError(.usage, file: path, "the device is too small for the dump", "it needs \(needed) bytes, not \(media)")
        }
        let trailer = media - bs
        let payloadStart = trailer - extent
        let leader = payloadStart - UInt64(keyBlock.count) - bs
        let (directory, name) = FileSystem.split(path)
        let file = try AtomicFile(directory: directory, name: name, permissions: 0o644)

        // The payload: compressed, then encrypted, in whole blocks (the last one zero-padded).
        var length: UInt64 = 0
        var pending: [UInt8] = []
        func put(_ bytes: [UInt8], _ count: Int, final: Bool) throws(VMCoreError) {
            pending += bytes[0..<count]
            let whole = final ? pending.count : pending.count / 4096 * 4096
            guard whole > 0 else { return }
            var out = Array(pending[0..<whole])
            pending.removeFirst(whole)
            // The kernel writes whole blocks: the last compressed block is zero-padded, and
            // dumplength counts only the compressed bytes.
            if final && compression != .none && out.count % blockSize != 0 {
                out += [UInt8](repeating: 0, count: blockSize - out.count % blockSize)
            }
            if let c = cipher { out = try c.process(out) }
            guard length + UInt64(out.count) <= extent else {
                throw VMCoreError(.usage, file: payload.name, "the compressed dump is larger than its extent", "compression did not shrink it")
            }
            if textdump {
                // Block k of the archive goes k+1 blocks below the trailer (textdump_writenextblock).
                var k = Int(length / 512)
                for at in stride(from: 0, to: out.count, by: 512) {
                    try file.write(out, at..<at + 512, at: trailer - UInt64(k + 1) * 512)
                    k += 1
                }
            } else {
                try file.write(out, 0..<out.count, at: payloadStart + length)
            }
            length += UInt64(min(out.count, whole))
        }
        let encoder: StreamEncoder?
        switch compression {
        case .none: encoder = nil
        case .gzip: encoder = StreamEncoder(format: .gzip, level: 6)
        case .zstd: encoder = StreamEncoder(format: .zstd, level: 3)
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var at: UInt64 = 0
        while at < payload.size {
            let n = Int(min(UInt64(buffer.count), payload.size - at))
            try payload.read(into: &buffer, bufferOffset: 0, at: at, count: n)
            at += UInt64(n)
            if let encoder {
                try encoder.encode(buffer, 0..<n, finish: false) { (b, c) throws(VMCoreError) in try put(b, c, final: false) }
            } else {
                try put(buffer, n, final: false)
            }
        }
        if let encoder { try encoder.encode(buffer, 0..<0, finish: true) { (b, c) throws(VMCoreError) in try put(b, c, final: false) } }
        try put([], 0, final: true)
        if compression != .none { length = min(length, extent) }

        // Headers last, as dump_finish() writes them, with the final length.
        let header = KernelDumpHeader(kind: textdump ? .textDump : .kernelDump, architecture: architecture,
                                      architectureVersion: textdump ? 4 : (architecture == "amd64" || architecture == "i386" ? 2 : 1),
                                      dumpLength: length, dumpExtent: extent, dumpTime: dumpTime, dumpKeySize: UInt32(keyBlock.count),
                                      blockSize: UInt32(blockSize), hostname: hostname, versionString: versionString,
                                      panicString: panicString, compression: compression)
        var trailing = header.encoded()
        var leading = trailing
        switch corruption {
        case .parity?: trailing[64] ^= 0x20
        case .mismatch?:
            var old = header
            old.dumpTime -= 86400
            leading = old.withParity().encoded()
        case .cleared?:
            trailing.replaceSubrange(0..<20, with: Array(KernelDumpHeader.Kind.cleared.rawValue.utf8) + [0])
        case nil: break
        }
        func block(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: blockSize - b.count) }
        try file.write(block(leading), 0..<blockSize, at: leader)
        if !keyBlock.isEmpty { try file.write(keyBlock, 0..<keyBlock.count, at: leader + bs) }
        try file.write(block(trailing), 0..<blockSize, at: trailer)
        try file.commit(length: media)
        return Written(header: header, mediaSize: media, payloadOffset: payloadStart)
    }
}
