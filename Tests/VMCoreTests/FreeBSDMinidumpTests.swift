import Testing
import VMCore
import VMCoreTestSupport

@Suite("FreeBSD/amd64 minidumps")
struct FreeBSDMinidumpTests {
    /// Kernel text at kernbase + 2 MiB (a large page to 0x200000), a 4 KiB mapping at
    /// kernbase + 4 MiB through a page table at 0x5000, and a message buffer.
    func sample(version: UInt32) -> FreeBSDMinidumpBuilder {
        var b = FreeBSDMinidumpBuilder()
        b.version = version
        if version < 3 { b.dumpAvail = [] }
        for pfn in UInt64(0x200)..<0x400 { b.pages[pfn] = patternPage(pfn) }   // the 2 MiB large page
        b.pages[0x10] = patternPage(0x10)
        b.pages[0x700] = patternPage(0x700)
        b.mapLarge(b.kernelBase + (2 << 20), to: 0x200000)
        if version >= 2 {
            b.map(b.kernelBase + (4 << 20) + 0x3000, to: 0x700000, tableAt: 0x5000)
        }
        b.messageBuffer = Array("FreeBSD 14.1-RELEASE releng/14.1-n267679 GENERIC amd64\npanic: page fault\ncpuid = 1\nKDB: stack backtrace:\n#0 0xffffffff80b9009d at kdb_backtrace+0x5d\n#1 0xffffffff80b43132 at vpanic+0x132\n".utf8)
            + [UInt8](repeating: 0, count: 200)
        return b
    }

