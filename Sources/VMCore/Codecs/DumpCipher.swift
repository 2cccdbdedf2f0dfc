import Crypto
import _CryptoExtras
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The symmetric cipher of an encrypted FreeBSD kernel dump (EKCD), run the way the kernel ran
/// it and decryptcore(8) undoes it (freebsd.md §3; `sys/kern/kern_shutdown.c`,
/// `sbin/decryptcore/decryptcore.c`).
///
/// The kernel draws a 64-byte key at `dumpon` time and uses its first 32 bytes. The payload is
/// processed in 4 KiB chunks as one stream: AES-256-CBC chains across chunks (no padding; the
/// IV is `kdk_iv[0..<16]`), ChaCha20 is Bernstein's original with a 64-bit block counter from 0
/// and the 64-bit nonce `kdk_iv[0..<8]` (`chacha_ivsetup(kdc_iv, NULL)`). swift-crypto's
/// ChaCha20 takes a 32-bit counter and a 96-bit nonce; the nonce's first word is the
/// original's counter high word, so the two agree on every block.
///
/// Encrypting and decrypting are the same object; feed it the stream in order, in pieces whose
/// sizes are multiples of 64 bytes (the kernel's are 4 KiB), except the last.
public final class DumpCipher {
    public enum Direction: Sendable { case encrypt, decrypt }
    public let cipher: DumpCipherAlgorithm
    public let direction: Direction
    let key: SymmetricKey
    let nonce: [UInt8]
    /// AES: the IV for the next piece (the last ciphertext block of the previous one).
    var chain: [UInt8]
    /// Bytes processed so far.
    public private(set) var offset: UInt64 = 0
    /// The name errors use.
    let file: String

    /// `key` is the unwrapped 64-byte dump key (or at least its first 32 bytes); `iv` is `kdk_iv`.
    public init(cipher: DumpCipherAlgorithm, key: [UInt8], iv: [UInt8], direction: Direction, file: String) throws(VMCoreError) {
        guard key.count >= 32 else {
            throw VMCoreError(.decryption, file: file, "the dump key has \(key.count) bytes", "expected 64 (the first 32 are the cipher key)")
        }
        guard iv.count >= (cipher == .aes256CBC ? 16 : 8) else {
            throw VMCoreError(.decryption, file: file, "the dump key's IV has \(iv.count) bytes", "expected 32")
        }
        self.cipher = cipher
        self.direction = direction
        self.key = SymmetricKey(data: key.prefix(32))
        self.nonce = Array(iv.prefix(8))
        self.chain = Array(iv.prefix(16))
        self.file = file
    }

    /// Continues the stream at byte `offset` (a multiple of 64 for ChaCha20). For AES-256-CBC the
    /// IV given at creation must then be the ciphertext block before `offset`.
    public func seek(to offset: UInt64) { self.offset = offset }

    /// Encrypts or decrypts the next `input[range]` of the stream.
    public func process(_ input: [UInt8], _ range: Range<Int>? = nil) throws(VMCoreError) -> [UInt8] {
        let r = range ?? 0..<input.count
        let piece = input[r]
        defer { offset += UInt64(r.count) }
        if piece.isEmpty { return [] }
        switch cipher {
        case .aes256CBC:
            guard piece.count % 16 == 0 else {
                throw VMCoreError(.decryption, file: file, offset: offset, "AES-256-CBC data must come in 16-byte blocks",
                                  "\(piece.count) bytes remain; the encrypted dump is truncated")
            }
            do {
                let iv = try AES._CBC.IV(ivBytes: chain)
                let out: Data
                if direction == .decrypt {
                    out = try AES._CBC.decrypt(piece, using: key, iv: iv, noPadding: true)
                    chain = Array(piece.suffix(16))
                } else {
                    out = try AES._CBC.encrypt(piece, using: key, iv: iv, noPadding: true)
                    chain = Array(out.suffix(16))
                }
                return Array(out)
            } catch {
                throw VMCoreError(.decryption, file: file, offset: offset, "AES-256-CBC failed", "\(error)")
            }
        case .chacha20:
            guard offset % 64 == 0 else {
                throw VMCoreError(.decryption, file: file, offset: offset, "ChaCha20 pieces must start on a 64-byte block",
                                  "the previous piece ended mid-block")
            }
            var out: [UInt8] = []
            out.reserveCapacity(piece.count)
            var at = piece.startIndex
            var block = offset / 64
            while at < piece.endIndex {
                // Up to where the low counter word wraps, so each call has one counter high word.
                let blocksLeft = (UInt64(1) << 32) - (block & 0xffff_ffff)
                let n = Int(min(UInt64(piece.endIndex - at), blocksLeft * 64))
                let high = UInt32(truncatingIfNeeded: block >> 32)
                let nonceBytes = [UInt8(truncatingIfNeeded: high), UInt8(truncatingIfNeeded: high >> 8),
                                  UInt8(truncatingIfNeeded: high >> 16), UInt8(truncatingIfNeeded: high >> 24)] + nonce
                do {
                    let counter = try Insecure.ChaCha20CTR.Counter(offset: UInt32(truncatingIfNeeded: block))
                    out += try Insecure.ChaCha20CTR.encrypt(piece[at..<at + n], using: key, counter: counter,
                                                            nonce: try Insecure.ChaCha20CTR.Nonce(data: nonceBytes))
                } catch {
                    throw VMCoreError(.decryption, file: file, offset: offset, "ChaCha20 failed", "\(error)")
                }
                at += n
                block += UInt64(n + 63) / 64
            }
            return out
        }
    }
}

