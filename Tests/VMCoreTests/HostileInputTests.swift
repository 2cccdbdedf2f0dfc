import Foundation
import Testing
import VMCore
import VMCoreFuzzing
import VMCoreTestSupport

/// Damaged dumps of the kinds a mutation campaign found trapping or hanging the readers: each
/// must give a one-line error (or open with what it holds) and answer quickly.
@Suite("hostile input")
struct HostileInputTests {
    /// Writes `value` little-endian into `bytes` at `offset`.
    static func put(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64, width: Int = 8) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }

    /// Runs `body` and checks it took less than `limit` seconds.
    static func quick<T>(_ limit: Double = 2, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        let value = try body()
        #expect(Date().timeIntervalSince(start) < limit)
        return value
    }

    static func smallKdump() -> [UInt8] {
        var k = KdumpBuilder(maxPFN: 64)
        k.pages = [1: patternPage(1), 5: patternPage(5), 9: patternPage(9)]
        k.excluded = [2, 3]
        k.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n"
        return k.build()
    }

    @Test("kdump: a dumped bitmap with pages the existing bitmap lacks gives page counts, not a trap")
    func dumpedBeyondExisting() throws {
        var bytes = Self.smallKdump()
        // Second bitmap: after the header block, one sub-header block and the first bitmap.
        let h = try DiskDumpHeader(from: MemorySource(name: "k", bytes: bytes))
        let block = Int(h.blockSize), each = Int(h.bitmapBlocks) / 2 * block
        let second = (1 + Int(h.subHeaderBlocks)) * block + each
        bytes[second + 2] = 0xff  // PFNs 16-23: dumped, never existing
        let dump = try openDump(bytes, name: "k.kdump")
        let facts = try dump.facts()
        #expect(facts.memory.pages.excluded == 0)
        #expect(dump.memory.state(ofPage: 17) == .notInDump)
    }

    @Test("kdump: a block size and bitmap size whose product overflows is a corrupt header")
    func headerGuessOverflow() throws {
        var bytes = Self.smallKdump()
        Self.put(&bytes, 428, 0x7fff_ffff, width: 4)  // block_size
        Self.put(&bytes, 436, 0xffff_ffff, width: 4)  // bitmap_blocks
        let error = try #require(caught { try openDump(bytes, name: "k.kdump") })
        #expect(error.kind == .corrupt)
        #expect(error.description.hasPrefix("k.kdump: corrupt kdump header"))
    }

    @Test("kdump: max_mapnr_64 near 2^64 is refused with the bitmap's size")
    func hugeMaxMapnr() throws {
        var bytes = Self.smallKdump()
        Self.put(&bytes, 4096 + 96, 0xffff_ffff_ffff_fff9)
        let error = try #require(caught { try openDump(bytes, name: "k.kdump") })
        #expect(error.description.contains("page bitmap too small"))
        #expect(!error.description.contains("\n"))
    }

    @Test("kdump: a file cut inside its page descriptor table opens with its header, notes and VMCOREINFO")
    func cutInsideDescriptorTable() throws {
        let whole = Seeds.printkKernel().buildKdump(compression: .zlib)
        let source = MemorySource(name: "whole", bytes: whole)
        let h = try DiskDumpHeader(from: source)
        let block = Int(h.blockSize)
        let table = (1 + Int(h.subHeaderBlocks) + Int(h.bitmapBlocks)) * block
        let cut = Array(whole[0..<table + 24 * 3 + 10])
        let dump = try Self.quick { try openDump(cut, name: "cut.kdump") }
        #expect(dump.vmcoreinfo?.osRelease == "5.4.0-test")
        let facts = try dump.facts()
        #expect(facts.memory.pages.missing > 0)
        #expect(facts.warnings.contains { $0.contains("ends inside its page descriptor table") })
        // The pages whose descriptors are gone say so, naming the file and the offset.
        let stored = try openDump(whole).memory.storedPageRuns().flatMap { Array($0) }
        let lost = try #require(stored.last)
        let error = try #require(caught { try dump.memory.read(physical: lost * 4096, count: 8) })
        #expect(error.description.hasPrefix("cut.kdump: physical address"))
        #expect(error.description.contains("the file ends inside the page descriptor table"))
        // The log needs pages the cut file lacks: dmesg says which, in one line.
        let log = try #require(caught { try dump.kernel().messages() })
        #expect(log.file == "cut.kdump")
        #expect(dump.memory.scanStoredPages(threads: 1).pagesRead <= 3)
    }

    @Test("flattened: a kdump stream cut before its last page reads every page that arrived; dmesg works")
    func cutFlattenedStream() throws {
        var kernel = Seeds.printkKernel()
        // A page above everything else, so it is the one the cut loses.
        kernel.tables.memory.replaceSubrange((15 << 20)..<(15 << 20) + 4096, with: patternPage(0xf00))
        let kdump = kernel.buildKdump(compression: .zlib)
        var flat = FlattenedBuilder()
        flat.recordSize = 512
        flat.endMarker = false
        let stream = flat.build(kdump)
        // Drop the last record (header and data) and a little of the one before.
        let lastRecord = 16 + (kdump.count % 512 == 0 ? 512 : kdump.count % 512)
        let cut = Array(stream.prefix(stream.count - lastRecord - 100))
        let dump = try Self.quick { try openDump(cut, name: "cut.flat") }
        let facts = try dump.facts()
        #expect(facts.memory.pages.missing >= 1)
        #expect(facts.warnings.contains { $0.contains("no end record") })
        let log = try dump.kernel().messages()
        #expect(log.entries.contains { $0.formatted(withLevel: false).hasSuffix("Kernel panic - not syncing: sysrq triggered crash") })
    }

    @Test("kdump: the committed real dump cut at 200 KiB opens and keeps its VMCOREINFO")
    func realDumpCut() throws {
        let url = committedFixtures.appendingPathComponent("linux-6.1-small/vmcore.kdump-zlib-d31-split")
        let head = [UInt8](try Data(contentsOf: url).prefix(200 << 10))
        let dump = try Self.quick { try openDump(head, name: "head.kdump") }
        #expect(dump.vmcoreinfo?.osRelease == "6.1.0-56-cloud-amd64")
        let facts = try dump.facts()
        #expect(facts.memory.pages.missing > 0)
    }

    @Test("ELF: a p_offset near 2^64 reads as an error, not a trap")
    func hugeProgramOffset() throws {
        var b = ELFCoreBuilder()
        b.segments = [.init(physicalAddress: 0x1000, data: patternPage(1))]
        var bytes = b.build()
        let elf = try ELFCore(source: MemorySource(name: "e", bytes: bytes))
        let load = try #require(elf.programHeaders.firstIndex { $0.type == 1 })
        let at = Int(elf.header.programHeaderOffset) + load * Int(elf.header.programHeaderEntrySize)
        Self.put(&bytes, at + 8, 0xffff_ffff_ffff_f000)  // the PT_LOAD's p_offset
        let dump = try openDump(bytes, name: "e.elf")
        let error = try #require(caught { try dump.memory.read(physical: 0x1000, count: 16) })
        #expect(error.file == "e.elf")
    }

    @Test("ELF: a segment claiming 2^40 bytes of memory takes no longer than the file")
    func hugeMemorySize() throws {
        var b = ELFCoreBuilder()
        b.segments = [.init(physicalAddress: 0x10_0000, data: patternPage(0x100), memorySize: 1 << 40)]
        let bytes = b.build()
        let outcome = Self.quick { DumpTargets_exercise(bytes) }
        #expect(outcome.errors.allSatisfy { !$0.contains("\n") })
        let dump = try openDump(bytes)
        #expect(dump.memory.scanStoredPages(threads: 1).pagesRead == 1)
    }

    @Test("FreeBSD i386 minidump: one flipped bit in dump_avail answers in well under a second")
    func flippedDumpAvail() throws {
        let builder = Seeds.minidumpBuilder(.i386)
        var bytes = builder.build()
        let ps = 4096
        let msgbuf = Int(try FreeBSDMinidumpHeader(source: MemorySource(name: "m", bytes: bytes)).messageBufferSize)
        let avail = ps + (msgbuf + ps - 1) / ps * ps
        // The second range's end: 0x2000000 becomes 0x2000_0200_0000 (bit 45).
        Self.put(&bytes, avail + 24, 0x2000000 | 1 << 45)
        let outcome = Self.quick(1) { FuzzTarget.named("minidump")!.run(bytes) }
        #expect(outcome.errors.allSatisfy { !$0.contains("\n") })
    }

    @Test("FreeBSD full dump: a damaged message buffer blames the dump, not the kernel file")
    func fullDumpBlamesDump() throws {
        var seed = Seeds.freebsdFull()[0].bytes
        // msgbufp's target (struct msgbuf at 0x203000): break msg_magic.
        let dump0 = try Dump(sources: [MemorySource(name: "full.elf", bytes: seed)],
                             kernel: FreeBSDKernel(symbols: ELFSymbolTable(source: Seeds.freebsdKernelFile)))
        let elf = try #require(dump0.elf)
        let header = try #require(elf.programHeaders.first { $0.type == 1 && $0.physicalAddress == 0x203000 })
        seed[Int(header.offset) + 8] ^= 0xff
        let dump = try Dump(sources: [MemorySource(name: "full.elf", bytes: seed)],
                            kernel: FreeBSDKernel(symbols: ELFSymbolTable(source: Seeds.freebsdKernelFile)))
        let error = try #require(caught { try dump.kernel().messages() })
        #expect(error.file == "full.elf")
        #expect(error.description.contains("msg_magic"))
    }
}