    @Test("physical pages, page states and kernel virtual reads", arguments: [UInt32(2), 3])
    func reads(_ version: UInt32) throws {
        let b = sample(version: version)
        let dump = try openDump(b.build(), name: "vmcore.0")
        let m = try #require(dump.minidump)
        #expect(dump.format == .freebsdMinidump)
        #expect(dump.variant == "FreeBSD/amd64 minidump v\(version)")
        #expect(dump.operatingSystem == .freebsd)
        #expect(try dump.memory.read(physical: 0x10000, count: 4096) == patternPage(0x10))
        #expect(dump.memory.state(ofPage: 0x11) == .excluded)
        #expect(try dump.memory.read(physical: 0x2ff000, count: 8192) == patternPage(0x2ff) + patternPage(0x300))
        // The large page, the 4 KiB mapping through a dumped page table, and the direct map.
        let text = try m.translate(b.kernelBase + (2 << 20) + 0x1234)
        #expect(text.physical == 0x201234)
        #expect(text.pageSize == 1 << 21)
        #expect(try m.read(virtual: b.kernelBase + (2 << 20) + 0x5000, count: 4096) == patternPage(0x205))
        let small = try m.translate(b.kernelBase + (4 << 20) + 0x3010)
        #expect(small.physical == 0x700010)
        #expect(small.steps.map(\.level) == ["pde", "pte"])
        #expect(try m.read(virtual: b.directMapBase + 0x10000, count: 16) == Array(patternPage(0x10).prefix(16)))
        // Errors name what is missing.
        #expect(caught { try m.translate(b.kernelBase + (6 << 20)) }?.description.contains("beyond the kernel address space") == true)
        #expect(caught { try m.translate(b.kernelBase) }?.description == "vmcore.0: PDE not present: pde[0] = 0x0 while translating \(hex(b.kernelBase))")
        #expect(caught { try m.translate(0xffff_ffff_8000_0000 - 0x1000_0000_0000) }?.kind == .translation)
        #expect(caught { try dump.memory.read(physical: 0x11000, count: 1) }?.description
                == "vmcore.0: physical address 0x11000 is not in the minidump: minidumps keep only the kernel's pages; PFN 0x11 was not dumped")
    }

    @Test("version 1: the pmap holds PTEs for every 4 KiB of KVA")
    func versionOne() throws {
        var b = FreeBSDMinidumpBuilder()
        b.version = 1
        b.dumpAvail = []
        b.pages[0x42] = patternPage(0x42)
        b.pmap = [0, 0x42000 | 3]
        let m = try #require(try openDump(b.build()).minidump)
        #expect(try m.read(virtual: b.kernelBase + 0x1008, count: 8) == Array(patternPage(0x42)[8..<16]))
    }

    @Test("info and dmesg: the message buffer gives the version, the panic and its backtrace")
    func facts() throws {
        let dump = try openDump(sample(version: 3).build())
        let f = try dump.analyzedFacts()
        #expect(f.container.format == .freebsdMinidump)
        #expect(f.kernel.kernelRelease == "14.1-RELEASE")
        #expect(f.kernel.panic?.message == "panic: page fault")
        #expect(f.kernel.panic?.cpu == 1)
        #expect(f.kernel.panic?.callTrace == ["#0 0xffffffff80b9009d at kdb_backtrace+0x5d", "#1 0xffffffff80b43132 at vpanic+0x132"])
        #expect(f.memory.pages.present == 515)  // the large page, two more, and the page table
        #expect(f.freebsd?.messageBufferOrder == "buffer not yet wrapped (unwritten bytes are NUL)")
    }

    @Test("a wrapped message buffer is ordered by the kernel's struct msgbuf")
    func wrappedBuffer() throws {
        var b = sample(version: 3)
        let text = Array("oldest line\nnewest line\n".utf8)
        // The ring after wrapping: the write position is 12, so "newest line\n" comes first in storage.
        b.messageBuffer = Array(text[12...]) + Array(text[..<12])
        // struct msgbuf { char *msg_ptr; u_int msg_magic, msg_size, msg_wseq, msg_rseq; … } in a dumped page.
        var page = [UInt8](repeating: 0, count: 4096)
        var w = ByteWriter(order: .little)
        w.bytes = page
        w.u64(0xffff_fe00_0040_0000, at: 256)
        w.u32(0x063062, at: 264)
        w.u32(UInt32(text.count), at: 268)
        w.u32(UInt32(text.count * 3 + 12), at: 272)
        page = w.bytes
        b.pages[0x800] = page
        let m = try #require(try openDump(b.build()).minidump)
        let seq = FreeBSDMessageBuffer.findWriteSequence(in: m, size: m.messageBufferSize, pointerSize: 8, isKernelPointer: m.isKernelAddress)
        #expect(seq == UInt32(text.count * 3 + 12))
        let ordered = FreeBSDMessageBuffer(ring: try m.messageBuffer(), writeSequence: seq)
        #expect(ordered.text == "oldest line\nnewest line\n")
        #expect(ordered.source == "struct msgbuf (write position 12)")

        // amd64 kernels point msg_ptr into the direct map; a user address is no msg_ptr.
        for (pointer, found) in [(b.directMapBase + 0x7f0_0000, true), (UInt64(0x0000_7fff_ffff_f000), false)] {
            w.bytes = page
            w.u64(pointer, at: 256)
            b.pages[0x800] = w.bytes
            let other = try #require(try openDump(b.build()).minidump)
            #expect((try FreeBSDMessageBuffer(minidump: other).text == "oldest line\nnewest line\n") == found)
        }
    }

    @Test("corrupt and truncated minidumps")
    func corrupt() {
        let full = sample(version: 3).build()
        #expect(caught { try openDump(Array(full.prefix(full.count - 8192)), name: "vmcore.1") }?.description
                == "vmcore.1: minidump is truncated at offset \(hex(4096 * 5)): the bitmap marks 515 pages, the file holds 513")
        var w = ByteWriter(order: .little)
        w.bytes = full
        w.u32(9, at: 24)
        #expect(caught { try openDump(w.bytes, name: "vmcore.2") }?.description == "vmcore.2: unknown amd64 minidump version 9 at offset 0x18: expected 1 to 3")
        w.bytes = full
        w.u32(0x7fff_0000, at: 32)
        #expect(caught { try openDump(w.bytes, name: "vmcore.3") }?.kind == .truncated)
    }
}
