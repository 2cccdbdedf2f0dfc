import Testing
import VMCore
import VMCoreTestSupport

@Suite("x86-64 page-table walks")
struct TranslationTests {
    func walker(_ b: PageTableBuilder) throws -> KernelAddressSpace {
        let dump = try Dump(sources: [MemorySource(name: "mem.raw", bytes: b.memory)], rawBase: 0)
        return KernelAddressSpace(memory: dump.memory, form: X86_64Paging(fiveLevel: b.fiveLevel), root: b.root, file: "mem.raw")
    }

    @Test("mappings of a range: pages and blocks in address order with their flags; a table that points at itself ends")
    func mappings() throws {
        var b = PageTableBuilder(size: 8 << 20)
        b.map(0xffff_ffff_c000_3000, to: 0x30_0000, flags: 0x8000_0000_0000_0063)  // RW, NX
        b.map(0xffff_ffff_c000_1000, to: 0x31_0000)
        b.map(0xffff_ffff_c020_0000, to: 0x40_0000, size: 1 << 21)
        b.map(0xffff_ffff_8100_0000, to: 0x20_0000, size: 1 << 21)  // outside the range asked for
        let space = try walker(b)
        let found = space.mappings(in: 0xffff_ffff_c000_0000...0xffff_ffff_feff_ffff)
        #expect(found.map(\.virtual) == [0xffff_ffff_c000_1000, 0xffff_ffff_c000_3000, 0xffff_ffff_c020_0000])
        #expect(found.map(\.size) == [4096, 4096, 1 << 21])
        #expect(found.map(\.physical) == [0x31_0000, 0x30_0000, 0x40_0000])
        #expect(found[1].flags.contains("NX") && found[1].flags.contains("RW"))
        #expect(space.mappings(in: 0xffff_ffff_c000_0000...0xffff_ffff_feff_ffff, limit: 2).count == 2)
        // Every PML4 entry pointing back at the PML4: the walk ends within its entry budget.
        var loop = PageTableBuilder(size: 4 << 20)
        for i in 0..<512 { loop.setEntry(loop.root + UInt64(i * 8), loop.root | 0x63) }
        let looped = try walker(loop)
        #expect(looped.mappings(in: 0...UInt64.max).count <= 1 << 20)
    }

    @Test("4 KiB, 2 MiB and 1 GiB pages, 4- and 5-level", arguments: [false, true])
    func pageSizes(_ five: Bool) throws {
        var b = PageTableBuilder(size: 8 << 20, fiveLevel: five)
        let high: UInt64 = five ? 0xff11_0000_0000_0000 : 0xffff_8880_0000_0000
        b.map(0xffff_ffff_8100_0000, to: 0x20_0000, size: 1 << 21, flags: 0x8000_0000_0000_0163)  // NX, G, D, A
        b.map(high + 0x1234_5000, to: 0x30_2000, flags: 0x7ff0_0000_0000_0003)  // software/protection-key bits
        b.map(0xffff_c900_0000_0000, to: 0x4000_0000, size: 1 << 30, flags: 0x1003)  // PAT bit 12 in a large page
        let w = try walker(b)
        let t1 = try w.translate(0xffff_ffff_8112_3456)
        #expect(t1.physical == 0x32_3456)
        #expect(t1.pageSize == 1 << 21)
        #expect(t1.steps.map(\.level) == (five ? ["pgd", "p4d", "pud", "pmd"] : ["pgd", "pud", "pmd"]))
        #expect(t1.steps.last!.flags == ["P", "RW", "A", "D", "PS", "G", "NX"])
        #expect(try w.translate(high + 0x1234_5678).physical == 0x30_2678)
        let t3 = try w.translate(0xffff_c900_0123_4567)
        #expect(t3.physical == 0x4123_4567)
        #expect(t3.pageSize == 1 << 30)
        // Reads through the cache: a second read walks nothing new and returns the same.
        #expect(try w.read(virtual: 0xffff_ffff_8100_0ff8, count: 16) == Array(b.memory[0x20_0ff8..<0x20_1008]))
        #expect(try w.physical(0xffff_ffff_8100_0ff8) == 0x20_0ff8)
    }

    @Test("errors name the level, index and entry")
    func notPresent() throws {
        var b = PageTableBuilder(size: 4 << 20)
        b.map(0xffff_ffff_8100_0000, to: 0x20_0000, size: 1 << 21)
        let w = try walker(b)
        let e = caught { try w.translate(0xffff_ffff_8120_0000) }
        #expect(e?.kind == .translation)
        #expect(e?.description == "mem.raw: PMD not present: pmd[9] = 0x0 while translating 0xffffffff81200000")
        #expect(caught { try w.translate(0x0000_8000_0000_0000) }?.description
                == "mem.raw: 0x800000000000 is not a canonical address: bits 47-63 must all be equal for x86-64 4-level paging")
    }

    @Test("an entry pointing outside memory ends the walk with an error")
    func outsideMemory() throws {
        var b = PageTableBuilder(size: 4 << 20)
        let slot = b.map(0xffff_ffff_8100_0000, to: 0x20_0000)
        // Point the PMD entry (the table above the PTE) far beyond the image.
        let va: UInt64 = 0xffff_ffff_8100_0000
        let pmdSlot = b.root + 4096 * 2 + ((va >> 21) & 511) * 8
        b.setEntry(pmdSlot, 0x7_0000_0000 | 0x63)
        _ = slot
        let w = try walker(b)
        let e = caught { try w.translate(0xffff_ffff_8100_0000) }
        #expect(e?.description.hasPrefix("mem.raw: PTE table at physical 0x700000000 is not readable while translating 0xffffffff81000000: pte[0]: physical address 0x700000000 is not in the dump") == true)
    }

    @Test("a self-referencing table cannot loop: a walk has one step per level")
    func selfReference() throws {
        var b = PageTableBuilder(size: 1 << 20, tablesAt: 0x1000)
        // Every PGD entry points back at the PGD itself.
        for i in 0..<512 { b.setEntry(b.root + UInt64(i) * 8, b.root | 0x63) }
        let w = try walker(b)
        let t = try w.translate(0xffff_ffff_ffff_f000)
        #expect(t.steps.count == 4)
        #expect(t.physical == b.root)
    }
}