extension HostileInputTests {
    @Test("printk: VMCOREINFO offsets near 2^64 read as absent; the log says what is missing")
    func hugeVMCOREINFOOffsets() throws {
        var kernel = Seeds.printkKernel()
        kernel.vmcoreinfo = kernel.vmcoreinfo.map {
            $0.hasPrefix("OFFSET(printk_ringbuffer.desc_ring)=") ? "OFFSET(printk_ringbuffer.desc_ring)=fffffffffffffff0" : $0
        }
        let dump = try openDump(kernel.buildKdump(), name: "p.kdump")
        let error = try #require(caught { try dump.kernel().messages() })
        #expect(error.description == "p.kdump: cannot read the kernel log: VMCOREINFO lacks OFFSET(printk_ringbuffer.desc_ring)")
    }

    @Test("printk: a structure size of 1 MiB or more reads as absent, before anything is allocated")
    func hugePrintkArrays() throws {
        var kernel = Seeds.printkKernel()
        kernel.vmcoreinfo = kernel.vmcoreinfo.map { $0.hasPrefix("SIZE(printk_info)=") ? "SIZE(printk_info)=1048576" : $0 }
        let dump = try openDump(kernel.buildKdump(), name: "p.kdump")
        let error = try #require(caught { try dump.kernel().messages() })
        #expect(error.description == "p.kdump: cannot read the kernel log: VMCOREINFO lacks SIZE(printk_info)")
    }

