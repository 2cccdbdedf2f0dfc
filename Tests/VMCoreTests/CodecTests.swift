import Foundation
import Testing
import VMCore
import VMCoreTestSupport

@Suite("page and stream codecs through the system's compression libraries")
struct CodecTests {
    @Test("a page compresses and decompresses with every method, one-shot and through a reused decoder",
          arguments: [PageCompression.zlib, .lzo, .snappy, .zstd])
    func pageRoundTrip(_ method: PageCompression) throws {
        let decoder = PageDecoder()
        for pfn in UInt64(1)...4 {
            let page = patternPage(pfn)
            let packed = try #require(PageCodec.compress(method, page))
            #expect(packed.count < page.count)
            var out = [UInt8](repeating: 0xee, count: 4096 + 16)
            #expect(PageCodec.decompress(method, packed[...], into: &out, expected: 4096) == 4096)
            #expect(Array(out[0..<4096]) == page)
            out = [UInt8](repeating: 0xee, count: 4096)
            #expect(decoder.decompress(method, packed[...], into: &out, expected: 4096) == 4096)
            #expect(out == page)
            // Corrupt or too large for the room given: nil, never a write past `expected`.
            var small = [UInt8](repeating: 0xee, count: 4096)
            #expect(decoder.decompress(method, packed[...], into: &small, expected: 1000) == nil)
            #expect(PageCodec.decompress(method, packed[...], into: &small, expected: 1000) == nil)
            #expect(decoder.decompress(method, [UInt8](repeating: 0xff, count: 64)[...], into: &out, expected: 4096) == nil)
        }
        // Random bytes do not shrink: the page is stored raw.
        var seed: UInt64 = 1
        let noise = (0..<4096).map { _ in seed = seed &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: seed >> 33) }
        #expect(PageCodec.compress(method, noise) == nil)
    }

    @Test("an uncompressed page is copied; one larger than the room is refused")
    func rawPage() {
        var out = [UInt8](repeating: 0xee, count: 16)
        #expect(PageCodec.decompress(.none, [1, 2, 3, 4, 5][1..<4], into: &out, expected: 8) == 3)
        #expect(Array(out[0..<4]) == [2, 3, 4, 0xee])
        #expect(PageCodec.decompress(.none, [UInt8](repeating: 1, count: 9)[...], into: &out, expected: 8) == nil)
    }

    @Test("gzip and zstd streams: two members or frames in, piece by piece, with tiny buffers",
          arguments: [StreamDecoder.Format.gzip, .zstd])
    func streamRoundTrip(_ format: StreamDecoder.Format) throws {
        let first = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let second = Array("the second member".utf8)
        var compressed: [UInt8] = []
        for part in [first, second] {
            let encoder = try #require(StreamEncoder(format: format, level: 3))
            try encoder.encode(part, 0..<part.count / 2, finish: false) { bytes, n in compressed += bytes[0..<n] }
            try encoder.encode(part, part.count / 2..<part.count, finish: true) { bytes, n in compressed += bytes[0..<n] }
        }
        #expect(StreamDecoder.Format.detect(Array(compressed.prefix(4))) == format)

        let decoder = try #require(StreamDecoder(format: format))
        var output = [UInt8](repeating: 0, count: 1000)
        var members: [[UInt8]] = [[]]
        var at = 0
        while at < compressed.count {
            let end = min(compressed.count, at + 333)
            let step = decoder.decode(compressed, at..<end, into: &output, 10..<1000)
            at += step.consumed
            members[members.count - 1] += output[10..<10 + step.produced]
            if step.status == .endOfMember {
                decoder.reset()
                if at < compressed.count { members.append([]) }
            }
            if case .failed(let reason) = step.status {
                Issue.record("decoding failed at \(at): \(reason)")
                return
            }
        }
        #expect(members == [first, second])

        var garbage = compressed
        garbage.replaceSubrange(4..<40, with: [UInt8](repeating: 0x55, count: 36))
        let fresh = try #require(StreamDecoder(format: format))
        var failed = false
        var position = 0
        while position < garbage.count {
            let step = fresh.decode(garbage, position..<garbage.count, into: &output, 0..<output.count)
            position += step.consumed
            if case .failed(let reason) = step.status { failed = !reason.isEmpty; break }
            if step.consumed == 0 && step.produced == 0 { break }
        }
        #expect(failed)
    }

    @Test("zstd in independent 4 MiB frames on two threads: one stream to the zstd tool and to the cache's decoder")
    func frameParallelZstd() throws {
        // 10 MiB and a bit: two full rounds of two jobs would be 16 MiB, so the end is a part round.
        var input = [UInt8](repeating: 0, count: (10 << 20) + 12345)
        var x: UInt32 = 1
        for i in stride(from: 0, to: input.count, by: 2) {
            x = x &* 1_103_515_245 &+ 12345
            input[i] = UInt8(truncatingIfNeeded: x >> 16)  // half random, half zero: compressible
        }
        let encoder = try #require(StreamEncoder(format: .zstd, level: 3, threads: 2, independentFrames: true))
        var compressed: [UInt8] = []
        var at = 0
        while at < input.count {
            let n = min(1_000_003, input.count - at)
            try encoder.encode(input, at..<at + n, finish: at + n == input.count) { bytes, k in compressed += bytes[0..<k] }
            at += n
        }
        let dir = try temporaryDirectory()
        let z = dir.appendingPathComponent("stream.zst"), plain = dir.appendingPathComponent("stream")
        try Data(compressed).write(to: z)
        // The zstd tool reads concatenated frames as one stream.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
        p.arguments = ["-q", "-d", z.path, "-o", plain.path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(Array(try Data(contentsOf: plain)) == input)
        // So does the decompressed cache.
        let cache = DecompressedCache(directory: dir.appendingPathComponent("cache").path)
        let source = try cache.source(forPath: z.path)
        #expect(try source.bytes(at: 0, count: Int(source.size), what: "all") == input)
    }

    @Test("CRC-32 and SHA-256 over pieces equal the check values of the whole")
    func checksums() {
        let text = Array("123456789".utf8)
        var crc = StreamCRC32()
        crc.update(text, count: 4)
        crc.update(Array(text[4...]) + [0xaa], count: 5)
        #expect(crc.value == 0xcbf4_3926)
        var sha = StreamSHA256()
        sha.update(Array("abcdef".utf8), count: 2)
        sha.update(Array("c".utf8), count: 1)
        #expect(sha.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
