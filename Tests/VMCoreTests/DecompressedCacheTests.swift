import Foundation
import Synchronization
import Testing
import VMCore
import VMCoreTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Notices a cache gave, in order.
final class Notices: Sendable {
    let list = Mutex<[String]>([])
    var all: [String] { list.withLock { $0 } }
    func append(_ s: String) { list.withLock { $0.append(s) } }
}

/// `stat` of `path`: inode, modification time in nanoseconds, size and bytes allocated.
func fileStatus(_ path: String) -> (inode: UInt64, mtime: Int64, size: Int64, allocated: Int64)? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return (UInt64(st.st_ino), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec), Int64(st.st_size), Int64(st.st_blocks) * 512)
}

/// A FreeBSD/amd64 minidump with 1 MiB of all-zero pages among its pattern pages.
func sparseMinidump() -> [UInt8] {
    var b = FreeBSDMinidumpBuilder()
    for pfn in UInt64(0x200)..<0x300 { b.pages[pfn] = patternPage(pfn) }
    for pfn in UInt64(0x400)..<0x500 { b.pages[pfn] = [UInt8](repeating: 0, count: 4096) }
    for pfn in UInt64(0x600)..<0x640 { b.pages[pfn] = patternPage(pfn) }
    b.mapLarge(b.kernelBase + (2 << 20), to: 0x200000)
    b.messageBuffer = Array("FreeBSD 14.1-RELEASE GENERIC amd64\npanic: test\n".utf8)
    return b.build()
}

@Suite("gzip and zstd dumps through the decompressed cache")
struct DecompressedCacheTests {
    let dir: URL
    let cacheDir: String
    let notices = Notices()

    init() throws {
        dir = try temporaryDirectory()
        cacheDir = dir.appendingPathComponent("cache").path
    }

