import Testing
import VMCore
import VMCoreTestSupport

@Suite("makedumpfile flattened streams, read in place")
struct FlattenedTests {
    @Test("in order, shuffled, and with later records rewriting earlier bytes")
    func rearranged() throws {
        var k = sampleKdump()
        k.compression = .lzo
        let plain = k.build()
        for shuffled in [false, true] {
            var f = FlattenedBuilder()
            f.recordSize = 5000
            if shuffled { f.shuffle = { n in (0..<n).reversed().map { $0 } } }
            // makedumpfile rewrites the sub header at the end; a later record wins.
            f.rewrites = [(offset: 4096 + 8, bytes: [0x1f, 0, 0, 0]), (offset: 4096 + 8, bytes: [0x1e, 0, 0, 0])]
            let stream = f.build(plain)
            let source = try FlattenedSource(base: MemorySource(name: "flat", bytes: stream))
            var expected = plain
            expected[4096 + 8] = 0x1e
            #expect(source.size == UInt64(plain.count))
            #expect(try source.bytes(at: 0, count: plain.count, what: "all") == expected)
            let dump = try openDump(stream)
            #expect(dump.flattened)
            #expect(dump.variant == "flattened kdump-compressed v6 (makedumpfile)")
            #expect(dump.kdump!.subHeader.dumpLevel == 0x1e)
            for pfn in k.pages.keys.sorted() {
                #expect(try dump.memory.read(physical: pfn * 4096, count: 4096) == k.pages[pfn]!)
            }
        }
    }

    @Test("an overlap in the middle of a record splits it")
    func overlapSplitsRecord() throws {
        let plain = (0..<20000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var f = FlattenedBuilder()
        f.recordSize = 20000
        f.rewrites = [(offset: 10000, bytes: [1, 2, 3]), (offset: 9999, bytes: [9])]
        let source = try FlattenedSource(base: MemorySource(name: "flat", bytes: f.build(plain)))
        var expected = plain
        expected[9999] = 9
        expected[10000] = 1; expected[10001] = 2; expected[10002] = 3
        #expect(try source.bytes(at: 0, count: plain.count, what: "all") == expected)
        #expect(try source.bytes(at: 9998, count: 6, what: "mid") == Array(expected[9998..<10004]))
    }

    @Test("an ELF core in a flattened stream")
    func flattenedELF() throws {
        var b = ELFCoreBuilder()
        b.segments = [.init(physicalAddress: 0x1000, data: patternPage(1))]
        var f = FlattenedBuilder()
        f.recordSize = 300
        f.shuffle = { n in (0..<n).map { ($0 * 7) % n } }
        let dump = try openDump(f.build(b.build()))
        #expect(dump.format == .elf)
        #expect(dump.flattened)
        #expect(try dump.memory.read(physical: 0x1000, count: 4096) == patternPage(1))
    }

    @Test("a stream without its end record is read and flagged")
    func noEndMarker() throws {
        var f = FlattenedBuilder()
        f.endMarker = false
        let dump = try openDump(f.build(sampleKdump().build()))
        #expect(!dump.flattenedSources[0].hasEndMarker)
        #expect(try dump.facts().warnings.first?.contains("no end record") == true)
    }

    @Test("a record header with a negative size")
    func negativeSize() {
        var w = ByteWriter(order: .big)
        w.bytes = FlattenedBuilder().build([1, 2, 3, 4])
        w.put(UInt64(bitPattern: -5), at: 4096 + 8, width: 8)
        #expect(caught { try FlattenedSource(base: MemorySource(name: "flat", bytes: w.bytes)) }?.description
                == "flat: corrupt flattened record header at offset 0x1000: offset 0 and size -5; only the end record {-1, -1} may be negative")
    }

    @Test("a record whose size runs past the end of the file keeps the bytes that arrived")
    func lyingSize() throws {
        var w = ByteWriter(order: .big)
        w.bytes = FlattenedBuilder().build([1, 2, 3, 4])
        w.put(1 << 40, at: 4096 + 8, width: 8)
        // The record claims 1 TiB; the 4 data bytes and the 16 of the end record follow it.
        let flat = try FlattenedSource(base: MemorySource(name: "flat", bytes: w.bytes))
        #expect(flat.size == 20)
        #expect(!flat.hasEndMarker)
        #expect(try flat.bytes(at: 0, count: 4, what: "data") == [1, 2, 3, 4])
    }

    @Test("a header cut short and an unknown type")
    func badHeader() throws {
        let stream = FlattenedBuilder().build([1, 2, 3, 4])
        // Cut inside the first record header: nothing arrived, and the stream says it was cut.
        let cut = try FlattenedSource(base: MemorySource(name: "flat", bytes: Array(stream.prefix(4096 + 10))))
        #expect(cut.size == 0 && !cut.hasEndMarker)
        var w = ByteWriter(order: .big)
        w.bytes = stream
        w.put(2, at: 16, width: 8)
        #expect(caught { try FlattenedSource(base: MemorySource(name: "flat", bytes: w.bytes)) }?.description
                == "flat: unknown flattened header type 2 at offset 0x10: expected 1 (TYPE_FLAT_HEADER)")
    }

    @Test("many overlapping records in hostile order finish quickly")
    func hostileOverlaps() throws {
        var w = ByteWriter(order: .big)
        w.raw(FlattenedSource.signature, at: 0)
        w.put(1, at: 16, width: 8)
        w.grow(to: 4096)
        // 50,000 records, each overlapping all later ones, written from the top down.
        for i in (0..<50_000).reversed() {
            let at = w.bytes.count
            w.put(UInt64(i), at: at, width: 8)
            w.put(100_000, at: at + 8, width: 8)
            w.grow(to: at + 16)
        }
        // Payloads are absent: each record's 100,000 bytes of "data" are the headers after it,
        // so the stream is a few records, cut off, read at once without scanning every header.
        let cut = try FlattenedSource(base: MemorySource(name: "flat", bytes: w.bytes))
        #expect(cut.recordCount < 10 && !cut.hasEndMarker)

        var f = FlattenedBuilder()
        f.recordSize = 64
        f.rewrites = (0..<20_000).map { (offset: UInt64(($0 * 37) % 60_000), bytes: [UInt8(truncatingIfNeeded: $0)]) }
        let plain = [UInt8](repeating: 0xee, count: 64_000)
        let source = try FlattenedSource(base: MemorySource(name: "flat", bytes: f.build(plain)))
        var expected = plain
        for (i, r) in f.rewrites.enumerated() { expected[Int(r.offset)] = UInt8(truncatingIfNeeded: i) }
        #expect(try source.bytes(at: 0, count: plain.count, what: "all") == expected)
    }
}
