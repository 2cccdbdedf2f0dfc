import Foundation
import Testing
import VMCore
import VMCoreTestSupport

/// An independent SHA-256 (coreutils), to check what savecore records.
func sha256sum(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return String(text.prefix(64))
}

func decompressTool(_ tool: String, _ path: String) throws -> [UInt8] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool, "-dc", path]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Array(data)
}

@Suite("savecore")
struct SavecoreTests {
    let dir: URL
    init() throws { dir = try temporaryDirectory() }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: dir.appendingPathComponent(name))) }
    func link(_ name: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path(name)) }

    func minidump() -> [UInt8] {
        var m = FreeBSDMinidumpBuilder()
        for pfn in UInt64(0x100)..<0x140 { m.pages[pfn] = patternPage(pfn) }
        m.pages[0x200] = [UInt8](repeating: 0, count: 4096)
        m.messageBuffer = Array("FreeBSD 14.1-RELEASE GENERIC amd64\npanic: saved\n".utf8)
        return m.build()
    }

    /// Writes a device image for `b` and returns its path (in a separate directory).
    func device(_ b: DumpDeviceBuilder) throws -> String {
        let d = try temporaryDirectory().appendingPathComponent("ada0p3")
        try Data(b.build()).write(to: d)
        return d.path
    }

    func run(_ device: String, _ configure: (inout Savecore.Options) -> Void = { _ in }) throws -> Savecore.Outcome {
        var o = Savecore.Options()
        configure(&o)
        return try Savecore(directory: dir.path, options: o).process(device: device)
    }

    @Test("a plain dump: vmcore.N byte for byte, info.N, bounds, links, SHA-256 read back, then the trailer cleared",
          arguments: [UInt32(512), 4096])
    func plain(_ blockSize: UInt32) throws {
        let payload = minidump()
        let dev = try device(DumpDeviceBuilder(payload: payload, blockSize: blockSize))
        let before = Array(try Data(contentsOf: URL(fileURLWithPath: dev)))
        guard case .saved(let s) = try run(dev) else { Issue.record("not saved"); return }
        #expect(s.core == "vmcore.0" && s.complete && s.cleared)
        #expect(try read("vmcore.0") == payload)
        #expect(s.sha256 == (try sha256sum(path("vmcore.0"))))
        #expect(String(decoding: try read("bounds"), as: UTF8.self) == "1\n")
        #expect(link("vmcore.last") == "vmcore.0" && link("info.last") == "info.0")
        let info = String(decoding: try read("info.0"), as: UTF8.self)
        for line in ["Dump header from device: \(dev)\n", "  Architecture: amd64\n", "  Architecture Version: 2\n",
                     "  Dump Length: \(payload.count)\n", "  Blocksize: \(blockSize)\n", "  Compression: none\n",
                     "  Dumptime: 2023-11-14 22:13:20 +0000\n", "  Hostname: crashbox.example.org\n", "  Magic: FreeBSD Kernel Dump\n",
                     "  Version String: FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n  Panic String: page fault while in kernel mode\n",
                     "  Bounds: 0\n", "  Dump Status: good\n", "  Saved SHA-256: \(s.sha256)\n"] {
            #expect(info.contains(line), "info.0 lacks \(line)")
        }
        // Only the trailer's magic changed.
        let after = Array(try Data(contentsOf: URL(fileURLWithPath: dev)))
        let trailer = after.count - Int(blockSize)
        #expect(Array(after[trailer..<trailer + 20]) == Array("Cleared Kernel Dump".utf8) + [0])
        var restored = after
        restored.replaceSubrange(trailer..<trailer + 20, with: before[trailer..<trailer + 20])
        #expect(restored == before)
        // The device now holds a cleared dump: nothing to save, unless forced.
        guard case .none = try run(dev) else { Issue.record("a cleared dump was saved again"); return }
        guard case .saved(let again) = try run(dev, { $0.force = true }) else { Issue.record("-f did not save"); return }
        #expect(again.core == "vmcore.1" && again.sha256 == s.sha256)
    }

    @Test("-k keeps the dump on the device; -C only checks; -c only clears")
    func keepCheckClear() throws {
        let dev = try device(DumpDeviceBuilder(payload: minidump()))
        #expect(try run(dev) { $0.checkOnly = true } == .exists)
        #expect(!FileManager.default.fileExists(atPath: path("bounds")))
        guard case .saved(let s) = try run(dev, { $0.keep = true }) else { Issue.record("not saved"); return }
        #expect(!s.cleared)
        #expect(try run(dev) { $0.checkOnly = true } == .exists)
        #expect(try run(dev) { $0.clearOnly = true } == .cleared)
        guard case .none = try run(dev, { $0.checkOnly = true }) else { Issue.record("still there after -c"); return }
    }

    @Test("-z and -Z compress while saving; the kernel's own gzip and zstd are kept as they are")
    func compression() throws {
        let payload = minidump()
        let dev = try device(DumpDeviceBuilder(payload: payload))
        guard case .saved(let z) = try run(dev, { $0.compression = .gzip; $0.keep = true }) else { Issue.record("-z"); return }
        #expect(z.core == "vmcore.0.gz" && link("vmcore.last.gz") == "vmcore.0.gz")
        #expect(try decompressTool("gzip", path("vmcore.0.gz")) == payload)
        guard case .saved(let zs) = try run(dev, { $0.compression = .zstd; $0.keep = true }) else { Issue.record("-Z"); return }
        #expect(zs.core == "vmcore.1.zst" && link("vmcore.last.zst") == "vmcore.1.zst" && link("vmcore.last.gz") == nil)
        #expect(try decompressTool("zstd", path("vmcore.1.zst")) == payload)
        #expect(try Dump.open([path("vmcore.1.zst")], cache: DecompressedCache(directory: try temporaryDirectory().path)).memory.read(physical: 0x100000, count: 4096) == patternPage(0x100))

        for (format, data) in [(KernelDumpHeader.Compression.zstd, KernelCompressor.zstd(payload)), (.gzip, KernelCompressor.gzip(payload))] {
            let kdev = try device(DumpDeviceBuilder(payload: data, compression: format, extraExtent: 1 << 16))
            guard case .saved(let k) = try run(kdev, { $0.compression = .gzip }) else { Issue.record("kernel-compressed"); return }
            #expect(k.core.hasSuffix(format == .zstd ? ".zst" : ".gz"))
            #expect(try read(k.core) == data)  // exactly dumplength bytes, not the padded extent
        }
    }

    @Test("encrypted dumps: vmcore_encrypted.N and key.N, which decrypt to the payload (AES-256-CBC, ChaCha20, ChaCha20 after zstd)")
    func encrypted() throws {
        let payload = minidump()
        for (cipher, compressed) in [(KernelDumpKey.Cipher.aes256CBC, false), (.chacha20, false), (.chacha20, true)] {
            let e = EKCDBuilder(cipher: cipher)
            let plain = compressed ? KernelCompressor.zstd(payload) : payload
            var b = DumpDeviceBuilder(payload: try e.encrypt(plain), compression: compressed ? .zstd : .none,
                                      extraExtent: compressed ? 4096 : 0, keySize: 512)
            b.key = try e.keyBlock()
            let dev = try device(b)
            guard case .saved(let s) = try run(dev) else { Issue.record("encrypted"); return }
            #expect(s.core == "vmcore_encrypted.\(s.number)" && s.key == "key.\(s.number)")
            #expect(link("vmcore_encrypted.last") == s.core && link("key.last") == s.key)
            #expect(try read(s.key!) == b.key)
            try e.privateKeyPEM.write(to: dir.appendingPathComponent("private.pem"), atomically: true, encoding: .utf8)
            let r = try EncryptedDump.decrypt(encrypted: path(s.core), keyFile: path(s.key!), privateKeyFile: path("private.pem"),
                                              output: path("vmcore.\(s.number)"), decompress: compressed)
            #expect(r.decompressed == compressed)
            #expect(try read("vmcore.\(s.number)") == payload)
        }
    }

    @Test("a textdump on the device becomes textdump.tar.N in forward order")
    func textdump() throws {
        var t = TextdumpBuilder()
        t.messageBuffer = Array("panic: from ddb\n".utf8)
        t.panicMessage = "from ddb"
        t.version = "FreeBSD 14.1-RELEASE"
        let d = try temporaryDirectory().appendingPathComponent("ada0p3")
        try Data(t.deviceImage(mediaSize: 128 * 1024)).write(to: d)
        guard case .saved(let s) = try run(d.path) else { Issue.record("textdump"); return }
        #expect(s.core == "textdump.tar.0" && link("textdump.tar.last") == "textdump.tar.0")
        #expect(try read("textdump.tar.0") == t.tar())
    }

    @Test("rejected dumps: bad parity and disagreeing headers are not saved, nor cleared; -f saves them")
    func rejected() throws {
        var image = DumpDeviceBuilder(payload: minidump()).build()
        image[image.count - 512 + 70] ^= 1   // a hostname byte of the trailer
        let d = try temporaryDirectory().appendingPathComponent("ada0p3")
        try Data(image).write(to: d)
        guard case .rejected(let why) = try run(d.path) else { Issue.record("bad parity saved"); return }
        #expect(why.description.contains("fails its parity check"))
        #expect(!FileManager.default.fileExists(atPath: path("bounds")))
        #expect(Array(try Data(contentsOf: d)) == image)
        guard case .saved(let s) = try run(d.path, { $0.force = true }) else { Issue.record("-f"); return }
        #expect(s.cleared)
        #expect(try read("vmcore.0") == minidump())
    }

    @Test("no room: minfree stops the save before anything is written; the device is untouched")
    func noRoom() throws {
        try "999999999999\n".write(to: dir.appendingPathComponent("minfree"), atomically: true, encoding: .utf8)
        let dev = try device(DumpDeviceBuilder(payload: minidump()))
        let before = try Data(contentsOf: URL(fileURLWithPath: dev))
        let e = caught { try run(dev) }
        #expect(e?.message == "no dump: not enough free space")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dev)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["minfree"])
    }

    @Test("-m wraps the dump number; a stale vmcore.N of the same number is replaced")
    func maxDumps() throws {
        var cores: [String] = []
        for _ in 0..<3 {
            let dev = try device(DumpDeviceBuilder(payload: minidump()))
            guard case .saved(let s) = try run(dev, { $0.maxDumps = 2 }) else { Issue.record("not saved"); return }
            cores.append(s.core)
        }
        #expect(cores == ["vmcore.0", "vmcore.1", "vmcore.0"])
        #expect(String(decoding: try read("bounds"), as: UTF8.self) == "1\n")
    }

    @Test("the command line: exit status of -C, a save, and what it prints",
          .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
    func commandLine() throws {
        let dev = try device(DumpDeviceBuilder(payload: minidump()))
        let check = try vmcore(["savecore", "-C", dir.path, dev])
        #expect(check.status == 0 && check.text == "A dump exists on \(dev)\n")
        let save = try vmcore(["savecore", "-vZ", dir.path, dev])
        #expect(save.status == 0)
        #expect(save.text.hasPrefix("Dump header from device: \(dev)\n"))
        #expect(save.stderr.contains("saved \(dir.path)/vmcore.0.zst"))
        let none = try vmcore(["savecore", "-C", dir.path, dev])
        #expect(none.status == 1)
        #expect(try vmcore(["savecore", "-C", "-c", dir.path, dev]).stderr.contains("-C cannot be combined"))
        // The saved file is read by the other commands.
        let info = try vmcore(["info", path("vmcore.0.zst")], environment: ["VMCORE_CACHE_DIR": try temporaryDirectory().path])
        #expect(info.text.contains("panic:           panic: saved"))
    }
}
