import Foundation
import Testing
import VMCore
import VMCoreTestSupport

/// FreeBSD full dumps: ELF cores of physical memory, read through a kernel file's symbols.
@Suite("FreeBSD full dumps")
struct FreeBSDFullDumpTests {
    static let kernbase: UInt64 = 0xffff_ffff_8000_0000
    static let ring = Array("FreeBSD 14.1-RELEASE releng/14.1-n267679 GENERIC amd64\nKDB: enter: panic\n".utf8)
    static let later = Array("panic: Duplicate free of 0xfffff80339ef3000\ncpuid = 3\nKDB: stack backtrace:\n#0 0xffffffff80b9009d at kdb_backtrace+0x5d\n".utf8)

    /// 4 MiB of amd64 physical memory: page tables from 0x100000 (the PML4), the kernel at
    /// kernbase + 2 MiB on a large page, one 4 KiB mapping, and a wrapped message buffer.
    static func amd64() -> (dump: [UInt8], kernel: [UInt8]) {
        var pt = PageTableBuilder(size: 4 << 20)
        pt.map(kernbase + 0x200000, to: 0x200000, size: 1 << 21)
        pt.map(kernbase + 0x1000_0000, to: 0x3ff000)
        // KPML4phys: a variable of the kernel, holding the PML4's physical address.
        pt.setEntry(0x201000, pt.root)
        // msgbufp -> struct msgbuf { msg_ptr, msg_magic, msg_size, msg_wseq, … } -> the ring.
        let size = 256
        var ringBytes = [UInt8](repeating: 0, count: size)
        let text = ring + later   // more than fits, so it wraps
        for (i, c) in text.enumerated() { ringBytes[i % size] = c }
        pt.setEntry(0x202000, kernbase + 0x203000)
        pt.setEntry(0x203000, kernbase + 0x204000)
        pt.setEntry(0x203008, UInt64(FreeBSDMessageBuffer.magic) | UInt64(size) << 32)
        pt.setEntry(0x203010, UInt64(text.count + size * 16))   // msg_wseq runs modulo 16 × size
        pt.memory.replaceSubrange(0x204000..<0x204000 + size, with: ringBytes)
        pt.memory.replaceSubrange(0x3ff000..<0x400000, with: patternPage(0x3ff))
        var b = FreeBSDFullDumpBuilder()
        b.chunks = [(0x1000, Array(pt.memory[0x1000..<0x9f000])), (0x100000, Array(pt.memory[0x100000...]))]
        var k = KernelSymbolFileBuilder()
        k.symbols = [("kernbase", kernbase), ("KPML4phys", kernbase + 0x201000), ("msgbufp", kernbase + 0x202000), ("hz", kernbase + 0x200040)]
        return (b.build(), k.build())
    }

    func files(_ built: (dump: [UInt8], kernel: [UInt8])) throws -> (dump: String, kernel: String) {
        let dir = try temporaryDirectory()
        let dump = dir.appendingPathComponent("vmcore.0"), kernel = dir.appendingPathComponent("kernel")
        try Data(built.dump).write(to: dump)
        try Data(built.kernel).write(to: kernel)
        return (dump.path, kernel.path)
    }

    @Test("amd64: KPML4phys and kernbase find the page tables; msgbufp the message buffer")
    func amd64Dump() throws {
        let paths = try files(Self.amd64())
        let plain = try Dump.open([paths.dump])
        #expect(plain.operatingSystem == .freebsd)
        #expect(plain.variant == "FreeBSD/amd64 full dump (ELF)")
        #expect(plain.memory.ranges.map(\.start) == [0x1000, 0x100000])
        #expect(caught { try plain.kernelAddressSpace() }?.message == "a FreeBSD full dump holds no page-table root")
        #expect(try plain.analyzedFacts().warnings.contains { $0.hasPrefix("message buffer not read: a FreeBSD full dump has no message buffer of its own") })

        let dump = try Dump.open([paths.dump], kernel: paths.kernel)
        let space = try dump.kernelAddressSpace()
        #expect(try space.translate(Self.kernbase + 0x1000_0123).physical == 0x3ff123)
        #expect(try space.read(virtual: Self.kernbase + 0x1000_0000, count: 4096) == patternPage(0x3ff))
        #expect(try space.translate(Self.kernbase + 0x2abcde).pageSize == 1 << 21)
        #expect(try dump.kernel().resolve("hz") == Self.kernbase + 0x200040)
        let buffer = try dump.freebsdMessageBuffer()
        let text = String(decoding: Self.ring + Self.later, as: UTF8.self)
        #expect(buffer.text == String(text.suffix(256)))
        let f = try dump.analyzedFacts()
        #expect(f.kernel.panic?.message == "panic: Duplicate free of 0xfffff80339ef3000")
        #expect(f.kernel.panic?.cpu == 3)
        #expect(f.freebsd?.messageBufferOrder?.hasPrefix("struct msgbuf") == true)
    }

