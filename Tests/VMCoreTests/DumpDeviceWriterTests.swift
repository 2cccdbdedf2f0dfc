import Foundation
import Testing
import VMCore
import VMCoreTestSupport

@Suite("dump device images, written and saved back")
struct DumpDeviceWriterTests {
    let dir: URL
    init() throws { dir = try temporaryDirectory() }
    func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
    func read(_ n: String) throws -> [UInt8] { Array(try Data(contentsOf: dir.appendingPathComponent(n))) }

    func minidump() -> [UInt8] {
        var m = FreeBSDMinidumpBuilder()
        for pfn in UInt64(0x100)..<0x180 { m.pages[pfn] = patternPage(pfn) }
        m.messageBuffer = Array("panic: round trip\n".utf8)
        return m.build()
    }

    /// Writes the payload, an image of it, saves it with savecore and decrypts if needed;
    /// returns the saved payload.
    func roundTrip(_ payload: [UInt8], _ configure: (inout DumpDeviceWriter) -> Void) throws -> (saved: Savecore.Saved, bytes: [UInt8]) {
        let src = path("payload-\(UUID().uuidString)")
        try Data(payload).write(to: URL(fileURLWithPath: src))
        var w = DumpDeviceWriter()
        configure(&w)
        let image = path("image-\(UUID().uuidString)")
        _ = try w.write(payload: try FileSource(path: src), to: image)
        let out = try temporaryDirectory()
        guard case .saved(let s) = try Savecore(directory: out.path, options: Savecore.Options()).process(device: image) else {
            throw VMCoreError(.corrupt, file: image, "not saved")
        }
        var bytes = Array(try Data(contentsOf: out.appendingPathComponent(s.core)))
        if let key = s.key {
            try EKCDBuilder.testKey.write(to: out.appendingPathComponent("private.pem"), atomically: true, encoding: .utf8)
            _ = try EncryptedDump.decrypt(encrypted: out.appendingPathComponent(s.core).path, keyFile: out.appendingPathComponent(key).path,
                                          privateKeyFile: out.appendingPathComponent("private.pem").path,
                                          output: out.appendingPathComponent("vmcore.plain").path, decompress: w.compression != .none)
            bytes = Array(try Data(contentsOf: out.appendingPathComponent("vmcore.plain")))
        } else if w.compression != .none {
            bytes = try decompressTool(w.compression == .gzip ? "gzip" : "zstd", out.appendingPathComponent(s.core).path)
        }
        return (s, bytes)
    }

    @Test("plain, gzip, zstd, AES-256-CBC, ChaCha20 and ChaCha20 after zstd: saved and decrypted byte for byte")
    func variants() throws {
        let payload = minidump()
        let publicKey = EKCDBuilder(cipher: .chacha20).publicKeyPEM
        let cases: [(String, (inout DumpDeviceWriter) -> Void, String)] = [
            ("plain", { _ in }, "vmcore.0"),
            ("4096-byte blocks", { $0.blockSize = 4096 }, "vmcore.0"),
            ("gzip", { $0.compression = .gzip }, "vmcore.0.gz"),
            ("zstd", { $0.compression = .zstd }, "vmcore.0.zst"),
            ("AES-256-CBC", { $0.encryption = (.aes256CBC, publicKey) }, "vmcore_encrypted.0"),
            ("ChaCha20", { $0.encryption = (.chacha20, publicKey) }, "vmcore_encrypted.0"),
            ("ChaCha20 after zstd", { $0.encryption = (.chacha20, publicKey); $0.compression = .zstd }, "vmcore_encrypted.0"),
            ("a larger device", { $0.mediaSize = 4 << 20 }, "vmcore.0"),
        ]
        for (name, configure, core) in cases {
            let r = try roundTrip(payload, configure)
            #expect(r.saved.core == core, "\(name)")
            #expect(r.bytes == payload, "\(name)")
        }
    }

    @Test("a textdump image saves as the tar it was made from")
    func textdump() throws {
        var t = TextdumpBuilder()
        t.messageBuffer = Array("panic: ddb\n".utf8)
        t.version = "FreeBSD 14.1-RELEASE"
        let tar = t.tar()
        let r = try roundTrip(tar) { $0.textdump = true }
        #expect(r.saved.core == "textdump.tar.0")
        #expect(r.bytes == tar)
    }

