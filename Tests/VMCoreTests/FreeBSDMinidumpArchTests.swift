import Testing
import VMCore
import VMCoreTestSupport

/// Minidumps of arm64 (v1–3, 4 and 16 KiB pages), i386 (v1–2, PAE and not) and riscv (v1–2)
/// kernels, built as each `minidump_machdep.c` writes them (`MinidumpSample`).
@Suite("FreeBSD minidumps of arm64, i386 and riscv kernels")
struct FreeBSDMinidumpArchTests {
    static func architecture(_ m: FreeBSDMinidumpHeader.Machine) -> Architecture {
        switch m {
        case .arm64: .aarch64
        case .i386: .i386
        case .riscv: .riscv64
        case .amd64: .x86_64
        }
    }

    static func variant(_ l: MinidumpLayout) -> String {
        switch l.machine {
        case .arm64: "FreeBSD/arm64 minidump v\(l.version), \(l.pageSize == 16384 ? "16" : "4") KiB pages"
        case .i386: "FreeBSD/i386 minidump v\(l.version)" + (l.pae ? " (PAE)" : "")
        default: "FreeBSD/\(l.machine.rawValue) minidump v\(l.version)"
        }
    }

    @Test("the header decides architecture, page size and variant", arguments: MinidumpLayout.all)
    func identity(_ layout: MinidumpLayout) throws {
        let dump = try openDump(MinidumpSample(layout).bytes, name: "vmcore.0")
        let m = try #require(dump.minidump)
        #expect(dump.format == .freebsdMinidump)
        #expect(dump.operatingSystem == .freebsd)
        #expect(dump.architecture == Self.architecture(layout.machine))
        #expect(dump.pageSize == layout.pageSize)
        #expect(dump.variant == Self.variant(layout))
        #expect(m.version == layout.version)
        #expect(m.header.paeMode == (layout.machine == .i386 ? layout.pae : nil))
        #expect(m.header.flags == (layout.machine == .arm64 && layout.version == 3 ? (layout.pageSize == 16384 ? 1 : 0) : nil))
        #expect(m.header.hasDumpAvail == (layout.version >= 2))
    }

