/// Decrypting a saved encrypted FreeBSD dump, as decryptcore(8) does
/// (`sbin/decryptcore/decryptcore.c`; freebsd.md §3.3): the key block (`key.N`) is unwrapped
/// with the RSA private key, the payload (`vmcore_encrypted.N`) decrypted with the cipher the
/// key block names, and the result written under a temporary name, renamed into place only
/// when complete. A dump that was compressed before it was encrypted comes out as its gzip or
/// zstd stream, or decompressed when asked.
public enum EncryptedDump {
    public struct Result: Sendable {
        public var cipher: KernelDumpKey.Cipher
        /// What the plaintext is: "minidump", "ELF core", "gzip", "zstd", "kdump-compressed".
        public var payload: String
        public var bytesRead: UInt64
        public var bytesWritten: UInt64
        public var decompressed: Bool
    }

    /// The key block in `keyFile` (`struct kerneldumpkey`, padded).
    public static func readKey(_ keyFile: String) throws(VMCoreError) -> KernelDumpKey {
        let source = try FileSource(path: keyFile)
        guard source.size >= 37 else {
            throw VMCoreError(.truncated, file: keyFile, offset: 0, "the key file is too short for a dump key",
                              "struct kerneldumpkey needs at least 37 bytes; the file has \(source.size)")
        }
        return try KernelDumpKey(from: source, at: 0, size: Int(min(source.size, 1 << 16)))
    }

    /// What the first plaintext bytes say the dump is, or nil for anything no FreeBSD dump starts with.
    public static func payloadKind(_ prefix: [UInt8]) -> String? {
        if FreeBSDMinidump.probe(prefix) || prefix.starts(with: Array("minidump".utf8)) { return "minidump" }
        if ELFCore.probe(prefix) { return "ELF core" }
        if prefix.starts(with: [0x1f, 0x8b]) { return "gzip" }
        if prefix.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return "zstd" }
        if KdumpFile.probe(prefix) { return "kdump-compressed" }
        return nil
    }

    /// The plaintext of `encrypted`, readable at random (see `DecryptedSource`).
    public static func open(encrypted: String, keyFile: String, privateKeyFile: String) throws(VMCoreError) -> DecryptedSource {
        let key = try readKey(keyFile)
        let pem = try FileSource(path: privateKeyFile)
        guard pem.size <= 1 << 20 else {
            throw VMCoreError(.decryption, file: privateKeyFile, "the private key file is too large to be a PEM key", "it has \(pem.size) bytes")
        }
        let text = String(decoding: try pem.bytes(at: 0, count: Int(pem.size), what: "private key"), as: UTF8.self)
        guard let cipher = KernelDumpKey.Cipher(rawValue: key.encryption) else {
            throw VMCoreError(.decryption, file: keyFile, offset: 0, "invalid encryption algorithm \(key.encryption)", "expected 1 (AES-256-CBC) or 2 (ChaCha20)")
        }
        let symmetric = try DumpKeyWrap.unwrap(key.encryptedKey, privateKeyPEM: text, keyFile: keyFile, privateKeyFile: privateKeyFile)
        return DecryptedSource(base: try FileSource(path: encrypted), cipher: cipher, key: symmetric, iv: key.iv)
    }

    /// Decrypts `encrypted` with `keyFile` and the RSA key in `privateKeyFile` into `output`
    /// (which must not exist unless `replace`). With `decompress`, a gzip or zstd payload is
    /// decompressed too. Nothing is left at `output` on failure.
    public static func decrypt(encrypted: String, keyFile: String, privateKeyFile: String, output: String,
                               decompress: Bool = false, replace: Bool = false) throws(VMCoreError) -> Result {
        let plain = try open(encrypted: encrypted, keyFile: keyFile, privateKeyFile: privateKeyFile)
        guard plain.size > 0 else {
            throw VMCoreError(.truncated, file: encrypted, offset: 0, "the encrypted dump is empty")
        }
        let prefix = try plain.bytes(at: 0, count: Int(min(64, plain.size)), what: "decrypted header")
        guard let kind = payloadKind(prefix) else {
            let shown = prefix.prefix(8).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
            throw VMCoreError(.decryption, file: encrypted, offset: 0, "the decrypted data is not a kernel dump",
                              "it starts \(shown); the key file or the cipher does not belong to this dump")
        }
        let (directory, name) = FileSystem.split(output)
        guard replace || !FileSystem.exists(output) else {
            throw VMCoreError(.io, file: output, "already exists", "give -f to replace it")
        }
        let file = try AtomicFile(directory: directory, name: name)
        var written: UInt64 = 0
        var didDecompress = false
        if decompress, let format = StreamDecoder.Format.detect(prefix) {
            written = try DecompressedCache.decompress(plain, format: format, into: file)
            didDecompress = true
        } else {
            // One pass, one cipher stream, as decryptcore reads the file.
            if plain.cipher == .aes256CBC && plain.size % 16 != 0 {
                throw VMCoreError(.decryption, file: encrypted, offset: plain.size / 16 * 16, "AES-256-CBC data must come in 16-byte blocks",
                                  "the file's \(plain.size) bytes are not a multiple of 16; it is truncated")
            }
            let cipher = try DumpCipher(cipher: plain.cipher, key: plain.key, iv: plain.iv, direction: .decrypt, file: encrypted)
            let chunk = 1 << 20
            var buffer = [UInt8](repeating: 0, count: chunk)
            var flushedTo: UInt64 = 0
            while written < plain.size {
                let n = Int(min(UInt64(chunk), plain.size - written))
                try plain.base.read(into: &buffer, bufferOffset: 0, at: written, count: n)
                let out = try cipher.process(buffer, 0..<n)
                try DecompressedCache.writeSkippingZeroBlocks(out, count: n, at: written, to: file)
                written += UInt64(n)
                if written - flushedTo >= 16 << 20 {
                    file.startWriteback(offset: flushedTo, count: written - flushedTo)
                    flushedTo = written
                }
            }
        }
        try file.commit(length: written)
        return Result(cipher: plain.cipher, payload: kind, bytesRead: plain.size, bytesWritten: written, decompressed: didDecompress)
    }
}
