import Foundation
import Testing
import VMCore
import VMCoreTestSupport

@Suite("FreeBSD dump devices")
struct FreeBSDDumpDeviceTests {
    /// A small amd64 minidump to put on the device.
    func minidump() -> [UInt8] {
        var b = FreeBSDMinidumpBuilder()
        b.pages[0x10] = patternPage(0x10)
        b.pages[0x200] = patternPage(0x200)
        b.mapLarge(b.kernelBase, to: 0x200000)
        b.messageBuffer = Array("FreeBSD 14.1-RELEASE GENERIC amd64\npanic: page fault\ncpuid = 0\n".utf8) + [0, 0]
        return b.build()
    }

    @Test("the payload is found between the headers, for 512- and 4096-byte blocks and header versions 1-4",
          arguments: [(UInt32(512), UInt32(4)), (4096, 4), (512, 3), (512, 2), (512, 1)])
    func payload(_ blockSize: UInt32, _ version: UInt32) throws {
        let payload = minidump()
        var b = DumpDeviceBuilder(payload: payload, blockSize: blockSize, version: version)
        if version < 3 { b.header.dumpExtent = b.header.dumpLength }  // v1/v2 have no dumpextent
        b.header = b.header.withParity()
        let image = b.build()
        let dump = try openDump(image, name: "swap.img")
        let d = try #require(dump.freebsdDevice)
        #expect(dump.format == .freebsdMinidump)
        #expect(d.header.version == version)
        #expect(d.leaderOffset == 65536)
        #expect(d.payloadOffset == 65536 + UInt64(blockSize))
        #expect(d.trailerOffset == UInt64(image.count) - UInt64(blockSize))
        #expect(d.problems.isEmpty)
        #expect(try dump.memory.read(physical: 0x10000, count: 4096) == patternPage(0x10))
        let f = try dump.analyzedFacts()
        #expect(f.freebsd?.dumpHeader?.status == "good")
        #expect(f.freebsd?.dumpHeader?.hostname == "crashbox.example.org")
        #expect(f.kernel.hostname == "crashbox.example.org")
        #expect(f.kernel.panic?.message == "panic: page fault")  // the message buffer's line wins over the header's string
        #expect(f.container.dumpTimeUTC == "2023-11-14 22:13:20 UTC")
    }

    @Test("a dump extent larger than the payload (compressed dumps reserve the whole partition)")
    func largerExtent() throws {
        let b = DumpDeviceBuilder(payload: minidump(), extraExtent: 1 << 20)
        let dump = try openDump(b.build(), name: "swap.img")
        #expect(dump.freebsdDevice?.leaderOffset == 65536)
        #expect(try dump.memory.read(physical: 0x200000, count: 4096) == patternPage(0x200))
    }

    @Test("headers round-trip through the encoder, and parity is what kerneldump_parity computes")
    func headerEncoding() throws {
        for version in UInt32(1)...4 {
            let h = KernelDumpHeader(architecture: "i386", architectureVersion: 2, dumpLength: 123_456, dumpTime: 42, blockSize: 512,
                                     hostname: "h", versionString: "FreeBSD 13.2\n", panicString: "boom", version: version)
            let bytes = h.encoded()
            #expect(KernelDumpHeader.parity(bytes[...]) == 0)
            let back = try KernelDumpHeader(bytes: bytes, file: "x", offset: 0)
            #expect(back == h)
        }
    }

    @Test("savecore's rejections are errors with their reason; --force reads the dump anyway")
    func rejected() throws {
        let good = DumpDeviceBuilder(payload: minidump())
        let image = good.build()
        let trailer = UInt64(image.count - 512)

        // Bad parity: one byte of the trailing header's hostname changed.
        var bad = image
        bad[Int(trailer) + 64] ^= 0x20
        #expect(caught { try openDump(bad, name: "da0p3") }?.description
                == "da0p3: kernel dump header fails its parity check at offset \(hex(trailer + 508)): the header's 32-bit words XOR to 0x20000000, not 0")
        let forced = try Dump(sources: [MemorySource(name: "da0p3", bytes: bad)], force: true)
        #expect(forced.freebsdDevice?.problems.count == 2)  // parity, and then the headers disagree

