import Testing
import VMCore
import VMCoreTestSupport

@Suite("VMCOREINFO parsing")
struct VMCoreInfoTests {
    let info = VMCoreInfo(text: """
        OSRELEASE=6.1.0-56-cloud-amd64
        BUILD-ID=3b43fad5034874490492495d552c0af6a5fab235
        PAGESIZE=4096
        SYMBOL(init_uts_ns)=ffffffff965f9b60
        OFFSET(uts_namespace.name)=0
        SIZE(page)=64
        LENGTH(zone.free_area)=11
        NUMBER(phys_base)=-184549376
        NUMBER(VA_BITS)=48
        NUMBER(kimage_voffset)=0xffff800008000000
        NUMBER(MAX_PHYSMEM_BITS)=2e
        KERNELOFFSET=13a00000
        CRASHTIME=1795360562
        CONFIG_X86_5LEVEL=y

        """)

    @Test("kernel bases: hex symbols, decimal sizes, signed numbers, 0x and hex fallbacks")
    func typed() {
        #expect(info.osRelease == "6.1.0-56-cloud-amd64")
        #expect(info.buildID == "3b43fad5034874490492495d552c0af6a5fab235")
        #expect(info.pageSize == 4096)
        #expect(info.symbol("init_uts_ns") == 0xffffffff965f9b60)
        #expect(info.offset("uts_namespace.name") == 0)
        #expect(info.size("page") == 64)
        #expect(info.length("zone.free_area") == 11)
        #expect(info.number("phys_base") == -184_549_376)
        #expect(UInt64(bitPattern: info.number("phys_base")!) == 0xfffffffff5000000)
        #expect(info.number("VA_BITS") == 48)
        #expect(info.number("kimage_voffset") == Int64(bitPattern: 0xffff800008000000))
        #expect(info.number("MAX_PHYSMEM_BITS") == 0x2e)
        #expect(info.kernelOffset == 0x13a00000)
        #expect(info.crashTime == 1_795_360_562)
        #expect(info["CONFIG_X86_5LEVEL"] == "y")
        #expect(info.symbol("missing") == nil)
        #expect(info.names("NUMBER") == ["phys_base", "VA_BITS", "kimage_voffset", "MAX_PHYSMEM_BITS"])
        #expect(info.entries.count == 14)
    }

    @Test("garbage lines are skipped, not fatal")
    func garbage() {
        let g = VMCoreInfo(text: "no equals sign\n\u{1}\u{2}=\nOSRELEASE=x\nPAGESIZE=banana\n")
        #expect(g.osRelease == "x")
        #expect(g.pageSize == nil)
    }
}

@Suite("page bitmap rank index")
struct PageBitmapTests {
    @Test("rank equals a linear count at every position")
    func rankMatchesCount() {
        var state: UInt64 = 0x9e3779b97f4a7c15
        var bytes = [UInt8](repeating: 0, count: 1000)
        for i in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33) & (i % 300 < 150 ? 0xff : 0x11)
        }
        let bits: UInt64 = 7997
        let bitmap = PageBitmap(bytes: bytes, bitCount: bits)
        var count: UInt64 = 0
        for p in 0...bits {
            #expect(bitmap.rank(p) == count)
            if p < bits, bytes[Int(p / 8)] >> (p % 8) & 1 != 0 { count += 1 }
        }
        #expect(bitmap.population == count)
        let runs = bitmap.runs()
        #expect(runs.reduce(0) { $0 + UInt64($1.count) } == count)
        for r in runs { #expect(bitmap.isSet(r.lowerBound) && (r.lowerBound == 0 || !bitmap.isSet(r.lowerBound - 1))) }
    }
}

@Suite("probing")
struct ProbeTests {
    @Test("unknown, empty and compressed files are named with their first bytes")
    func unknown() {
        #expect(caught { try openDump(Array("hello, world, this is text".utf8)) }?.description
                == "test.vmcore: unknown dump format at offset 0x0: the first bytes are 68 65 6c 6c 6f 2c 20 77 6f 72 6c 64 2c 20 74 68; expected an ELF core (7f 45 4c 46), a kdump-compressed file (\"KDUMP   \"), a makedumpfile flattened stream (\"makedumpfile\"), a FreeBSD minidump (\"minidump FreeBSD/…\") or a FreeBSD dump device (a dump header in its last block)")
        #expect(caught { try openDump([]) }?.description == "test.vmcore: is empty: a dump starts with a header")
        #expect(caught { try openDump([0x28, 0xb5, 0x2f, 0xfd, 0, 0]) }?.description == "test.vmcore: zstd-compressed data at offset 0x0: decompress it first (zstd -d)")
    }

    @Test("a raw memory image at a base address")
    func raw() throws {
        let dump = try Dump(sources: [MemorySource(name: "mem.raw", bytes: patternPage(0) + patternPage(1))], rawBase: 0x10000)
        #expect(dump.format == .raw)
        #expect(try dump.memory.read(physical: 0x11000, count: 4096) == patternPage(1))
        #expect(caught { try dump.memory.read(physical: 0x12000, count: 1) }?.description
                == "mem.raw: physical address 0x12000 is not in the dump: the image covers 0x10000-0x12000")
    }
}