    @Test("corrupt images are what savecore rejects", arguments: DumpDeviceWriter.Corruption.allCases)
    func corrupt(_ kind: DumpDeviceWriter.Corruption) throws {
        let src = path("payload")
        try Data(minidump()).write(to: URL(fileURLWithPath: src))
        var w = DumpDeviceWriter()
        w.corruption = kind
        _ = try w.write(payload: try FileSource(path: src), to: path("bad.img"))
        let outcome = try Savecore(directory: try temporaryDirectory().path, options: Savecore.Options()).process(device: path("bad.img"))
        switch (kind, outcome) {
        case (.parity, .rejected(let why)): #expect(why.description.contains("parity"))
        case (.mismatch, .rejected(let why)): #expect(why.description.contains("leading and trailing dump headers disagree"))
        case (.cleared, .none(let why)): #expect(why.description.contains("already saved and cleared"))
        default: Issue.record("\(kind): \(outcome)")
        }
    }

    @Test("what the writer refuses")
    func refusals() throws {
        let src = path("odd")
        try Data([UInt8](repeating: 1, count: 1000)).write(to: URL(fileURLWithPath: src))
        var w = DumpDeviceWriter()
        w.textdump = true
        #expect(caught { try w.write(payload: try FileSource(path: src), to: path("x")) }?.message == "a textdump is a tar of 512-byte blocks")
        w = DumpDeviceWriter()
        w.mediaSize = 4096
        #expect(caught { try w.write(payload: try FileSource(path: src), to: path("x")) }?.message == "the device is too small for the dump")
        w = DumpDeviceWriter()
        w.compression = .gzip
        w.encryption = (.aes256CBC, EKCDBuilder(cipher: .aes256CBC).publicKeyPEM)
        #expect(caught { try w.write(payload: try FileSource(path: src), to: path("x")) }?.message == "AES-256-CBC cannot be combined with compression")
        #expect(!FileManager.default.fileExists(atPath: path("x")))
    }

    @Test("vmcore dumpdev create --compress, then info, dmesg and panic on the device, and savecore",
          .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"), arguments: ["gzip", "zstd"])
    func commandLine(_ compression: String) throws {
        try Data(minidump()).write(to: dir.appendingPathComponent("vmcore.src"))
        let made = try vmcore(["dumpdev", "create", path("ada0p3.img"), "--payload", path("vmcore.src"), "--compress", compression])
        #expect(made.status == 0)
        #expect(made.text.contains("FreeBSD Kernel Dump"))
        // The dump is read where the kernel left it, through a copy decompressed once.
        let cache = ["VMCORE_CACHE_DIR": try temporaryDirectory().path]
        let info = try vmcore(["info", path("ada0p3.img")], environment: cache)
        #expect(info.status == 0)
        #expect(info.stderr.hasPrefix("vmcore: decompressing \(path("ada0p3.img")) (dump at "))
        #expect(info.text.contains("panic:           panic: round trip"))
        #expect(info.text.contains("  Compression: \(compression)\n"))
        #expect(info.text.contains("  Panic String: page fault while in kernel mode\n"))
        #expect(info.text.contains("format:          FreeBSD/amd64 minidump v3"))
        let again = try vmcore(["info", "--json", path("ada0p3.img")], environment: cache)
        #expect(again.status == 0)
        #expect(again.stderr.isEmpty)  // the copy is reused
        #expect(again.text.contains("\"compression\" : \"\(compression)\""))
        let dmesg = try vmcore(["dmesg", path("ada0p3.img")], environment: cache)
        #expect(dmesg.status == 0)
        #expect(dmesg.text.contains("panic: round trip"))
        let panic = try vmcore(["panic", path("ada0p3.img")], environment: cache)
        #expect(panic.status == 0)
        #expect(panic.text.hasPrefix("panic: round trip\n"))
        let out = try temporaryDirectory()
        #expect(try vmcore(["savecore", out.path, path("ada0p3.img")]).status == 0)
        let saved = try vmcore(["info", out.appendingPathComponent(compression == "gzip" ? "vmcore.0.gz" : "vmcore.0.zst").path], environment: ["VMCORE_CACHE_DIR": try temporaryDirectory().path])
        #expect(saved.text.contains("panic:           panic: round trip"))
    }
}