    @Test("VMCOREINFO: a PAGESIZE of 2^62 is ignored and a CRASHTIME near -2^63 still formats")
    func absurdVMCOREINFONumbers() throws {
        var b = ELFCoreBuilder()
        b.segments = [.init(physicalAddress: 0x1000, data: patternPage(1))]
        b.notes = [ELFNote(name: "VMCOREINFO", type: 0,
                           descriptor: Array("OSRELEASE=6.1.0\nPAGESIZE=4611686018427387904\nCRASHTIME=-9223372036854775808\n".utf8))]
        let dump = try openDump(b.build(), name: "v.elf")
        #expect(dump.pageSize == 4096)
        _ = try dump.facts()
        #expect(formatUTC(Int64.min).hasSuffix("UTC"))
        #expect(dump.memory.scanStoredPages(threads: 1).pagesRead == 1)
    }

    @Test("panic: a log whose timestamps run backwards still names the panic")
    func backwardsTimestamps() {
        let records = [
            LogRecord(sequence: 0, timestampNanoseconds: 90_000_000_000, level: 0, facility: 0, caller: nil, text: "BUG: unable to handle page fault for address: 0000000000000000"),
            LogRecord(sequence: 1, timestampNanoseconds: 5, level: 0, facility: 0, caller: nil, text: "Kernel panic - not syncing: Fatal exception"),
        ]
        let summary = PanicSummary(records: records)
        #expect(summary?.kind == "BUG")
        #expect(summary?.panicMessage == "Kernel panic - not syncing: Fatal exception")
    }
}

extension HostileInputTests {
    @Test("kdump: an existing-page bitmap of alternating bits (millions of ranges) is corrupt; runCount counts runs")
    func alternatingBitmap() throws {
        let bits = PageBitmap(bytes: [0b1011_0110, 0xff, 0, 0x01], bitCount: 32)
        #expect(bits.runCount == UInt64(bits.runs().count))
        var k = KdumpBuilder(maxPFN: 1 << 22)
        k.pages = [1: patternPage(1)]
        k.excluded = Set(stride(from: UInt64(3), to: 1 << 22, by: 2))
        let error = try #require(caught { try openDump(k.build(), name: "alt.kdump") })
        #expect(error.description.hasPrefix("alt.kdump: corrupt page bitmap"))
    }
}

/// What every command does with `bytes` as one dump file (the `elf` fuzz target's work).
func DumpTargets_exercise(_ bytes: [UInt8]) -> FuzzTarget.Outcome {
    FuzzTarget.named("elf")!.run(bytes)
}
