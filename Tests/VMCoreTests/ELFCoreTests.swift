import Testing
import VMCore
import VMCoreTestSupport

@Suite("ELF core reader")
struct ELFCoreTests {
    func sample(is64: Bool = true, order: ByteOrder = .little, qemu: Bool = false) -> ELFCoreBuilder {
        var b = ELFCoreBuilder()
        b.is64 = is64
        b.order = order
        b.machine = is64 ? 62 : 3
        b.qemuLayout = qemu
        b.segments = [
            .init(physicalAddress: 0x1000, data: patternPage(1) + patternPage(2)),
            // Not page-aligned at its end, like /proc/vmcore's 0x1000-0x9fbff.
            .init(physicalAddress: 0x100000, data: Array(patternPage(0x100)[0..<3000]), memorySize: 3000),
            // p_memsz beyond p_filesz reads as zero.
            .init(physicalAddress: 0x200000, data: patternPage(0x200), memorySize: 3 * 4096),
        ]
        let prstatus: [UInt8] = is64 ? x86_64PRStatus(pid: 7, rip: 0xffffffff81000000, rsp: 0xffffc90000001000, order: order)
                                     : [UInt8](repeating: 0, count: 144)
        b.notes = [ELFNote(name: "CORE", type: 1, descriptor: prstatus),
                   ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array("OSRELEASE=5.10.0\nPAGESIZE=4096\nCRASHTIME=1700000000\n".utf8))]
        return b
    }

    @Test("32- and 64-bit, both byte orders, kdump and QEMU layouts",
          arguments: [true, false], [ByteOrder.little, .big])
    func classes(_ is64: Bool, _ order: ByteOrder) throws {
        for qemu in [false, true] {
            let dump = try openDump(sample(is64: is64, order: order, qemu: qemu).build())
            let e = try #require(dump.elf)
            #expect(e.header.is64 == is64)
            #expect(dump.byteOrder == order)
            #expect(dump.architecture == (is64 ? .x86_64 : .i386))
            #expect(dump.vmcoreinfo?.osRelease == "5.10.0")
            #expect(dump.cpus.count == 1)
            if is64 {
                #expect(dump.cpus[0].pid == 7)
                #expect(dump.cpus[0].pc == 0xffffffff81000000)
            }
            #expect(try dump.memory.read(physical: 0x1000, count: 8192) == patternPage(1) + patternPage(2))
            #expect(try dump.memory.read(physical: 0x100000 + 2990, count: 10) == Array(patternPage(0x100)[2990..<3000]))
            #expect(try dump.memory.read(physical: 0x200000 + 4090, count: 12) == Array(patternPage(0x200)[4090...]) + [UInt8](repeating: 0, count: 6))
            #expect(dump.memory.state(ofPage: 0x201) == .zero)
            #expect(dump.memory.state(ofPage: 0x100) == .present)
            #expect(dump.memory.state(ofPage: 0x50) == .notInDump)
            #expect(dump.memory.ranges == [PhysicalRange(start: 0x1000, end: 0x3000), PhysicalRange(start: 0x100000, end: 0x100000 + 3000),
                                           PhysicalRange(start: 0x200000, end: 0x203000)])
            #expect(dump.producer == (qemu ? "QEMU" : "kernel"))
            let counts = e.pageCounts()
            #expect(counts.present == 2 + 1 + 3)
            #expect(counts.zero == 2)
        }
    }

    @Test("a hole and the end of memory are errors that name the address")
    func holes() throws {
        let dump = try openDump(sample().build())
        let e = caught { try dump.memory.read(physical: 0x2ff0, count: 32) }
        #expect(e?.description == "test.vmcore: physical address 0x3000 is not in the dump: no PT_LOAD segment holds it")
    }

    @Test("segments describing the same memory twice are merged (kdump kernel text, QEMU paging)")
    func duplicates() throws {
        var b = sample()
        b.segments.append(.init(physicalAddress: 0x1000, virtualAddress: 0xffffffff81000000, data: [], memorySize: 0x2000, sharesDataWith: 0))
        b.segments.append(.init(physicalAddress: 0x2000, virtualAddress: 0xffffffff81001000, data: patternPage(2)))
        let dump = try openDump(b.build())
        #expect(try dump.memory.read(physical: 0x1000, count: 8192) == patternPage(1) + patternPage(2))
        #expect(dump.memory.ranges.count == 3)
    }

    @Test("more than 65535 program headers (PN_XNUM)")
    func extendedNumbering() throws {
        var b = sample()
        b.emptyLoads = 70_000
        let bytes = b.build()
        let dump = try openDump(bytes)
        #expect(dump.elf!.header.programHeaderCount == 0xffff)
        #expect(dump.elf!.programHeaders.count == 1 + 3 + 70_000)
        #expect(try dump.memory.read(physical: 0x1000, count: 4096) == patternPage(1))
    }

    @Test("an incomplete makedumpfile ELF is flagged")
    func incompleteFlag() throws {
        var b = sample()
        b.flags = 1
        #expect(try openDump(b.build()).facts().container.incomplete)
    }

    // MARK: corrupt input

    @Test("not a core file")
    func notCore() {
        var b = sample()
        b.type = 2
        #expect(caught { try openDump(b.build()) }?.description.contains("unknown dump format") == true)
        #expect(caught { try ELFCore(source: MemorySource(name: "exe", bytes: b.build())) }?.description
                == "exe: not an ELF core file at offset 0x10: e_type is 2, expected 4 (ET_CORE)")
    }

    @Test("a program header table past the end of the file")
    func truncatedTable() {
        let bytes = Array(sample().build().prefix(100))
        #expect(caught { try openDump(bytes) }?.description
                == "test.vmcore: program header table (4 entries) runs past the end of the file at offset 0x40: the file has 100 bytes")
    }

    @Test("a note whose size lies")
    func lyingNote() {
        let b = sample()
        var w = ByteWriter(order: .little)
        w.bytes = b.build()
        let notesAt = 64 + 4 * 56
        let notesSize = encodeNotes(b.notes, order: .little).count
        w.u32(0x7fff_fff0, at: notesAt + 4)
        #expect(caught { try openDump(w.bytes) }?.description
                == "test.vmcore: corrupt ELF note header at offset \(hex(notesAt)): name size 5 and descriptor size 2147483632 run past the note area's end (\(notesSize) bytes left)")
    }

    @Test("a file cut short inside a segment")
    func truncatedData() throws {
        let full = sample().build()
        let bytes = Array(full.prefix(full.count - 4096 - 100))
        let dump = try openDump(bytes)
        #expect(dump.elf!.isTruncated)
        #expect(dump.memory.state(ofPage: 0x200) == .missing)
        let e = caught { try dump.memory.read(physical: 0x200000 + 4000, count: 8) }
        #expect(e?.kind == .truncated)
        #expect(e?.description.hasPrefix("test.vmcore: physical address 0x200fa0 is missing: the file ends before its segment's data") == true)
        #expect(try dump.facts().warnings == ["the file ends before the data its program headers describe"])
    }

    @Test("a segment that wraps the address space")
    func wrapping() {
        var b = sample()
        b.segments = [.init(physicalAddress: UInt64.max - 10, data: [1, 2, 3], memorySize: 100)]
        #expect(caught { try openDump(b.build()) }?.description.contains("wraps around the address space") == true)
    }
}