    @Test("physical reads: dumped, excluded and absent pages", arguments: MinidumpLayout.all)
    func physical(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let ps = s.pageSize
        let dump = try openDump(s.bytes, name: "vmcore.0")
        let memory = dump.memory
        #expect(try memory.read(physical: s.textPA, count: Int(ps)) == s.page(s.textPA))
        #expect(try memory.read(physical: s.dataPA + 0x100, count: 64) == Array(s.page(s.dataPA)[0x100..<0x140]))
        // Across two dumped pages, which lie one after the other in the file only by bit order.
        #expect(try memory.read(physical: s.textPA + ps - 8, count: 16) == Array(s.page(s.textPA).suffix(8)) + Array(s.page(s.textPA + ps).prefix(8)))
        if s.attributePA != 0 { #expect(try memory.read(physical: s.attributePA, count: Int(ps)) == s.page(s.attributePA)) }

        #expect(memory.state(ofPage: s.textPA / ps) == .present)
        #expect(memory.state(ofPage: s.textPA / ps + 2) == .excluded)
        #expect(caught { try memory.read(physical: s.textPA + 2 * ps + 5, count: 1) }?.description
                == "vmcore.0: physical address \(hex(s.textPA + 2 * ps)) is not in the minidump: minidumps keep only the kernel's pages; PFN \(hex(s.textPA / ps + 2)) was not dumped")
        // Below the first dump_avail range (i386: in the hole between two): not memory of the
        // machine. Before dump_avail, the bitmap covers every page from 0, so it is excluded.
        let hole: UInt64 = layout.machine == .i386 ? 0xa0000 : 0x10000
        if layout.version >= 2 {
            #expect(memory.state(ofPage: hole / ps) == .notInDump)
            #expect(caught { try memory.read(physical: hole, count: 4) }?.description
                    == "vmcore.0: physical address \(hex(hole)) is not in the dump: no dump_avail range holds it")
        } else {
            #expect(memory.state(ofPage: hole / ps) == .excluded)
            #expect(caught { try memory.read(physical: hole, count: 4) }?.kind == .excludedPage)
        }
    }

    @Test("kernel virtual reads through the pmap", arguments: MinidumpLayout.all)
    func pmap(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let ps = s.pageSize
        let kernbase = s.builder.kernelBase
        let m = try #require(try openDump(s.bytes, name: "vmcore.0").minidump)

        let t = try m.translate(s.textVA + ps + 0x10)
        #expect(t.physical == s.textPA + ps + 0x10)
        #expect(t.pageSize == ps)
        #expect(t.steps.map(\.level) == [layout.machine == .i386 ? "pte" : "l3"])
        #expect(t.steps.first?.index == Int((s.textVA + ps - kernbase) / ps))
        // The far end of a page: 0x3ff0 into a 16 KiB page, which a 4 KiB reading would put elsewhere.
        #expect(try m.translate(s.textVA + ps - 16).physical == s.textPA + ps - 16)
        #expect(try m.read(virtual: s.textVA + ps - 4, count: 8) == Array(s.page(s.textPA).suffix(4)) + Array(s.page(s.textPA + ps).prefix(4)))
        #expect(try m.read(virtual: s.dataVA + 0x20, count: 32) == Array(s.page(s.dataPA)[0x20..<0x40]))
        #expect(try m.translate(s.dataVA + 0x7).physical == s.dataPA + 0x7)
        // Attribute bits above the address (PXN/UXN, Svpbmt, NX) are not address; PAE reaches past 4 GiB.
        if s.attributeVA != 0 {
            #expect(try m.translate(s.attributeVA + 0x18).physical == s.attributePA + 0x18)
            #expect(try m.read(virtual: s.attributeVA, count: Int(ps)) == s.page(s.attributePA))
        }
        // Mapped, but the page was not dumped.
        #expect(caught { try m.read(virtual: s.textVA + s.builder.blockSize - ps, count: 1) }?.kind == .excludedPage)
    }

    @Test("kernel virtual reads through the direct map", arguments: MinidumpLayout.arm64 + MinidumpLayout.riscv)
    func directMap(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let ps = s.pageSize
        let m = try #require(try openDump(s.bytes, name: "vmcore.0").minidump)
        let t = try m.translate(s.direct(s.directPA) + 0x40)
        #expect(t.physical == s.directPA + 0x40)
        #expect(t.steps.isEmpty)
        #expect(t.pageSize == ps)
        #expect(try m.read(virtual: s.direct(s.directPA) + ps - 8, count: 8) == Array(s.page(s.directPA).suffix(8)))
        // The kernel text is reachable both ways.
        #expect(try m.read(virtual: s.direct(s.textPA), count: 64) == (try m.read(virtual: s.textVA, count: 64)))
        #expect(caught { try m.read(virtual: s.direct(s.directPA + ps), count: 4) }?.description
                == "vmcore.0: physical address \(hex(s.directPA + ps)) is not in the minidump: minidumps keep only the kernel's pages; PFN \(hex((s.directPA + ps) / ps)) was not dumped")
    }

    @Test("translation errors name the entry, the index and the address", arguments: MinidumpLayout.all)
    func translationErrors(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let ps = s.pageSize
        let kernbase = s.builder.kernelBase
        let m = try #require(try openDump(s.bytes, name: "vmcore.0").minidump)
        let invalid = (s.invalidVA - kernbase) / ps
        // A page of KVA the kernel did not map: its entry is 0.
        let unmapped = layout.machine == .i386 ? kernbase + s.builder.blockSize : kernbase
        let unmappedIndex = (unmapped - kernbase) / ps
        switch layout.machine {
        case .arm64:
            #expect(caught { try m.translate(s.invalidVA) }?.description
                    == "vmcore.0: L3 entry is not a page: l3[\(invalid)] = \(hex(s.invalidEntry)) while translating \(hex(s.invalidVA))")
            #expect(caught { try m.translate(unmapped) }?.description == "vmcore.0: L3 entry is not a page: l3[0] = 0x0 while translating 0xffff000000000000")
            #expect(caught { try m.translate(0x1000) }?.description
                    == "vmcore.0: 0x1000 is not a kernel address in this minidump: it holds KVA from 0xffff000000000000 and the direct map 0xffffa00000000000-0xffffff0000000000")
        case .riscv:
            #expect(caught { try m.translate(s.invalidVA) }?.description
                    == "vmcore.0: L3 PTE is not a valid leaf: l3[\(invalid)] = \(hex(s.invalidEntry)) while translating \(hex(s.invalidVA))")
            #expect(caught { try m.translate(unmapped) }?.description == "vmcore.0: L3 PTE is not a valid leaf: l3[0] = 0x0 while translating 0xffffffc000000000")
            #expect(caught { try m.translate(0x1000) }?.description
                    == "vmcore.0: 0x1000 is not a kernel address in this minidump: it holds KVA from 0xffffffc000000000 and the direct map 0xffffffd000000000-0xfffffff000000000")
        case .i386:
            #expect(caught { try m.translate(s.invalidVA) }?.description
                    == "vmcore.0: PTE not present: pte[\(invalid)] = \(hex(s.invalidEntry)) while translating \(hex(s.invalidVA))")
            #expect(caught { try m.translate(unmapped) }?.description
                    == "vmcore.0: PTE not present: pte[\(unmappedIndex)] = 0x0 while translating \(hex(unmapped))")
            #expect(caught { try m.translate(0x1000) }?.description
                    == "vmcore.0: 0x1000 is not a kernel address in this minidump: it holds KVA from 0x800000; i386 kernels have no direct map")
        case .amd64:
            Issue.record("no amd64 layouts here")
        }
        // The pmap is whole pages of entries, one page per L2 (i386: per page directory entry) of KVA.
        let entrySize = layout.machine == .i386 && !layout.pae ? 4 : 8
        let entries = Int(m.pmapSize) / entrySize
        #expect(entries == (layout.machine == .i386 ? 3 : 4) * layout.pageSize / entrySize)
        let beyond = kernbase + UInt64(entries) * ps
        #expect(caught { try m.translate(beyond) }?.description
                == "vmcore.0: \(hex(beyond)) is beyond the kernel address space the minidump maps: its pmap has \(entries) entries")
        #expect(caught { try m.translate(beyond - 1) }?.kind == .translation)  // the last entry: not mapped, but within the pmap
        #expect(caught { try m.translate(beyond - 1) }?.description.contains("beyond") == false)
    }

    @Test("the message buffer is ordered by struct msgbuf, read at the kernel's pointer width", arguments: MinidumpLayout.all)
    func messageBuffer(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let n = s.log.utf8.count
        let m = try #require(try openDump(s.bytes).minidump)
        #expect(try m.messageBuffer() != Array(s.log.utf8))  // stored wrapped
        let pointerSize = layout.machine == .i386 ? 4 : 8
        #expect(FreeBSDMessageBuffer.findWriteSequence(in: m, size: m.messageBufferSize, pointerSize: pointerSize, isKernelPointer: m.isKernelAddress)
                == UInt32(3 * n + s.writePosition))
        // The other width does not find it: on i386 msg_magic follows a 4-byte msg_ptr, on LP64 an 8-byte one.
        #expect(FreeBSDMessageBuffer.findWriteSequence(in: m, size: m.messageBufferSize, pointerSize: 12 - pointerSize, isKernelPointer: m.isKernelAddress) == nil)
        let buffer = try FreeBSDMessageBuffer(minidump: m)
        #expect(buffer.text == s.log)
        #expect(buffer.source == "struct msgbuf (write position \(s.writePosition))")

        // A msg_ptr that is no kernel address: not the kernel's struct msgbuf.
        var b = s.builder
        b.putMessageBufferHeader(atPhysical: s.msgbufPA, pointer: 0x1000, size: UInt32(n), writeSequence: UInt32(3 * n + s.writePosition))
        let other = try FreeBSDMessageBuffer(minidump: try #require(try openDump(b.build()).minidump))
        #expect(other.source == "buffer as stored (write position unknown)")
        #expect(other.text != s.log)
    }

    @Test("info facts: machine, page size, PAE, flags, the panic from the message buffer", arguments: MinidumpLayout.all)
    func facts(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let f = try openDump(s.bytes).analyzedFacts()
        #expect(f.container.format == .freebsdMinidump)
        #expect(f.container.architecture == Self.architecture(layout.machine).rawValue)
        #expect(f.container.pageSize == layout.pageSize)
        #expect(f.kernel.kernelRelease == (layout.machine == .i386 ? "13.3-RELEASE" : "14.1-RELEASE"))
        #expect(f.kernel.panic?.message == "panic: vm_fault_lookup: fault on nofault entry, addr: 0xdeadc000")
        #expect(f.kernel.panic?.cpu == 1)
        #expect(f.kernel.panic?.callTrace.count == 2)
        #expect(f.memory.pages.present == UInt64(s.dumpedPages))
        if layout.version >= 2 {
            // Pages dump_avail numbers, in the dump's page size.
            let avail: UInt64 = switch layout.machine {
            case .arm64, .riscv: 0x800_0000 / s.pageSize
            default: (0x9f000 - 0x1000) / 4096 + (0x800_0000 - 0x10_0000) / 4096 + (layout.pae ? 0x100 : 0)
            }
            #expect(f.memory.pages.excluded == avail - UInt64(s.dumpedPages))
        }
        let b = try #require(f.freebsd)
        #expect(b.minidump?.machine == layout.machine.rawValue)
        #expect(b.minidump?.minidumpVersion == layout.version)
        #expect(b.minidump?.kernelBase == hex(s.builder.kernelBase))
        #expect(b.minidump?.messageBufferSize == UInt32(s.log.utf8.count))
        #expect(b.messageBufferOrder == "struct msgbuf (write position 23)")
        switch layout.machine {
        case .arm64:
            #expect(b.minidump?.directMapPhysical == "0x40000000")
            #expect(b.minidump?.directMapBase == "0xffffa00000000000")
            #expect(b.minidump?.flags == (layout.version == 3 ? (layout.pageSize == 16384 ? "0x1" : "0x0") : nil))
            #expect(b.minidump?.paeMode == nil)
        case .riscv:
            #expect(b.minidump?.directMapPhysical == "0x80000000")
            #expect(b.minidump?.directMapEnd == "0xfffffff000000000")
            #expect(b.minidump?.flags == nil)
            #expect(b.minidump?.paeMode == nil)
        default:
            #expect(b.minidump?.directMapBase == nil)
            #expect(b.minidump?.directMapEnd == nil)
            #expect(b.minidump?.directMapPhysical == nil)
            #expect(b.minidump?.paeMode == layout.pae)
        }
    }

    @Test("corrupt and truncated minidumps", arguments: MinidumpLayout.all)
    func corrupt(_ layout: MinidumpLayout) throws {
        let s = MinidumpSample(layout)
        let full = s.bytes
        let ps = Int(s.pageSize)
        func roundPage(_ n: Int) -> Int { (n + ps - 1) / ps * ps }
        let pages = s.dumpedPages
        let m = try #require(try openDump(full).minidump)

        // The bitmap claims more than the file holds.
        var w = ByteWriter(order: .little)
        w.bytes = full
        w.u32(0x7fff_0000, at: 32)
        let msg = s.log.utf8.count
        let avail = layout.version >= 2 ? ps : 0
        let need = ps + roundPage(msg) + avail + roundPage(0x7fff_0000) + roundPage(Int(m.pmapSize))
        #expect(caught { try openDump(w.bytes, name: "vmcore.1") }?.description
                == "vmcore.1: minidump sections run past the end of the file at offset 0x18: message buffer \(msg), \(avail > 0 ? "dump_avail \(ps), " : "")bitmap 2147418112 and pmap \(m.pmapSize) bytes need \(need); the file has \(full.count)")

        // The bitmap marks more pages than the file holds.
        #expect(caught { try openDump(Array(full.prefix(full.count - 2 * ps)), name: "vmcore.2") }?.description
                == "vmcore.2: minidump is truncated at offset \(hex(full.count - pages * ps)): the bitmap marks \(pages) pages, the file holds \(pages - 2)")

        // A version no FreeBSD wrote.
        w.bytes = full
        let next: UInt32 = layout.machine == .arm64 ? 4 : 3
        w.u32(next, at: 24)
        let expected = layout.machine == .arm64 ? "expected 1 to 3" : "expected 1 or 2"
        let e = caught { try openDump(w.bytes, name: "vmcore.3") }
        #expect(e?.kind == .unsupported)
        #expect(e?.description == "vmcore.3: unknown \(layout.machine.rawValue) minidump version \(next) at offset 0x18: \(expected)")

        // dump_avail out of order, or a range that ends before it starts.
        if layout.version >= 2 {
            let availOffset = ps + roundPage(msg)
            let firstEnd = try ByteReader(full, file: "", base: 0, order: .little).u64(availOffset + 8, "")
            w.bytes = full
            w.u64(0x100, at: availOffset + 16)
            w.u64(0x200, at: availOffset + 24)
            #expect(caught { try openDump(w.bytes, name: "vmcore.4") }?.description
                    == "vmcore.4: corrupt dump_avail entry at offset \(hex(availOffset + 16)): 0x100 starts before the previous range ends at \(hex(firstEnd))")
            w.bytes = full
            w.u64(0x800, at: availOffset + 8)
            let firstStart = try ByteReader(full, file: "", base: 0, order: .little).u64(availOffset, "")
            #expect(caught { try openDump(w.bytes, name: "vmcore.5") }?.description
                    == "vmcore.5: corrupt dump_avail entry at offset \(hex(availOffset)): \(hex(firstStart)) > 0x800")
        }

        // A header cut short names the first field it lacks.
        let cut = caught { try openDump(Array(full.prefix(44)), name: "vmcore.6") }
        #expect(cut?.kind == .truncated)
        switch layout.machine {
        case .i386: #expect(cut?.description == "vmcore.6: paemode is cut short at offset 0x2c: needs 4 bytes, 0 remain")
        case .arm64 where layout.version == 3: #expect(cut?.description == "vmcore.6: flags is cut short at offset 0x4c: needs 4 bytes, 0 remain")
        default: #expect(cut?.description == "vmcore.6: kernbase is cut short at offset 0x28: needs 8 bytes, 4 remain")
        }
    }

    @Test("arm64 page-size flags: 4 KiB and 16 KiB read; 64 KiB and the undefined value refused")
    func arm64PageSizeFlags() throws {
        let s = MinidumpSample(MinidumpLayout(machine: .arm64, version: 3))
        var w = ByteWriter(order: .little)
        w.bytes = s.bytes
        w.u32(2, at: 76)
        let e2 = caught { try openDump(w.bytes, name: "vmcore.7") }
        #expect(e2?.kind == .unsupported)
        #expect(e2?.description == "vmcore.7: unsupported arm64 minidump page size flag 2 at offset 0x4c: expected 0 (4 KiB pages) or 1 (16 KiB pages); 2 is reserved for 64 KiB pages, which FreeBSD does not write")
        w.u32(0x7, at: 76)
        #expect(caught { try openDump(w.bytes, name: "vmcore.7") }?.description
                == "vmcore.7: unsupported arm64 minidump page size flag 3 at offset 0x4c: expected 0 (4 KiB pages) or 1 (16 KiB pages)")
        // Only MINIDUMP_FLAG_PS_MASK decides the page size, as in libkvm.
        w.u32(0x100, at: 76)
        let dump = try openDump(w.bytes)
        #expect(dump.pageSize == 4096)
        #expect(try dump.minidump?.read(virtual: s.dataVA, count: 16) == Array(s.page(s.dataPA).prefix(16)))
        // A 16 KiB dump read as 4 KiB is no minidump at all: its sections do not line up.
        let big = MinidumpSample(MinidumpLayout(machine: .arm64, version: 3, pageSize: 16384))
        w.bytes = big.bytes
        w.u32(0, at: 76)
        #expect(caught { try openDump(w.bytes).minidump?.read(virtual: big.dataVA, count: 16) } != nil)
    }

    @Test("minidumps of architectures this library does not read are refused by name")
    func otherArchitectures() {
        for (name, field) in [("arm", 24), ("mips", 24), ("powerpc64", 32)] {
            var w = ByteWriter(order: .little)
            w.cString("minidump FreeBSD/\(name)", at: 0, size: field)
            w.u32(2, at: field)
            w.grow(to: 8192)
            #expect(FreeBSDMinidump.probe(Array(w.bytes.prefix(64))))
            let e = caught { try openDump(w.bytes, name: "vmcore.8") }
            #expect(e?.kind == .unsupported)
            #expect(e?.description == "vmcore.8: FreeBSD/\(name) minidumps are not supported at offset 0x0: this library reads FreeBSD/amd64, arm64, i386 and riscv minidumps")
        }
        #expect(!FreeBSDMinidump.probe(Array("minidump FreeBSD/".utf8) + [0, 0, 0, 0]))
        #expect(!FreeBSDMinidump.probe(Array("minidump Linux/x86".utf8) + [0]))
    }
}