        // Leading and trailing headers that disagree (an interrupted dump leaves an old leader).
        var b = good
        var old = good.header
        old.dumpTime = 1_600_000_000
        b.leadingHeader = old.withParity().encoded()
        #expect(caught { try openDump(b.build(), name: "da0p3") }?.description
                == "da0p3: the leading and trailing dump headers disagree at offset \(hex(65536 + 52)): they differ at header byte 52 (dumptime); the trailer is at \(hex(trailer)); an interrupted dump leaves old headers behind")

        // A cleared dump: savecore rewrote the trailer's magic only.
        var cleared = image
        cleared.replaceSubrange(Int(trailer)..<Int(trailer) + 20, with: Array("Cleared Kernel Dump".utf8) + [0])
        #expect(caught { try openDump(cleared, name: "da0p3") }?.description
                == "da0p3: the dump was already saved: savecore cleared it (\"Cleared Kernel Dump\") at offset \(hex(trailer)): it can be read anyway when forced")
        let again = try Dump(sources: [MemorySource(name: "da0p3", bytes: cleared)], force: true)
        #expect(again.freebsdDevice?.cleared == true)
        #expect(try again.memory.read(physical: 0x10000, count: 4096) == patternPage(0x10))
        #expect(try again.analyzedFacts().freebsd?.dumpHeader?.magic == "Cleared Kernel Dump")

        // Sizes that do not fit the device.
        var huge = good
        huge.header.dumpExtent = 1 << 40
        huge.header.dumpLength = 1 << 40
        huge.payload = []
        huge.header = huge.header.withParity()
        var hugeImage = image
        hugeImage.replaceSubrange(Int(trailer)..<Int(trailer) + 512, with: huge.header.encoded())
        #expect(caught { try openDump(hugeImage, name: "da0p3") }?.description
                == "da0p3: the dump header's sizes do not fit the device at offset \(hex(trailer + 40)): a dump extent of 1099511627776 bytes, 0 key bytes and a 512-byte header need more than the \(trailer) bytes before the trailer")

        // A trailer whose block size says it cannot be where it was found.
        var moved = good
        moved.header.blockSize = 4096
        moved.header = moved.header.withParity()
        var movedImage = image
        movedImage.replaceSubrange(Int(trailer)..<Int(trailer) + 512, with: moved.header.encoded())
        #expect(caught { try openDump(movedImage, name: "da0p3") }?.description
                == "da0p3: the trailing dump header says its block size is 4096 at offset \(hex(trailer + 60)): it was found 512 bytes before the end of the device, in the last block")
    }

    @Test("encrypted and text dumps on a device say what to do; a damaged compressed one says where")
    func notReadableInPlace() throws {
        // struct kerneldumpkey: encryption 2 (ChaCha20), a 32-byte IV, a 256-byte wrapped key; padded to 512.
        var key = [UInt8](repeating: 0, count: 512)
        key[0] = 2
        key[33...36] = [0, 0, 1, 0]
        var enc = DumpDeviceBuilder(payload: [UInt8](repeating: 0x5c, count: 8192), keySize: 512)
        enc.key = key
        let encImage = enc.build()
        #expect(caught { try openDump(encImage, name: "ada0p2") }?.description
                == "ada0p2: the dump is encrypted (ChaCha20, key at \(hex(65536 + 512))) at offset \(hex(65536 + 1024)): save it with savecore (vmcore_encrypted.N and key.N), then decrypt it with the RSA private key (decryptcore) before reading it")
        let located = try FreeBSDDumpDevice(source: MemorySource(name: "ada0p2", bytes: encImage))
        #expect(located.key?.encryptedKey.count == 256)
        #expect(FreeBSDDumpHeaderFacts(located).encryption == "ChaCha20")

        // A compressed dump is read through its decompressed copy; a damaged stream is an error
        // naming where the dump lies, and leaves nothing in the cache.
        let gz = DumpDeviceBuilder(payload: [0x1f, 0x8b, 8, 0] + [UInt8](repeating: 0, count: 1020), compression: .gzip, extraExtent: 4096)
        let cacheDirectory = try temporaryDirectory().path
        let cache = DecompressedCache(directory: cacheDirectory)
        #expect(caught { try Dump(sources: [MemorySource(name: "ada0p2", bytes: gz.build())], cache: cache) }?.description
                .hasPrefix("ada0p2 (dump at \(hex(65536 + 512))): corrupt gzip data at offset 0x") == true)
        #expect(FileSystem.directoryEntries(cacheDirectory) ?? [] == [])
    }

    @Test("a file with no dump header at its end is not taken for a device")
    func notADevice() {
        #expect(!FreeBSDDumpDevice.probe(MemorySource(name: "x", bytes: [UInt8](repeating: 0, count: 8192))))
        #expect(caught { try openDump([UInt8](repeating: 0, count: 8192), name: "zeros") }?.kind == .badMagic)
    }
}

@Suite("FreeBSD dump devices on the command line", .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct FreeBSDDumpDeviceCLITests {
    @Test("info prints the header fields savecore writes to info.N; --force reads a cleared dump")
    func info() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("swap.img").path
        var image = DumpDeviceBuilder(payload: FreeBSDDumpDeviceTests().minidump()).build()
        try Data(image).write(to: URL(fileURLWithPath: path))
        let run = try vmcore(["info", path])
        #expect(run.status == 0)
        for line in ["format:          FreeBSD/amd64 minidump v3",
                     "dump header:     FreeBSD Kernel Dump v4, status good; leading header at 0x10000, payload at 0x10200, trailer at \(hex(image.count - 512))",
                     "  Architecture: amd64", "  Blocksize: 512", "  Compression: none", "  Dumptime: 2023-11-14 22:13:20 UTC",
                     "  Hostname: crashbox.example.org", "  Version String: FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC",
                     "  Panic String: page fault while in kernel mode"] {
            #expect(run.text.contains(line + "\n"), "missing: \(line)")
        }
        let trailer = image.count - 512
        image.replaceSubrange(trailer..<trailer + 20, with: Array("Cleared Kernel Dump".utf8) + [0])
        try Data(image).write(to: URL(fileURLWithPath: path))
        let refused = try vmcore(["info", path])
        #expect(refused.status == 1)
        #expect(refused.stderr == "vmcore: \(path): the dump was already saved: savecore cleared it (\"Cleared Kernel Dump\") at offset \(hex(trailer)): read it anyway with --force\n")
        let forced = try vmcore(["dmesg", "--force", path])
        #expect(forced.text.contains("panic: page fault\n"))
    }
}

@Test("a saved encrypted dump is named as one, with what decrypts it")
func encryptedFile() {
    #expect(caught { try openDump([UInt8](repeating: 0x9e, count: 8192), name: "/var/crash/vmcore_encrypted.3") }?.description
            == "/var/crash/vmcore_encrypted.3: an encrypted FreeBSD dump at offset 0x0: decrypt it first with its key file (key.N, saved beside it) and the RSA private key that matches the public key given to dumpon -k")
}