    var cache: DecompressedCache {
        let n = notices
        return DecompressedCache(directory: cacheDir, notice: { n.append($0) })
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func cacheFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cacheDir)) ?? []).sorted()
    }

    static func compress(_ data: [UInt8], _ format: StreamDecoder.Format) -> [UInt8] {
        format == .gzip ? KernelCompressor.gzip(data) : KernelCompressor.zstd(data)
    }

    @Test("a compressed minidump reads as the plain one; the copy is sparse and made once", arguments: [StreamDecoder.Format.gzip, .zstd])
    func minidump(_ format: StreamDecoder.Format) throws {
        let raw = sparseMinidump()
        let compressed = Self.compress(raw, format)
        #expect(StreamDecoder.Format.detect(compressed) == format)
        let path = try write(compressed, format == .gzip ? "vmcore.0.gz" : "vmcore.0.zst")
        let plain = try openDump(raw)
        let d = try Dump.open([path], cache: cache)
        #expect(d.files == [path])
        #expect(d.variant == plain.variant)
        for address: UInt64 in [0x200000, 0x2ff000, 0x400000, 0x63f000] {
            #expect(try d.memory.read(physical: address, count: 4096) == plain.memory.read(physical: address, count: 4096))
        }
        #expect(try d.analyzedFacts().kernel.panic?.message == "panic: test")

        let files = cacheFiles()
        #expect(files.count == 1)
        let cachePath = cacheDir + "/" + files[0]
        #expect(notices.all == ["decompressing \(path) into \(cachePath) (once)"])
        #expect(files[0].hasPrefix(format == .gzip ? "vmcore.0.gz." : "vmcore.0.zst."))
        let status = try #require(fileStatus(cachePath))
        #expect(status.size == Int64(raw.count + 512))
        // The 1 MiB of zero pages is a hole (allowing for the file system's own allocation).
        #expect(status.allocated <= status.size - (1 << 19))
        let copy = try #require(FileManager.default.contents(atPath: cachePath))
        #expect(Array(copy.prefix(raw.count)) == raw)
    }

    @Test("later opens reuse the copy untouched; a changed source is decompressed again")
    func reuse() throws {
        let raw = sampleKdump().build()
        let path = try write(KernelCompressor.zstd(raw), "vmcore.1.zst")
        _ = try Dump.open([path], cache: cache)
        let cachePath = cacheDir + "/" + cacheFiles()[0]
        let first = try #require(fileStatus(cachePath))

        let again = try Dump.open([path], cache: cache)
        #expect(try again.memory.read(physical: 0x1000, count: 4096) == patternPage(1))
        let second = try #require(fileStatus(cachePath))
        #expect(second.inode == first.inode && second.mtime == first.mtime)
        #expect(notices.all.count == 1)

        // The same path saved again (new contents, new time): the record no longer matches.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_600_000_000)], ofItemAtPath: path)
        _ = try Dump.open([path], cache: cache)
        #expect(notices.all.count == 2)
        #expect(cacheFiles() == [cachePath.split(separator: "/").last.map(String.init)!])
        #expect(try #require(fileStatus(cachePath)).inode != first.inode)

        // A damaged record is not trusted either.
        let handle = try #require(FileHandle(forUpdatingAtPath: cachePath))
        try handle.seek(toOffset: UInt64(raw.count) + 60)
        handle.write(Data([0xff]))
        try handle.close()
        _ = try Dump.open([path], cache: cache)
        #expect(notices.all.count == 3)
    }

    @Test("temporary files of a killed decompression are removed by the next one; a live writer's are not")
    func abandoned() throws {
        let path = try write(KernelCompressor.gzip(sparseMinidump()), "vmcore.10.gz")
        _ = try Dump.open([path], cache: cache)
        let name = cacheFiles()[0]
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = ".\(name).tmp-\(gone.processIdentifier)-1f2e", live = ".\(name).tmp-\(getpid())-3d4c"
        for temp in [dead, live] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: cacheDir + "/" + temp)) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_600_000_000)], ofItemAtPath: path)
        _ = try Dump.open([path], cache: cache)
        #expect(cacheFiles() == [live, name])
    }

    @Test("a kdump-compressed file inside gzip; concatenated members and frames; zero padding", arguments: [StreamDecoder.Format.gzip, .zstd])
    func concatenated(_ format: StreamDecoder.Format) throws {
        let raw = sampleKdump().build()
        let thirds = [raw[..<(raw.count / 3)], raw[(raw.count / 3)..<(2 * raw.count / 3)], raw[(2 * raw.count / 3)...]]
        let joined = thirds.flatMap { Self.compress(Array($0), format) } + [UInt8](repeating: 0, count: 1000)
        let path = try write(joined, "vmcore.2." + format.rawValue)
        let d = try Dump.open([path], cache: cache)
        #expect(d.format == .kdumpCompressed)
        for pfn in [UInt64(1), 2, 150, 298] {
            #expect(try d.memory.read(physical: pfn * 4096, count: 4096) == (sampleKdump().pages[pfn] ?? []))
        }
        let copy = try #require(FileManager.default.contents(atPath: cacheDir + "/" + cacheFiles()[0]))
        #expect(Array(copy.prefix(raw.count)) == raw && copy.count == raw.count + 512)
    }

    @Test("truncated, corrupt and trailing data: the error names the file and offset, and no cache file is left")
    func corrupt() throws {
        let raw = sparseMinidump()
        let gz = KernelCompressor.gzip(raw)
        let cut = try write(Array(gz.prefix(gz.count - 100)), "vmcore.3.gz")
        #expect(caught { try Dump.open([cut], cache: cache) }?.description
                == "\(cut): gzip data ends early at offset \(hex(gz.count - 100)): the gzip member that starts at offset 0x0 is incomplete; the file may be truncated")
        #expect(cacheFiles() == [])

        var badCRC = gz
        badCRC[gz.count - 6] ^= 0x40
        let crc = try write(badCRC, "vmcore.4.gz")
        #expect(caught { try Dump.open([crc], cache: cache) }?.description
                == "\(crc): corrupt gzip data at offset \(hex(gz.count - 4)): incorrect data check (in the gzip member that starts at offset 0x0)")
        #expect(cacheFiles() == [])

        var zst = KernelCompressor.zstd(raw)
        for i in stride(from: zst.count / 2, to: zst.count / 2 + 64, by: 4) { zst[i] ^= 0x5a }
        let bad = try write(zst, "vmcore.5.zst")
        let e = caught { try Dump.open([bad], cache: cache) }
        #expect(e?.kind == .corrupt)
        #expect(e?.description.hasPrefix("\(bad): corrupt zstd data at offset 0x") == true)
        #expect(e?.description.hasSuffix("(in the zstd frame that starts at offset 0x0)") == true)
        #expect(cacheFiles() == [])

        let trailing = try write(gz + [0, 0, 0x41], "vmcore.6.gz")
        #expect(caught { try Dump.open([trailing], cache: cache) }?.description
                == "\(trailing): unexpected data after the last gzip member at offset \(hex(gz.count + 2)): after zero padding, only zero bytes may follow")
        let garbage = try write(KernelCompressor.zstd(raw) + [0x41, 0x42, 0x43, 0x44], "vmcore.7.zst")
        #expect(caught { try Dump.open([garbage], cache: cache) }?.kind == .corrupt)
        #expect(cacheFiles() == [])
        #expect(notices.all.count == 5)
    }

    @Test("the cache directory: VMCORE_CACHE_DIR, else XDG_CACHE_HOME/vmcore, else HOME/.cache/vmcore")
    func directory() throws {
        func resolve(_ env: [String: String]) -> String? { DecompressedCache.directory { env[$0] } }
        #expect(resolve(["VMCORE_CACHE_DIR": "/a", "XDG_CACHE_HOME": "/b", "HOME": "/c"]) == "/a")
        #expect(resolve(["XDG_CACHE_HOME": "/b", "HOME": "/c"]) == "/b/vmcore")
        #expect(resolve(["HOME": "/c"]) == "/c/.cache/vmcore")
        #expect(resolve([:]) == nil)
        let path = try write(KernelCompressor.gzip(sparseMinidump()), "vmcore.8.gz")
        #expect(caught { try Dump.open([path], cache: DecompressedCache(directory: nil)) }?.description
                == "\(path): gzip-compressed dump, and no directory to decompress it into: set VMCORE_CACHE_DIR (or XDG_CACHE_HOME or HOME)")
        // Uncompressed files never touch the cache.
        let plain = try write(sparseMinidump(), "vmcore.9")
        _ = try Dump.open([plain], cache: cache)
        #expect(!FileManager.default.fileExists(atPath: cacheDir))
    }
}

