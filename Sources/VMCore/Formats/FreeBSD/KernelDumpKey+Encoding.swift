/// Writing `struct kerneldumpkey`, beside its reader in `KernelDumpHeader.swift`.
extension KernelDumpKey {
    public init(cipher: Cipher, iv: [UInt8], encryptedKey: [UInt8]) {
        encryption = cipher.rawValue
        self.iv = Array((iv + [UInt8](repeating: 0, count: 32)).prefix(32))
        self.encryptedKey = encryptedKey
    }

    /// `struct kerneldumpkey` (packed, big-endian), zero-padded to a multiple of `blockSize`
    /// as the kernel writes it to the device and savecore to `key.N`.
    public func encoded(blockSize: Int) -> [UInt8] {
        let n = UInt32(encryptedKey.count)
        var b = [encryption] + iv + [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + encryptedKey
        let padded = (b.count + blockSize - 1) / blockSize * blockSize
        b += [UInt8](repeating: 0, count: padded - b.count)
        return b
    }
}