    @Test("i386 with and without PAE: IdlePDPT or IdlePTD", arguments: [true, false])
    func i386Dump(_ pae: Bool) throws {
        let kernbase: UInt64 = 0xc000_0000
        var mem = [UInt8](repeating: 0, count: 8 << 20)
        func put(_ v: UInt64, at a: Int, _ n: Int) { for i in 0..<n { mem[a + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) } }
        let text: UInt64 = 0xc040_0000   // a large page (4 MiB, or 2 MiB with PAE) to physical 0x400000
        let small: UInt64 = 0xc100_3000  // a 4 KiB page to physical 0x7ff000
        if pae {
            // PDPT at 0x100000 (4 entries), page directories at 0x101000.., a page table at 0x105000.
            for i in 0..<4 { put(0x101000 + UInt64(i) * 0x1000 | 1, at: 0x100000 + 8 * i, 8) }
            let pd = { (va: UInt64) in 0x101000 + Int(va >> 30) * 0x1000 + Int((va >> 21) & 511) * 8 }
            put(0x400000 | 0x83, at: pd(text), 8)
            put(0x105000 | 3, at: pd(small), 8)
            put(0x7ff000 | 3, at: 0x105000 + Int((small >> 12) & 511) * 8, 8)
        } else {
            put(0x400000 | 0x83, at: 0x100000 + Int(text >> 22) * 4, 4)
            put(0x105000 | 3, at: 0x100000 + Int(small >> 22) * 4, 4)
            put(0x7ff000 | 3, at: 0x105000 + Int((small >> 12) & 1023) * 4, 4)
        }
        put(0x100000, at: 0x400100, 4)   // IdlePDPT / IdlePTD at kernbase + 0x400100
        mem.replaceSubrange(0x7ff000..<0x800000, with: patternPage(0x7ff))
        var b = FreeBSDFullDumpBuilder()
        b.is64 = false
        b.machine = 3
        b.chunks = [(0, mem)]
        var k = KernelSymbolFileBuilder()
        k.is64 = false
        k.machine = 3
        k.symbols = [("kernbase", kernbase), (pae ? "IdlePDPT" : "IdlePTD", kernbase + 0x400100)]
        let paths = try files((b.build(), k.build()))
        let dump = try Dump.open([paths.dump], kernel: paths.kernel)
        #expect(dump.variant == "FreeBSD/i386 full dump (ELF)")
        let walker = try dump.freebsdPageTables()
        #expect(walker.scheme == (pae ? "i386 PAE" : "i386"))
        #expect(walker.rootSource == (pae ? "the kernel file's IdlePDPT symbol" : "the kernel file's IdlePTD symbol"))
        #expect(try walker.translate(text + 0x1234).physical == 0x401234)
        #expect(try walker.translate(text).pageSize == (pae ? 1 << 21 : 1 << 22))
        #expect(try walker.read(virtual: small, count: 4096) == patternPage(0x7ff))
        #expect(try walker.translate(small + 8).steps.map(\.level) == (pae ? ["pdpt", "pde", "pte"] : ["pde", "pte"]))
        #expect(caught { try walker.translate(0x1_0000_0000) }?.description == "\(paths.dump): 0x100000000 is not a canonical address: \(pae ? "i386 PAE" : "i386") addresses have 32 bits")
        #expect(caught { try walker.translate(0xd000_0000) }?.message == (pae ? "PDE not present" : "PDE not present"))
    }