@Suite("vmcore on compressed dumps", .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct CompressedCLITests {
    @Test("every command reads vmcore.N.zst; the cache directory comes from the environment; the notice comes once")
    func environment() throws {
        let dir = try temporaryDirectory()
        let raw = dir.appendingPathComponent("vmcore.0").path
        let zst = dir.appendingPathComponent("vmcore.0.zst").path
        let builder = sampleKdump()
        try Data(builder.build()).write(to: URL(fileURLWithPath: raw))
        try Data(KernelCompressor.zstd(builder.build())).write(to: URL(fileURLWithPath: zst))
        let cacheDir = dir.appendingPathComponent("my cache").path
        var env = ProcessInfo.processInfo.environment
        env["VMCORE_CACHE_DIR"] = cacheDir

        let first = try vmcore(["info", zst], environment: env)
        #expect(first.status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: cacheDir)
        #expect(files.count == 1)
        #expect(first.stderr == "vmcore: decompressing \(zst) into \(cacheDir)/\(files[0]) (once)\n")
        let plain = try vmcore(["info", raw], environment: env)
        #expect(first.text == plain.text.replacingOccurrences(of: raw, with: zst))

        let read = try vmcore(["read", zst, "--physical", "0x2000", "--length", "4096", "--raw"], environment: env)
        #expect(read.status == 0 && read.stderr == "")
        #expect(Array(read.stdout) == builder.pages[2]!)

        env["VMCORE_CACHE_DIR"] = nil
        env["XDG_CACHE_HOME"] = dir.appendingPathComponent("xdg").path
        let xdg = try vmcore(["check", zst], environment: env)
        #expect(xdg.status == 0)
        #expect(xdg.stderr.hasPrefix("vmcore: decompressing \(zst) into \(dir.path)/xdg/vmcore/vmcore.0.zst."))

        let cut = dir.appendingPathComponent("vmcore.1.gz").path
        try Data(KernelCompressor.gzip(builder.build()).prefix(3000)).write(to: URL(fileURLWithPath: cut))
        let failed = try vmcore(["dmesg", cut], environment: env)
        #expect(failed.status == 1)
        #expect(failed.stderr.hasSuffix("vmcore: \(cut): gzip data ends early at offset 0xbb8: the gzip member that starts at offset 0x0 is incomplete; the file may be truncated\n"))
    }
}
