/// An encrypted FreeBSD dump payload (`vmcore_encrypted.N`) read as its plaintext, with random
/// access: ChaCha20 starts at any 64-byte block (its counter is the block number) and
/// AES-256-CBC decrypts any 16-byte block from the ciphertext block before it (or the IV), so
/// no byte before the ones asked for is read or decrypted.
public struct DecryptedSource: ByteSource {
    public let base: any ByteSource
    public let cipher: DumpCipherAlgorithm
    /// The unwrapped dump key and `kdk_iv`.
    public let key: [UInt8]
    public let iv: [UInt8]
    public var name: String { base.name }
    public var size: UInt64 { base.size }

    /// `key` is the unwrapped 64-byte dump key; `iv` is the key block's `kdk_iv`.
    public init(base: any ByteSource, cipher: DumpCipherAlgorithm, key: [UInt8], iv: [UInt8]) {
        self.base = base
        self.cipher = cipher
        self.key = key
        self.iv = iv
    }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        guard count > 0 else { return }
        guard offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset, "read of \(count) bytes runs past the end of the encrypted dump",
                              "it has \(size) bytes")
        }
        let unit: UInt64 = cipher == .aes256CBC ? 16 : 64
        let start = offset / unit * unit
        var end = (offset + UInt64(count) + unit - 1) / unit * unit
        if end > size {
            guard cipher == .chacha20 else {
                throw VMCoreError(.decryption, file: name, offset: size / 16 * 16, "AES-256-CBC data must come in 16-byte blocks",
                                  "the file's \(size) bytes are not a multiple of 16; it is truncated")
            }
            end = size
        }
        var blockIV = iv
        if cipher == .aes256CBC && start >= 16 {
            blockIV = try base.bytes(at: start - 16, count: 16, what: "previous AES block")
        }
        let ciphertext = try base.bytes(at: start, count: Int(end - start), what: "encrypted data")
        let c = try DumpCipher(cipher: cipher, key: key, iv: blockIV, direction: .decrypt, file: name)
        c.seek(to: start)
        let plain = try c.process(ciphertext)
        let from = Int(offset - start)
        buffer.replaceSubrange(bufferOffset..<bufferOffset + count, with: plain[from..<from + count])
    }
}