    @Test("kernel files that cannot serve: missing symbols, another architecture, no symbol table")
    func badKernels() throws {
        let built = Self.amd64()
        var k = KernelSymbolFileBuilder()
        k.symbols = [("kernbase", Self.kernbase)]
        let paths = try files((built.dump, k.build()))
        let dump = try Dump.open([paths.dump], kernel: paths.kernel)
        #expect(caught { try dump.kernelAddressSpace() }?.description
                == "\(paths.kernel): the kernel file has no symbol KPML4phys: amd64 address translation needs it; is this the kernel that crashed?")
        k.machine = 3
        k.is64 = false
        let i386 = try files((built.dump, k.build()))
        #expect(caught { try Dump.open([i386.dump], kernel: i386.kernel).kernelAddressSpace() }?.message == "the kernel file is for i386, the dump for x86_64")
        // .dynsym serves as well as .symtab.
        var dyn = KernelSymbolFileBuilder()
        dyn.dynamic = true
        dyn.symbols = [("kernbase", Self.kernbase), ("KPML4phys", Self.kernbase + 0x201000)]
        let table = try ELFSymbolTable(source: MemorySource(name: "kernel", bytes: dyn.build()))
        #expect(table.tableName == ".dynsym")
        #expect(table.address("KPML4phys") == Self.kernbase + 0x201000)
        // Hostile section headers.
        var w = ByteWriter(order: .little)
        w.bytes = dyn.build()
        w.u16(0xff00, at: 60)
        #expect(caught { try ELFSymbolTable(source: MemorySource(name: "kernel", bytes: w.bytes)) }?.description.hasPrefix("kernel: 65280 section headers cannot fit in the file") == true)
        w.bytes = dyn.build()
        w.u64(0, at: 40)
        #expect(caught { try ELFSymbolTable(source: MemorySource(name: "kernel", bytes: w.bytes)) }?.message == "the ELF file has no section headers")
    }

    @Test("arm64 full dumps are refused as libkvm refuses them")
    func arm64() throws {
        var b = FreeBSDFullDumpBuilder()
        b.machine = 183
        b.chunks = [(0x4000_0000, [UInt8](repeating: 0, count: 8192))]
        var k = KernelSymbolFileBuilder()
        k.machine = 183
        k.symbols = [("kernbase", 0xffff_0000_0000_0000)]
        let paths = try files((b.build(), k.build()))
        #expect(caught { try Dump.open([paths.dump], kernel: paths.kernel).kernelAddressSpace() }?.message == "full dumps of FreeBSD/aarch64 are not read")
    }

    @Test("the command line: info, dmesg, panic, read by symbol and translate with --kernel",
          .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
    func commandLine() throws {
        let paths = try files(Self.amd64())
        let info = try vmcore(["info", paths.dump, "--kernel", paths.kernel])
        #expect(info.status == 0)
        #expect(info.text.contains("format:          FreeBSD/amd64 full dump (ELF)"))
        #expect(info.text.contains("panic:           panic: Duplicate free of 0xfffff80339ef3000"))
        let dmesg = try vmcore(["dmesg", paths.dump, "--kernel", paths.kernel])
        #expect(dmesg.text.hasSuffix("#0 0xffffffff80b9009d at kdb_backtrace+0x5d\n"))
        let panic = try vmcore(["panic", paths.dump, "--kernel", paths.kernel])
        #expect(panic.text.hasPrefix("panic: Duplicate free of 0xfffff80339ef3000\nCPU 3\n"))
        let read = try vmcore(["read", paths.dump, "--kernel", paths.kernel, "--virtual", "KPML4phys", "--length", "8", "--raw"])
        #expect(Array(read.stdout) == [0, 0, 0x10, 0, 0, 0, 0, 0])
        let tr = try vmcore(["translate", paths.dump, "--kernel", paths.kernel, "0xffffffff90000010"])
        #expect(tr.text.contains("-> physical 0x3ff010 (4.0 KiB page)"))
        let none = try vmcore(["dmesg", paths.dump])
        #expect(none.status == 1)
        #expect(none.stderr == "vmcore: \(paths.dump): a FreeBSD full dump has no message buffer of its own: "
                + "give the kernel that crashed with --kernel PATH: its msgbufp symbol finds the buffer in memory\n")
        // The library says the same without naming the flag.
        #expect(caught { try Dump.open([paths.dump]).kernel().messages() }?.description
                == "\(paths.dump): a FreeBSD full dump has no message buffer of its own: give the kernel file that crashed: its msgbufp symbol finds the buffer in memory")
    }
}
