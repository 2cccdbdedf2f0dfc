import Foundation
import Testing
import VMCore
import VMCoreTestSupport

/// OpenSSL's command-line tool, an implementation of the ciphers independent of ours.
let openssl: URL? = ["/usr/bin/openssl", "/usr/local/bin/openssl"].map(URL.init(fileURLWithPath:))
    .first { FileManager.default.isExecutableFile(atPath: $0.path) }

func runOpenSSL(_ args: [String], input: [UInt8]) throws -> (status: Int32, output: [UInt8]) {
    let p = Process()
    p.executableURL = openssl!
    p.arguments = args
    let inPipe = Pipe(), outPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let writer = Thread { inPipe.fileHandleForWriting.write(Data(input)); try? inPipe.fileHandleForWriting.close() }
    writer.start()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, Array(out))
}

func hexString(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).leftPadded(2) }.joined() }

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

@Suite("EKCD: encrypted FreeBSD dumps")
struct EKCDTests {
    let plain: [UInt8] = (0..<20480).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }

    @Test("the kernel's ChaCha20 and AES-256-CBC streams decrypt with OpenSSL as decryptcore sets it up",
          .enabled(if: openssl != nil, "openssl is not installed"))
    func matchesOpenSSL() throws {
        for cipher in [KernelDumpKey.Cipher.chacha20, .aes256CBC] {
            let b = EKCDBuilder(cipher: cipher)
            let ciphertext = try b.encrypt(plain)
            #expect(ciphertext != plain)
            let key = hexString(Array(b.key.prefix(32)))
            // decryptcore: AES IV = kdk_iv[0..<16]; ChaCha20 IV = 8 zero bytes (counter) || kdk_iv[0..<8].
            let args = cipher == .aes256CBC
                ? ["enc", "-d", "-aes-256-cbc", "-nopad", "-K", key, "-iv", hexString(Array(b.iv.prefix(16)))]
                : ["enc", "-d", "-chacha20", "-K", key, "-iv", "0000000000000000" + hexString(Array(b.iv.prefix(8)))]
            let r = try runOpenSSL(args, input: ciphertext)
            #expect(r.status == 0)
            #expect(r.output == plain, "\(cipher)")
        }
    }

    @Test("ChaCha20 past 2^32 blocks carries into the counter's high word, as the kernel's 64-bit counter does",
          .enabled(if: openssl != nil, "openssl is not installed"))
    func counterCarry() throws {
        let b = EKCDBuilder(cipher: .chacha20)
        let c = try DumpCipher(cipher: .chacha20, key: b.key, iv: b.iv, direction: .encrypt, file: "x")
        c.seek(to: ((1 << 32) - 1) * 64)
        let zeros = [UInt8](repeating: 0, count: 192)
        let stream = try c.process(zeros)
        // OpenSSL's 16-byte IV: 32-bit counter (LE), then the 96-bit nonce whose first word is
        // the high counter word; it carries the same way.
        let r = try runOpenSSL(["enc", "-chacha20", "-K", hexString(Array(b.key.prefix(32))),
                                "-iv", "ffffffff00000000" + hexString(Array(b.iv.prefix(8)))], input: zeros)
        #expect(r.output == stream)
    }

    @Test("random access: any range of the plaintext, for both ciphers")
    func randomAccess() throws {
        for cipher in [KernelDumpKey.Cipher.chacha20, .aes256CBC] {
            let b = EKCDBuilder(cipher: cipher)
            let source = DecryptedSource(base: MemorySource(name: "vmcore_encrypted.0", bytes: try b.encrypt(plain)), cipher: cipher, key: b.key, iv: b.iv)
            for (at, n) in [(0, 1), (5, 100), (4090, 20), (16383, 2), (20000, 480), (64, 64)] {
                #expect(try source.bytes(at: UInt64(at), count: n, what: "x") == Array(plain[at..<at + n]), "\(cipher) \(at)")
            }
        }
    }

    @Test("the dump key unwraps with RSA-OAEP, and with PKCS#1 v1.5 for FreeBSD 12-era dumps")
    func unwrap() throws {
        for legacy in [false, true] {
            var b = EKCDBuilder(cipher: .chacha20)
            b.legacyPadding = legacy
            let block = try b.keyBlock()
            #expect(block.count == 512)
            let key = try KernelDumpKey(from: MemorySource(name: "key.0", bytes: block), at: 0, size: block.count)
            #expect(key.encryptedKey.count == 256)
            #expect(try DumpKeyWrap.unwrap(key.encryptedKey, privateKeyPEM: b.privateKeyPEM, keyFile: "key.0", privateKeyFile: "k.pem") == b.key)
        }
        let b = EKCDBuilder(cipher: .aes256CBC)
        let key = try KernelDumpKey(from: MemorySource(name: "key.0", bytes: try b.keyBlock()), at: 0, size: 512)
        #expect(caught { try DumpKeyWrap.unwrap(key.encryptedKey, privateKeyPEM: EKCDBuilder.otherTestKey, keyFile: "key.0", privateKeyFile: "k.pem") }?.description
                == "key.0: the private key does not unwrap this dump key at offset 0x25: neither RSA-OAEP nor PKCS#1 v1.5 gives a 64-byte key: it was wrapped with another public key")
        #expect(caught { try DumpKeyWrap.unwrap(key.encryptedKey, privateKeyPEM: EKCDBuilder.largerTestKey, keyFile: "key.0", privateKeyFile: "k.pem") }?.description
                == "key.0: the dump key was wrapped for a different RSA key at offset 0x21: it is 256 bytes; the private key's modulus is 384 bytes")
        #expect(caught { try DumpKeyWrap.unwrap(key.encryptedKey, privateKeyPEM: "not a key", keyFile: "key.0", privateKeyFile: "k.pem") }?.message
                == "not an RSA private key in PEM form")
    }

    /// Writes key.0 and vmcore_encrypted.0 for `payload` in a new crash directory.
    func crashDirectory(_ b: EKCDBuilder, payload: [UInt8]) throws -> URL {
        let dir = try temporaryDirectory()
        try Data(try b.keyBlock()).write(to: dir.appendingPathComponent("key.0"))
        try Data(try b.encrypt(payload)).write(to: dir.appendingPathComponent("vmcore_encrypted.0"))
        try b.privateKeyPEM.write(to: dir.appendingPathComponent("private.pem"), atomically: true, encoding: .utf8)
        return dir
    }

    func minidump() -> [UInt8] {
        var m = FreeBSDMinidumpBuilder()
        m.pages[0x10] = patternPage(0x10)
        m.pages[0x11] = [UInt8](repeating: 0, count: 4096)
        m.messageBuffer = Array("panic: encrypted\n".utf8)
        return m.build()
    }

    @Test("decrypt writes the payload byte for byte; a compressed payload comes out compressed, or decompressed on request",
          arguments: [KernelDumpKey.Cipher.chacha20, .aes256CBC])
    func decryptFiles(_ cipher: KernelDumpKey.Cipher) throws {
        let payload = minidump()
        let dir = try crashDirectory(EKCDBuilder(cipher: cipher), payload: payload)
        let p = { (n: String) in dir.appendingPathComponent(n).path }
        let r = try EncryptedDump.decrypt(encrypted: p("vmcore_encrypted.0"), keyFile: p("key.0"), privateKeyFile: p("private.pem"), output: p("vmcore.0"))
        #expect(r.payload == "minidump")
        #expect(Array(try Data(contentsOf: dir.appendingPathComponent("vmcore.0"))) == payload)
        #expect(try Dump.open(p("vmcore.0")).memory.read(physical: 0x10000, count: 4096) == patternPage(0x10))
        #expect(caught { try EncryptedDump.decrypt(encrypted: p("vmcore_encrypted.0"), keyFile: p("key.0"), privateKeyFile: p("private.pem"), output: p("vmcore.0")) }?.description
                == "\(p("vmcore.0")): already exists: it is replaced only when asked to")
        guard cipher == .chacha20 else { return }  // the kernel refuses AES-CBC with compression (no padding)
        let zdir = try crashDirectory(EKCDBuilder(cipher: cipher), payload: KernelCompressor.zstd(payload))
        let z = { (n: String) in zdir.appendingPathComponent(n).path }
        let asIs = try EncryptedDump.decrypt(encrypted: z("vmcore_encrypted.0"), keyFile: z("key.0"), privateKeyFile: z("private.pem"), output: z("vmcore.0"))
        #expect(asIs.payload == "zstd" && !asIs.decompressed)
        #expect(Array(try Data(contentsOf: zdir.appendingPathComponent("vmcore.0"))) == KernelCompressor.zstd(payload))
        let un = try EncryptedDump.decrypt(encrypted: z("vmcore_encrypted.0"), keyFile: z("key.0"), privateKeyFile: z("private.pem"),
                                           output: z("vmcore.0"), decompress: true, replace: true)
        #expect(un.decompressed)
        #expect(Array(try Data(contentsOf: zdir.appendingPathComponent("vmcore.0"))) == payload)
    }

    @Test("wrong keys, a wrong cipher and truncated data leave no output")
    func failures() throws {
        let payload = minidump()
        let dir = try crashDirectory(EKCDBuilder(cipher: .aes256CBC), payload: payload)
        let p = { (n: String) in dir.appendingPathComponent(n).path }
        // Truncated AES ciphertext (not whole 16-byte blocks).
        let enc = try Data(contentsOf: dir.appendingPathComponent("vmcore_encrypted.0"))
        try enc.prefix(enc.count - 5).write(to: dir.appendingPathComponent("cut"))
        #expect(caught { try EncryptedDump.decrypt(encrypted: p("cut"), keyFile: p("key.0"), privateKeyFile: p("private.pem"), output: p("vmcore.0")) }?.description
                == "\(p("cut")): AES-256-CBC data must come in 16-byte blocks at offset \(hex((enc.count - 5) / 16 * 16)): the file's \(enc.count - 5) bytes are not a multiple of 16; it is truncated")
        #expect(!FileManager.default.fileExists(atPath: p("vmcore.0")))
        // The key block says ChaCha20, the data was AES-encrypted: the plaintext is not a dump.
        var block = Array(try Data(contentsOf: dir.appendingPathComponent("key.0")))
        block[0] = 2
        try Data(block).write(to: dir.appendingPathComponent("key.1"))
        let wrong = caught { try EncryptedDump.decrypt(encrypted: p("vmcore_encrypted.0"), keyFile: p("key.1"), privateKeyFile: p("private.pem"), output: p("vmcore.0")) }
        #expect(wrong?.message == "the decrypted data is not a kernel dump")
        #expect(!FileManager.default.fileExists(atPath: p("vmcore.0")))
        // Another RSA key.
        try EKCDBuilder.otherTestKey.write(to: dir.appendingPathComponent("other.pem"), atomically: true, encoding: .utf8)
        #expect(caught { try EncryptedDump.decrypt(encrypted: p("vmcore_encrypted.0"), keyFile: p("key.0"), privateKeyFile: p("other.pem"), output: p("vmcore.0")) }?.kind == .decryption)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["cut", "key.0", "key.1", "other.pem", "private.pem", "vmcore_encrypted.0"])
        // A key file too short to be one.
        try Data([2, 0, 0]).write(to: dir.appendingPathComponent("key.2"))
        #expect(caught { try EncryptedDump.readKey(p("key.2")) }?.description
                == "\(p("key.2")): the key file is too short for a dump key at offset 0x0: struct kerneldumpkey needs at least 37 bytes; the file has 3")
    }

    @Test("vmcore decrypt -n N -d DIR, as decryptcore's second form",
          .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
    func commandLine() throws {
        let payload = minidump()
        let dir = try crashDirectory(EKCDBuilder(cipher: .chacha20), payload: payload)
        let r = try vmcore(["decrypt", "-v", "-p", dir.appendingPathComponent("private.pem").path, "-d", dir.path, "-n", "0"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("decrypted with ChaCha20: a minidump"))
        #expect(Array(try Data(contentsOf: dir.appendingPathComponent("vmcore.0"))) == payload)
        let again = try vmcore(["decrypt", "-p", dir.appendingPathComponent("private.pem").path, "-d", dir.path, "-n", "0"])
        #expect(again.status == 1)
        #expect(again.stderr.hasSuffix("vmcore.0: already exists: give -f to replace it\n"))
        #expect(try vmcore(["decrypt", "-f", "-p", dir.appendingPathComponent("private.pem").path, "-d", dir.path, "-n", "0"]).status == 0)
        #expect(try vmcore(["decrypt", "-p", "x", "-n", "0a"]).stderr.contains("-n takes a dump number"))
    }
}
