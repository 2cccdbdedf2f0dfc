import Testing
import VMCore
import VMCoreTestSupport

@Suite("stored pages in order, and the kdump encoders")
struct PageChunkTests {
    /// The pages `forEachStoredChunk` hands out, in the order it hands them out.
    func collect(_ dump: Dump, chunkPages: Int, threads: Int) throws -> (pfns: [UInt64], pages: [UInt64: [UInt8]], failed: [UInt64]) {
        var pfns: [UInt64] = []
        var pages: [UInt64: [UInt8]] = [:]
        var failed: [UInt64] = []
        let ps = dump.pageSize
        try dump.memory.forEachStoredChunk(chunkPages: chunkPages, threads: threads) { chunk in
            #expect(chunk.pfns.count <= chunkPages)
            #expect(chunk.bytes.count >= chunk.pfns.count * ps)
            let bad = Set(chunk.failures.map(\.pfn))
            for (k, pfn) in chunk.pfns.enumerated() {
                pfns.append(pfn)
                if bad.contains(pfn) { failed.append(pfn); continue }
                pages[pfn] = Array(chunk.bytes[k * ps..<(k + 1) * ps])
            }
        }
        return (pfns, pages, failed)
    }

    @Test("every stored page of a kdump file, in PFN order, on one and two threads", arguments: [1, 2])
    func kdumpInOrder(_ threads: Int) throws {
        let b = sampleKdump()
        let dump = try openDump(b.build())
        let got = try collect(dump, chunkPages: 7, threads: threads)
        #expect(got.pfns == b.pages.keys.sorted())
        #expect(got.failed.isEmpty)
        for (pfn, data) in b.pages { #expect(got.pages[pfn] == data, "PFN \(pfn)") }
    }

    @Test("an incomplete dump reports the pages it never wrote, in order, and reads the rest")
    func incomplete() throws {
        var b = sampleKdump(maxPFN: 60)
        b.incompleteAfter = 20
        let dump = try openDump(b.build())
        let got = try collect(dump, chunkPages: 16, threads: 2)
        let stored = b.pages.keys.sorted()
        #expect(got.pfns == stored)
        #expect(got.failed == Array(stored.dropFirst(20)))
        for pfn in stored.prefix(20) { #expect(got.pages[pfn] == b.pages[pfn], "PFN \(pfn)") }
    }

    @Test("an ELF core's pages come out whole, a page cut by its segment's end zero-filled")
    func elf() throws {
        var b = ELFCoreBuilder()
        b.segments = [.init(physicalAddress: 0x1000, data: patternPage(1) + patternPage(2) + Array(patternPage(3).prefix(100)))]
        let dump = try openDump(b.build())
        let got = try collect(dump, chunkPages: 2, threads: 2)
        #expect(got.pfns == [1, 2, 3])
        #expect(got.pages[1] == patternPage(1))
        #expect(got.pages[3] == Array(patternPage(3).prefix(100)) + [UInt8](repeating: 0, count: 4096 - 100))
    }

    @Test("the kdump encoders write what the reader reads back")
    func encoders() throws {
        for (order, is64) in [(ByteOrder.little, true), (.big, false)] {
            let h = DiskDumpHeader(headerVersion: 6, utsname: ["Linux", "host", "6.1.0", "#1 SMP", is64 ? "x86_64" : "ppc"],
                                   timestampSeconds: 1_700_000_123, status: DiskDumpHeader.compressedZstd, blockSize: 4096,
                                   subHeaderBlocks: 1, bitmapBlocks: 2, maxMapnr: 1000, nrCPUs: 4, is64: is64, order: order)
            let bytes = h.encoded()
            #expect(bytes.count == 4096)
            let back = try DiskDumpHeader(from: MemorySource(name: "h", bytes: bytes + [UInt8](repeating: 0, count: 8192)))
            #expect(back == h)
        }
        let d = KdumpFile.PageDescriptor(offset: 0x1_2345_6789, size: 1234, flags: 0x20)
        let e = d.encoded(order: .big)
        let r = ByteReader(e, file: "d", base: 0, order: .big)
        #expect(e.count == KdumpFile.PageDescriptor.size)
        #expect(try (r.u64(0, "offset"), r.u32(8, "size"), r.u32(12, "flags"), r.u64(16, "page_flags")) == (0x1_2345_6789, 1234, 0x20, 0))
        let bitmap = PageBitmap.encoded([0, 9, 4095], bitCount: 4096, blockSize: 512)
        #expect(bitmap.count == 512)
        #expect(PageBitmap(bytes: bitmap, bitCount: 4096).runs() == [0..<1, 9..<10, 4095..<4096])
    }
}
