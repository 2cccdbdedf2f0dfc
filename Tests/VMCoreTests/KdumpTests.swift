import Testing
import VMCore
import VMCoreTestSupport

@Suite("kdump-compressed reader")
struct KdumpTests {
    /// Every page reads back as the builder stored it, or reports its state.
    func checkAllPages(_ dump: Dump, _ b: KdumpBuilder) throws {
        var page = [UInt8](repeating: 0, count: 4096)
        for pfn in 0..<b.maxPFN {
            if let data = b.pages[pfn] {
                try dump.memory.readPage(pfn, into: &page)
                #expect(page == data, "PFN \(pfn)")
                #expect(dump.memory.state(ofPage: pfn) == (data.allSatisfy { $0 == 0 } && b.shareZeroPage ? .zero : .present))
            } else if b.excluded.contains(pfn) {
                #expect(dump.memory.state(ofPage: pfn) == .excluded)
                #expect(caught { try dump.memory.readPage(pfn, into: &page) }?.kind == .excludedPage)
            } else {
                #expect(dump.memory.state(ofPage: pfn) == .notInDump)
                #expect(caught { try dump.memory.readPage(pfn, into: &page) }?.kind == .notInDump)
            }
        }
    }

    @Test("every codec, per-page flags win over the header", arguments: PageCompression.allCases)
    func codecs(_ method: PageCompression) throws {
        var b = sampleKdump()
        b.compression = method
        b.pageCompression[11] = .none  // one page stored raw, as makedumpfile does when compression does not help
        let dump = try openDump(b.build())
        #expect(dump.format == .kdumpCompressed)
        try checkAllPages(dump, b)
        let stats = try dump.kdump!.statistics()
        #expect(stats.counts.present == UInt64(b.pages.count))
        #expect(stats.counts.zero == UInt64(b.pages.values.filter { $0.allSatisfy { $0 == 0 } }.count))
        #expect(stats.counts.excluded == UInt64(b.excluded.count))
        #expect(stats.compressions.contains(method == .none ? .none : method))
    }

