import _CryptoExtras
import VMCore

/// Encrypts a dump payload as a FreeBSD kernel with EKCD does (`sys/kern/kern_shutdown.c`,
/// freebsd.md §3): a random 64-byte key wrapped with the RSA public key (RSA-OAEP, as dumpon
/// does, or PKCS#1 v1.5 as FreeBSD 12-era dumpon did), a fresh 32-byte IV, and the payload
/// encrypted in 4 KiB chunks as one stream.
public struct EKCDBuilder {
    public var cipher: KernelDumpKey.Cipher
    public var privateKeyPEM: String
    public var legacyPadding = false
    public var key: [UInt8] = (0..<64).map { _ in UInt8.random(in: 0...255) }
    public var iv: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }

    /// Test RSA keys (PEM), made once per process: key generation takes a while.
    public static let testKey: String = try! _RSA.Encryption.PrivateKey(keySize: .bits2048).pemRepresentation
    public static let otherTestKey: String = try! _RSA.Encryption.PrivateKey(keySize: .bits2048).pemRepresentation
    public static let largerTestKey: String = try! _RSA.Encryption.PrivateKey(keySize: .bits3072).pemRepresentation

    public init(cipher: KernelDumpKey.Cipher, privateKeyPEM: String = EKCDBuilder.testKey) {
        self.cipher = cipher
        self.privateKeyPEM = privateKeyPEM
    }

    var privateKey: _RSA.Encryption.PrivateKey { try! _RSA.Encryption.PrivateKey(pemRepresentation: privateKeyPEM) }
    public var publicKeyPEM: String { privateKey.publicKey.pemRepresentation }

    /// `struct kerneldumpkey`, padded to `blockSize`.
    public func keyBlock(blockSize: Int = 512) throws -> [UInt8] {
        let wrapped = legacyPadding
            ? Array(try privateKey.publicKey.encrypt(key, padding: ._WEAK_AND_INSECURE_PKCS_V1_5))
            : try DumpKeyWrap.wrap(key, publicKeyPEM: publicKeyPEM, publicKeyFile: "test key")
        return KernelDumpKey(cipher: cipher, iv: iv, encryptedKey: wrapped).encoded(blockSize: blockSize)
    }

    /// The payload encrypted as the kernel's `dump_encrypted_write` does, 4 KiB at a time.
    public func encrypt(_ payload: [UInt8]) throws -> [UInt8] {
        let c = try DumpCipher(cipher: cipher, key: key, iv: iv, direction: .encrypt, file: "payload")
        var out: [UInt8] = []
        var at = 0
        while at < payload.count {
            let n = min(4096, payload.count - at)
            out += try c.process(payload, at..<at + n)
            at += n
        }
        return out
    }
}
