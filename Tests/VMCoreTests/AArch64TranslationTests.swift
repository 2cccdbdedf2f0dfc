import Testing
import VMCore
import VMCoreTestSupport

/// Every granule and VA width a Linux arm64 kernel runs with, walked over tables built in code:
/// pages, blocks, contiguous runs, and output addresses above 48 bits in the 52-bit formats.
@Suite("aarch64 page-table walks")
struct AArch64TranslationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var granule: UInt64
        var bits: Int
        var descriptors: AArch64Paging.Descriptors
        var levels: [String]
        var testDescription: String { "\(granule / 1024)K/\(bits) \(descriptors)" }
    }

    static let cases: [Case] = [
        Case(granule: 4096, bits: 39, descriptors: .base, levels: ["l1", "l2", "l3"]),
        Case(granule: 4096, bits: 48, descriptors: .base, levels: ["l0", "l1", "l2", "l3"]),
        Case(granule: 4096, bits: 52, descriptors: .lpa2, levels: ["l-1", "l0", "l1", "l2", "l3"]),
        Case(granule: 16384, bits: 47, descriptors: .base, levels: ["l1", "l2", "l3"]),
        Case(granule: 16384, bits: 52, descriptors: .lpa2, levels: ["l0", "l1", "l2", "l3"]),
        Case(granule: 65536, bits: 42, descriptors: .base, levels: ["l2", "l3"]),
        Case(granule: 65536, bits: 48, descriptors: .base, levels: ["l1", "l2", "l3"]),
        Case(granule: 65536, bits: 52, descriptors: .lpa, levels: ["l1", "l2", "l3"]),
    ]

    /// The lowest kernel (TTBR1) address of the form: bits `bits`–63 set.
    func kernelBase(_ bits: Int) -> UInt64 { UInt64.max << UInt64(bits) }

    @Test("pages, blocks and contiguous runs", arguments: cases)
    func walks(_ c: Case) throws {
        let form = AArch64Paging(granule: c.granule, virtualBits: c.bits, descriptors: c.descriptors)
        #expect(form.levels.map(\.name) == c.levels)
        #expect(form.levels.first!.shift + form.levels.first!.bits == c.bits)
        let g = c.granule
        var b = AArch64TableBuilder(form: form, size: Int(g) * 24, tablesAt: g)
        let wide = c.descriptors != .base
        // Output addresses use every PA bit the format has.
        let highPA: UInt64 = wide ? 0x000f_0000_0000_0000 : 0x0000_8000_0000_0000
        let base = kernelBase(c.bits)
        let last = form.levels.count - 1

        // One page near the top of the space (the kernel image's end of it).
        let pageVA = UInt64.max - 8 * g + 1
        b.map(pageVA, to: highPA | 7 * g, attributes: 1 << 53 | 1 << 54 | 1 << 7)
        // A block one level up.
        let blockSpan = form.levels[last - 1].span
        let blockVA = base + 4 * blockSpan
        b.map(blockVA, to: highPA | 2 * blockSpan, level: last - 1)
        // A contiguous run of pages.
        let runVA = base + 64 * blockSpan
        b.mapContiguous(runVA, to: highPA | 0x40 * blockSpan)

        let w = PageTableWalker(reader: FlatPhysicalMemory(b.memory), form: form, root: b.root)
        let page = try w.translate(pageVA + 0x123)
        #expect(page.physical == highPA | 7 * g | 0x123)
        #expect(page.pageSize == g)
        #expect(page.steps.map(\.level) == c.levels)
        #expect(page.steps.last!.flags == ["PAGE", "RO", "AF", "PXN", "UXN"])

        let block = try w.translate(blockVA + blockSpan - 8)
        #expect(block.physical == highPA | 2 * blockSpan + blockSpan - 8)
        #expect(block.pageSize == blockSpan)
        #expect(block.steps.last!.flags == ["BLOCK", "AF"])

        for i in [0, UInt64(b.contiguousPages - 1)] {
            let t = try w.translate(runVA + i * g + 9)
            #expect(t.physical == highPA | 0x40 * blockSpan + i * g + 9)
            #expect(t.steps.last!.flags.contains("CONT"))
        }
        // One walk gives the whole physically contiguous run, limited as asked.
        let run = try w.contiguousRun(runVA + 9, limit: 1 << 40)
        #expect(run.physical == highPA | 0x40 * blockSpan + 9)
        #expect(run.length == UInt64(b.contiguousPages) * g - 9)
        #expect(try w.contiguousRun(runVA, limit: 100).length == 100)
        #expect(try w.contiguousRun(blockVA + 8, limit: 1 << 40).length == blockSpan - 8)
        // The cached lookup agrees with the walk, for pages and blocks.
        #expect(try w.lookup(blockVA + 16).physical == highPA | 2 * blockSpan + 16)
        #expect(try w.lookup(pageVA).physical == highPA | 7 * g)
    }

    @Test("an unmapped neighbour and a non-canonical address say why", arguments: cases)
    func errors(_ c: Case) throws {
        let form = AArch64Paging(granule: c.granule, virtualBits: c.bits, descriptors: c.descriptors)
        var b = AArch64TableBuilder(form: form, size: Int(c.granule) * 16, tablesAt: c.granule)
        let va = UInt64.max - c.granule + 1
        b.map(va, to: 5 * c.granule)
        let w = PageTableWalker(reader: FlatPhysicalMemory(b.memory), form: form, root: b.root)
        #expect(try w.translate(va).physical == 5 * c.granule)
        let l3 = form.levels.count - 1
        #expect(throws: TranslationError.self) { try w.translate(va - c.granule) }
        do {
            _ = try w.translate(va - c.granule)
        } catch {
            #expect(error.message == "L3 entry is not a page")
            #expect(error.detail?.hasPrefix("l3[\(form.levels[l3].index(va - c.granule))] = 0x0") == true)
        }
        if c.bits < 64 {
            let outside = kernelBase(c.bits) - 1  // bit `bits - 1` clear, the rest set
            #expect(throws: TranslationError.self) { try w.translate(outside) }
        }
    }

    @Test("LPA and LPA2 put PA bits where the formats say")
    func wideOutputAddresses() {
        let lpa = AArch64Paging(granule: 65536, virtualBits: 52, descriptors: .lpa)
        // PA[51:48] = 0xa in bits [15:12]; bits [47:16] as usual.
        #expect(lpa.outputAddress(0x0000_1234_5678_0000 | 0xa << 12 | 3) == 0x000a_1234_5678_0000)
        let lpa2 = AArch64Paging(granule: 4096, virtualBits: 52, descriptors: .lpa2)
        // PA[51:50] = 0b11 in bits [9:8]; bits [49:12] as usual, so PA[49:48] come straight.
        #expect(lpa2.outputAddress(0x0003_1234_5678_9000 | 3 << 8 | 3) == 0x000f_1234_5678_9000)
        // Without LPA2 the same bits [9:8] are shareability, not address.
        let plain = AArch64Paging(granule: 4096, virtualBits: 48)
        #expect(plain.outputAddress(0x0000_1234_5678_9000 | 3 << 8 | 3) == 0x0000_1234_5678_9000)
    }

    @Test("the Linux kernel's walk: running width for 4/16 KiB, configured width for 64 KiB")
    func linuxChoice() {
        // Debian's 52-bit 4 KiB kernel on a CPU without LPA2: T1SZ 16 → 48 bits, 4 levels, plain descriptors.
        let folded = AArch64.linuxKernelPaging(pageSize: 4096, configuredBits: 52, runningBits: 48)
        #expect(folded?.levels.count == 4)
        #expect(folded?.descriptors == .base)
        let full = AArch64.linuxKernelPaging(pageSize: 4096, configuredBits: 52, runningBits: 52)
        #expect(full?.levels.count == 5)
        #expect(full?.descriptors == .lpa2)
        #expect(AArch64.linuxKernelPaging(pageSize: 16384, configuredBits: 52, runningBits: 47)?.levels.count == 3)
        // 64 KiB: the table stays laid out for 52 bits whatever the CPU runs with.
        let sixtyFour = AArch64.linuxKernelPaging(pageSize: 65536, configuredBits: 52, runningBits: 48)
        #expect(sixtyFour?.virtualBits == 52)
        #expect(sixtyFour?.descriptors == .lpa)
        #expect(AArch64.linuxKernelPaging(pageSize: 4096, configuredBits: 39, runningBits: nil)?.levels.count == 3)
        #expect(AArch64.linuxKernelPaging(pageSize: 8192, configuredBits: 48, runningBits: nil)?.virtualBits == nil)
    }
}