    @Test("header versions 1 to 6, three sub-header ABIs, both byte orders",
          arguments: [KdumpBuilder.Layout.abi64, .pack32, .pad32], [ByteOrder.little, .big])
    func layouts(_ layout: KdumpBuilder.Layout, _ order: ByteOrder) throws {
        for version: Int32 in 1...6 {
            var b = sampleKdump(maxPFN: 130)
            b.layout = layout
            b.order = order
            b.machine = layout == .abi64 ? (order == .little ? "x86_64" : "s390x") : (order == .little ? "i686" : "ppc")
            b.headerVersion = version
            b.physBase = 0x1000000
            b.eraseinfo = "erase mystruct.a 4\n"
            let dump = try openDump(b.build())
            let k = try #require(dump.kdump)
            #expect(k.header.headerVersion == version)
            #expect(k.header.is64 == (layout == .abi64))
            #expect(k.header.order == order)
            #expect(k.subHeader.physBase == 0x1000000)
            #expect(k.subHeader.dumpLevel == 31)
            if layout != .abi64 && version >= 3 {
                #expect(k.subHeader.layout == (layout == .pack32 ? .pack32 : .pad32))
            }
            #expect((dump.vmcoreinfo != nil) == (version >= 3), "v\(version)")
            if version >= 3 { #expect(dump.vmcoreinfo?.osRelease == "6.1.0-test") }
            #expect(k.eraseinfo == (version >= 5 ? "erase mystruct.a 4\n" : nil))
            // The notes hold x86-64 prstatus records: they decode only where the machine is
            // x86-64, or unnamed ("ppc" is not one this reader knows) so the record size decides.
            #expect(dump.cpus.count == (version >= 4 && dump.architecture == .x86_64 ? 2 : 0))
            #expect(dump.architecture == (version >= 4 && b.machine == "ppc" ? .x86_64 : Architecture(machineName: b.machine) ?? .unknown))
            try checkAllPages(dump, b)
        }
    }

    @Test("header version 0 (no sub header) and a single bitmap")
    func oldest() throws {
        var b = sampleKdump(maxPFN: 64)
        b.headerVersion = 0
        b.excluded = []
        b.singleBitmap = true
        let dump = try openDump(b.build())
        #expect(dump.kdump!.singleBitmap)
        #expect(dump.vmcoreinfo == nil)
        try checkAllPages(dump, b)
    }

    @Test("saved CPUs, VMCOREINFO and facts from the notes")
    func facts() throws {
        let dump = try openDump(sampleKdump().build())
        #expect(dump.architecture == .x86_64)
        #expect(dump.cpus.map(\.pid) == [0, 132])
        #expect(dump.cpus[1].pc == 0xffffffff81234567)
        #expect(dump.cpus[1].sp == 0xffffc90000453a28)
        let f = try dump.facts()
        #expect(f.kernel.kernelRelease == "6.1.0-test")
        #expect(f.linux?.physBase == "0xfffffffff5000000")
        #expect(f.linux?.physBaseSource == "VMCOREINFO")
        #expect(f.linux?.kaslrOffset == "0x13a00000")
        #expect(f.linux?.crashTime == 1_795_360_562)
        #expect(f.linux?.crashTimeUTC == "2026-11-22 15:16:02 UTC")
        #expect(f.kernel.hostname == "testhost")
        #expect(f.container.producer == "makedumpfile")
        #expect(f.memory.memoryRanges.first?.start == "0x1000")
    }

    @Test("a QEMU-style header: empty utsname, machine Unknown, architecture from the notes")
    func qemuHeader() throws {
        var b = sampleKdump()
        b.sysname = ""
        b.release = ""
        b.nodename = ""
        b.version = ""
        b.machine = "Unknown"
        b.dumpLevel = 1
        b.physBase = 0x18400000  // QEMU's misparse of the decimal phys_base
        let dump = try openDump(b.build())
        #expect(dump.producer == "QEMU")
        #expect(dump.architecture == .x86_64)
        let f = try dump.facts()
        #expect(f.kernel.kernelRelease == "6.1.0-test")
        #expect(f.linux?.physBase == "0xfffffffff5000000", "VMCOREINFO wins over the QEMU sub header")
    }

    @Test("reads that cross page boundaries")
    func crossPage() throws {
        let b = sampleKdump()
        let dump = try openDump(b.build())
        let bytes = try dump.memory.read(physical: 2 * 4096 - 10, count: 4096 + 10)
        #expect(Array(bytes[0..<10]) == Array(b.pages[1]![4086...]))
        #expect(Array(bytes[10...]) == b.pages[2]!)
        // Running on into PFN 3, which was filtered out, names that page.
        let e = caught { try dump.memory.read(physical: 2 * 4096 - 10, count: 4096 + 20) }
        #expect(e?.description == "test.vmcore: physical address 0x3000 was excluded from the dump: makedumpfile dump level 31 filtered out PFN 0x3")
    }

    @Test("an incomplete dump reads what is there and names what is missing")
    func incomplete() throws {
        var b = sampleKdump()
        b.incompleteAfter = 100
        let dump = try openDump(b.build())
        let k = try #require(dump.kdump)
        #expect(k.isIncomplete)
        let dumped = b.pages.keys.sorted()
        var page = [UInt8](repeating: 0, count: 4096)
        try dump.memory.readPage(dumped[99], into: &page)
        #expect(page == b.pages[dumped[99]]!)
        #expect(dump.memory.state(ofPage: dumped[100]) == .missing)
        let e = caught { try dump.memory.readPage(dumped[100], into: &page) }
        #expect(e?.kind == .excludedPage)
        #expect(e?.description.contains("the dump is incomplete") == true)
        let f = try dump.facts()
        #expect(f.container.incomplete)
        #expect(f.memory.pages.missing == UInt64(dumped.count - 100))
    }

    @Test("a makedumpfile --split set opened together")
    func splitSet() throws {
        let b = sampleKdump()
        let files = b.buildSplit([0..<97, 97..<201, 201..<300])
        let sources = files.enumerated().map { MemorySource(name: "vmcore.\($0.offset)", bytes: $0.element) }
        let dump = try Dump(sources: [sources[2], sources[0], sources[1]])
        #expect(dump.kdump!.parts.count == 3)
        #expect(dump.variant.contains("split set of 3 files"))
        try checkAllPages(dump, b)
        #expect(try dump.facts().memory.pages.present == UInt64(b.pages.count))

        // A missing member: its pages are named, the others still read.
        let partial = try Dump(sources: [sources[0], sources[2]])
        let e = caught { try partial.memory.read(physical: 100 * 4096, count: 8) }
        #expect(e?.description.contains("split file that was not given") == true)
        #expect(try partial.memory.read(physical: 250 * 4096, count: 4096) == b.pages[250]!)

        // An ordinary dump cannot be mixed into a set.
        let e2 = caught { try Dump(sources: [sources[0], MemorySource(name: "plain", bytes: b.build())]) }
        #expect(e2?.description == "plain: is not a file of a makedumpfile --split set: its sub header's split flag is 0; give split files together, or one ordinary dump")
    }

    // MARK: corrupt input

    func corrupt(_ bytes: [UInt8]) -> VMCoreError? {
        caught {
            let d = try openDump(bytes)
            var page = [UInt8](repeating: 0, count: 4096)
            for pfn in 0..<300 where d.memory.state(ofPage: UInt64(pfn)) != .notInDump {
                try? d.memory.readPage(UInt64(pfn), into: &page)
            }
            _ = try d.facts()
            // Read the first dumped page to surface descriptor errors.
            try d.memory.readPage(1, into: &page)
        }
    }

    @Test("a truncated header")
    func truncatedHeader() {
        let bytes = Array(sampleKdump().build().prefix(300))
        #expect(corrupt(bytes)?.description == "test.vmcore: kdump header (464 bytes) runs past the end of the file at offset 0x0: the file has 300 bytes")
    }

    @Test("an insane block size")
    func badBlockSize() {
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = sampleKdump().build()
        w.i32(12345, at: 428)
        #expect(corrupt(w.bytes)?.description.hasPrefix("test.vmcore: corrupt kdump header at offset 0x8: no byte order and word size give a sane header version") == true)
    }

    @Test("bitmaps beyond the end of the file")
    func truncatedBitmap() {
        let b = sampleKdump()
        let bytes = Array(b.build().prefix(4096 * 3 + 100))
        #expect(corrupt(bytes)?.description == "test.vmcore: page bitmaps (2 blocks of 4096 bytes) run past the end of the file at offset 0x2000: the file has 12388 bytes")
    }

    @Test("a bitmap too small for max_mapnr")
    func smallBitmap() {
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = sampleKdump().build()
        w.u64(1 << 40, at: 4096 + 96)  // max_mapnr_64
        #expect(corrupt(w.bytes)?.kind == .corrupt || corrupt(w.bytes)?.kind == .truncated)
        #expect(corrupt(w.bytes)?.description.contains("max_mapnr") == true || corrupt(w.bytes)?.description.contains("bitmaps") == true)
    }

    /// The file offset of PFN 1's descriptor in `sampleKdump()`.
    var firstDescriptor: Int { (1 + 1 + 2) * 4096 }

    @Test("a descriptor whose size exceeds the block size")
    func oversizedPage() {
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = sampleKdump().build()
        w.u32(9000, at: firstDescriptor + 8)
        #expect(corrupt(w.bytes)?.description == "test.vmcore: corrupt page descriptor for PFN 0x1 at offset 0x4000: compressed size 9000 exceeds block size 4096")
    }

    @Test("a descriptor pointing past the end of the file")
    func descriptorPastEnd() {
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = sampleKdump().build()
        w.u64(1 << 40, at: firstDescriptor)
        let e = corrupt(w.bytes)
        #expect(e?.kind == .truncated)
        #expect(e?.description.hasPrefix("test.vmcore: data of PFN 0x1 runs past the end of the file at offset 0x10000000000") == true)
    }

    @Test("unknown compression flags")
    func unknownFlags() {
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = sampleKdump().build()
        w.u32(0x40, at: firstDescriptor + 12)
        #expect(corrupt(w.bytes)?.description == "test.vmcore: corrupt page descriptor for PFN 0x1 at offset 0x4000: unknown compression flags 0x40")
    }

    @Test("compressed data that does not decode")
    func garbageData() throws {
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = sampleKdump().build()
        let r = ByteReader(w.bytes, file: "", base: 0, order: .little)
        let offset = Int(try r.u64(firstDescriptor, ""))
        for i in 0..<16 { w.bytes[offset + i] = 0xA5 }
        #expect(corrupt(w.bytes)?.description == "test.vmcore: corrupt zlib data for PFN 0x1 at offset \(hex(offset)): the zlib stream does not decode")
    }

    @Test("a descriptor table cut short opens; its pages without descriptors are missing")
    func truncatedDescriptors() throws {
        let bytes = Array(sampleKdump().build().prefix(4 * 4096 + 100))
        let dump = try openDump(bytes)
        // Four descriptors made it (their pages' data did not); the rest of the table did not.
        let dumped = (0..<300).filter { dump.memory.state(ofPage: UInt64($0)) == .missing }
        #expect(dumped.count == sampleKdump().pages.count)
        let last = try #require(dumped.last)
        let error = caught { try dump.memory.read(physical: UInt64(last) * 4096, count: 8) }
        #expect(error?.description.hasPrefix("test.vmcore: physical address \(hex(last * 4096)) is missing at offset") == true)
        #expect(error?.description.hasSuffix("the file ends inside the page descriptor table: it holds 4 of \(dumped.count) descriptors") == true)
    }

    @Test("a hostile split range")
    func hostileSplit() {
        let files = sampleKdump().buildSplit([0..<100, 100..<300])
        var w = ByteWriter(count: 0, order: .little)
        w.bytes = files[0]
        w.u64(1 << 50, at: 4096 + 88)  // end_pfn_64
        let e = caught { try Dump(sources: [MemorySource(name: "a", bytes: w.bytes), MemorySource(name: "b", bytes: files[1])]) }
        #expect(e?.description == "a: corrupt split range at offset 0x1000: PFNs 0x0-0x4000000000000 exceed max_mapnr 0x12c")
    }
}
