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

        /// True when the plaintext is still a gzip or zstd stream (it was not decompressed).
        public var isCompressedStream: Bool {
            !decompressed && (payload == Container.gzip.name || payload == Container.zstd.name)
        }
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
    /// Asks the probe registry; a minidump of an architecture this library does not read
    /// still counts.
    public static func payloadKind(_ prefix: [UInt8]) -> String? {
        if prefix.starts(with: Array("minidump".utf8)) { return Container.freebsdMinidump.name }
        guard let c = Container.identify(prefix: prefix), [.freebsdMinidump, .elf, .gzip, .zstd, .kdumpCompressed].contains(c) else { return nil }
        return c.name
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
}