/// The ciphers of encrypted kernel dumps, by the numbers FreeBSD's `kerneldumpkey` gives them
/// (`KERNELDUMP_ENC_AES_256_CBC` 1, `KERNELDUMP_ENC_CHACHA20` 2).
public enum DumpCipherAlgorithm: UInt8, Sendable {
    case aes256CBC = 1, chacha20 = 2

    /// "AES-256-CBC" or "ChaCha20".
    public var name: String { self == .aes256CBC ? "AES-256-CBC" : "ChaCha20" }
}

/// The RSA side of EKCD: wrapping the 64-byte dump key as dumpon(8) does, and unwrapping it as
/// decryptcore(8) does.
public enum DumpKeyWrap {
    /// The dump key inside `dumpKey`, unwrapped with the RSA private key in `privateKeyPEM`:
    /// RSA-OAEP (SHA-1) as current dumpon writes it, else PKCS#1 v1.5 as FreeBSD 12-era dumpon
    /// wrote it; either must give exactly 64 bytes (`decryptcore.c` `decrypt()`).
    public static func unwrap(_ encryptedKey: [UInt8], privateKeyPEM: String, keyFile: String, privateKeyFile: String) throws(VMCoreError) -> [UInt8] {
        let privateKey: _RSA.Encryption.PrivateKey
        do {
            privateKey = try _RSA.Encryption.PrivateKey(unsafePEMRepresentation: privateKeyPEM)
        } catch {
            throw VMCoreError(.decryption, file: privateKeyFile, "not an RSA private key in PEM form", "\(error)")
        }
        let modulus = privateKey.keySizeInBits / 8
        guard modulus == encryptedKey.count else {
            throw VMCoreError(.decryption, file: keyFile, offset: 33, "the dump key was wrapped for a different RSA key",
                              "it is \(encryptedKey.count) bytes; the private key's modulus is \(modulus) bytes")
        }
        for padding in [_RSA.Encryption.Padding.PKCS1_OAEP, ._WEAK_AND_INSECURE_PKCS_V1_5] {
            if let key = try? privateKey.decrypt(encryptedKey, padding: padding), key.count == 64 {
                return Array(key)
            }
        }
        throw VMCoreError(.decryption, file: keyFile, offset: 37, "the private key does not unwrap this dump key",
                          "neither RSA-OAEP nor PKCS#1 v1.5 gives a 64-byte key: it was wrapped with another public key")
    }

    /// `key` (64 bytes) wrapped with the RSA public key in `publicKeyPEM` using RSA-OAEP, as
    /// dumpon(8)'s `genkey()` does.
    public static func wrap(_ key: [UInt8], publicKeyPEM: String, publicKeyFile: String) throws(VMCoreError) -> [UInt8] {
        do {
            let publicKey = try _RSA.Encryption.PublicKey(unsafePEMRepresentation: publicKeyPEM)
            return Array(try publicKey.encrypt(key, padding: .PKCS1_OAEP))
        } catch {
            throw VMCoreError(.decryption, file: publicKeyFile, "cannot wrap the dump key with this RSA public key", "\(error)")
        }
    }
}
