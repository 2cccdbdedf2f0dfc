import NIOCore
import VMCore
import VMCoreNet
import VMCoreTestSupport
import VMCoreTranslation

/// Small valid inputs for each target, written by the test builders (a few KiB each, so the
/// fuzzer spends its time on structure, not on copying pages). `Scripts/fuzz.sh` adds the
/// heads of the committed real dumps to the container corpora.
public enum Seeds {
    public typealias Seed = (name: String, bytes: [UInt8])

    /// Where compressed payloads of fuzzed dump devices are decompressed.
    static let cacheDirectory: String = {
        let base = FileSystem.environment("TMPDIR") ?? "/tmp"
        return base + "/vmcore-fuzz-cache"
    }()

    static let logLines = [
        "Linux version 6.1.0-test (builder@example) #1 SMP PREEMPT_DYNAMIC",
        "Command line: console=ttyS0 crashkernel=256M",
        "sysrq: Trigger a crash",
        "Kernel panic - not syncing: sysrq triggered crash",
        "CPU: 1 PID: 812 Comm: bash Not tainted 6.1.0-test #1",
    ]

    /// A small x86-64 kernel with a lockless printk ring holding `logLines`.
    public static func printkKernel() -> KernelMemoryBuilder {
        locklessKernel(logLines, countBits: 3, sizeBits: 9, reserveLast: false).0
    }

    /// A small arm64 kernel (52-bit build, 48-bit run, negative PHYS_OFFSET) with its banner.
    public static func arm64Kernel() -> ARM64KernelMemoryBuilder {
        var b = ARM64KernelMemoryBuilder()
        _ = b.place(Array("Linux version 6.12.0-arm64-test (builder@example) #1 SMP\n\0".utf8))
        return b
    }

    static func prstatus() -> ELFNote {
        ELFNote(name: "CORE", type: CoreNotes.prstatus, descriptor: x86_64PRStatus(pid: 812, rip: 0xffff_ffff_8100_1234, rsp: 0xffff_c900_0001_0000))
    }

    @Sendable static func elf() -> [Seed] {
        var seeds: [Seed] = [("printk-kernel", printkKernel().buildSparseELF()), ("arm64-kernel", arm64Kernel().buildSparseELF())]
        for (name, qemu, is64, order) in [("kdump-64le", false, true, ByteOrder.little), ("qemu-64le", true, true, .little),
                                          ("kdump-32le", false, false, .little), ("kdump-64be", false, true, .big)] {
            var b = ELFCoreBuilder()
            b.qemuLayout = qemu
            b.is64 = is64
            b.order = order
            if !is64 { b.machine = 3 }
            b.segments = [.init(physicalAddress: 0x1000, data: patternPage(1)),
                          .init(physicalAddress: 0x10_0000, data: patternPage(0x100) + patternPage(0x101), memorySize: 0x4000)]
            b.notes = [prstatus(), ELFNote(name: "VMCOREINFO", type: 0, descriptor: Array("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n".utf8))]
            seeds.append((name, b.build()))
        }
        return seeds
    }

    @Sendable static func kdump() -> [Seed] {
        var seeds: [Seed] = []
        for method in PageCompression.allCases {
            seeds.append(("printk-kernel-\(method.rawValue)", printkKernel().buildKdump(compression: method)))
        }
        for (name, version, layout, order) in [("v1", Int32(1), KdumpSubHeader.Layout.abi64, ByteOrder.little), ("v3-pack32", 3, .pack32, .little),
                                               ("v5-pad32", 5, .pad32, .little), ("v6-be", 6, .abi64, .big)] {
            var k = KdumpBuilder(maxPFN: 64)
            k.headerVersion = version
            k.layout = layout
            k.order = order
            k.pages = [1: patternPage(1), 2: [UInt8](repeating: 0, count: 4096), 40: patternPage(40)]
            k.excluded = [3, 4]
            k.notes = [prstatus()]
            k.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n"
            k.eraseinfo = "erase init_uts_ns size 8\n"
            seeds.append((name, k.build()))
        }
        var incomplete = KdumpBuilder(maxPFN: 32)
        incomplete.pages = [1: patternPage(1), 5: patternPage(5), 9: patternPage(9)]
        incomplete.incompleteAfter = 1
        seeds.append(("incomplete", incomplete.build()))
        var single = KdumpBuilder(maxPFN: 16)
        single.singleBitmap = true
        single.pages = [2: patternPage(2)]
        seeds.append(("single-bitmap", single.build()))
        return seeds
    }

    @Sendable static func flattened() -> [Seed] {
        let all = kdump()
        let kdumps = all.prefix(2) + all.suffix(1)
        return kdumps.map { ("flattened-" + $0.name, FlattenedBuilder().build($0.bytes)) }
            + elf().prefix(2).map { ("flattened-" + $0.name, FlattenedBuilder().build($0.bytes)) }
    }

    @Sendable static func split() -> [Seed] {
        var k = KdumpBuilder(maxPFN: 64)
        k.pages = [1: patternPage(1), 20: patternPage(20), 40: patternPage(40)]
        k.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n"
        let files = k.buildSplit([0..<32, 32..<64])
        let n = UInt32(files[0].count)
        return [("two-files", (0..<4).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + files[0] + files[1])]
    }

    public static func minidumpBuilder(_ machine: FreeBSDMinidumpHeader.Machine, version: UInt32? = nil, pae: Bool = false) -> FreeBSDMinidumpBuilder {
        var b = FreeBSDMinidumpBuilder(machine: machine, version: version, paeMode: pae)
        let ps = UInt64(b.pageSize)
        let pa = (b.dumpAvail.last?.start ?? 0x10_0000) + 2 * ps
        b.mapPage(b.kernelBase + 4 * ps, to: pa)
        b.pages[pa / ps] = patternPage(pa / ps)
        b.messageBuffer = Array("FreeBSD 14.1-RELEASE GENERIC\npanic: page fault while in kernel mode\ncpuid = 1\n".utf8)
        return b
    }

    @Sendable static func minidump() -> [Seed] {
        [("amd64-v3", minidumpBuilder(.amd64).build()), ("amd64-v2", minidumpBuilder(.amd64, version: 2).build()),
         ("amd64-v1", minidumpBuilder(.amd64, version: 1).build()), ("arm64", minidumpBuilder(.arm64).build()),
         ("i386", minidumpBuilder(.i386).build()), ("i386-pae", minidumpBuilder(.i386, pae: true).build()),
         ("riscv", minidumpBuilder(.riscv).build())]
    }

    /// The kernel file the `freebsd-full` target reads its dumps with.
    public static let freebsdKernelFile: MemorySource = {
        var k = KernelSymbolFileBuilder()
        k.symbols = [("kernbase", fullKernbase), ("KPML4phys", fullKernbase + 0x201000), ("msgbufp", fullKernbase + 0x202000)]
        return MemorySource(name: "kernel", bytes: k.build())
    }()
    static let fullKernbase: UInt64 = 0xffff_ffff_8000_0000

    @Sendable public static func freebsdFull() -> [Seed] {
        var pt = PageTableBuilder(size: 4 << 20)
        pt.map(fullKernbase + 0x200000, to: 0x200000, size: 1 << 21)
        pt.setEntry(0x201000, pt.root)
        pt.setEntry(0x202000, fullKernbase + 0x203000)
        pt.setEntry(0x203000, fullKernbase + 0x204000)
        pt.setEntry(0x203008, UInt64(FreeBSDMessageBuffer.magic) | 256 << 32)
        pt.setEntry(0x203010, 40)
        let text = Array("FreeBSD 14.1-RELEASE\npanic: test\n".utf8)
        pt.memory.replaceSubrange(0x204000..<0x204000 + text.count, with: text)
        var b = FreeBSDFullDumpBuilder()
        // Only the pages that hold something, as separate chunks.
        for pfn in 0..<(pt.memory.count / 4096) where pt.memory[pfn * 4096..<(pfn + 1) * 4096].contains(where: { $0 != 0 }) {
            b.chunks.append((UInt64(pfn * 4096), Array(pt.memory[pfn * 4096..<(pfn + 1) * 4096])))
        }
        return [("amd64", b.build())]
    }

    @Sendable static func device() -> [Seed] {
        var plain = DumpDeviceBuilder(payload: minidumpBuilder(.amd64).build())
        plain.leadingSpace = 512
        var gzip = DumpDeviceBuilder(payload: KernelCompressor.gzip(minidumpBuilder(.arm64).build()), compression: .gzip)
        gzip.leadingSpace = 512
        var zstd = DumpDeviceBuilder(payload: KernelCompressor.zstd(minidumpBuilder(.riscv).build()), compression: .zstd)
        zstd.leadingSpace = 512
        return [("minidump", plain.build()), ("gzip-minidump", gzip.build()), ("zstd-minidump", zstd.build()),
                ("textdump", textdumpBuilder().deviceImage(mediaSize: 96 << 10))]
    }

    static func textdumpBuilder() -> TextdumpBuilder {
        var t = TextdumpBuilder()
        t.ddbOutput = Array("db:0:kdb.enter.panic> bt\nTracing pid 12 tid 100034 td 0xfffffe00ddf5e720\nkdb_enter() at kdb_enter+0x33\n".utf8)
        t.messageBuffer = Array("FreeBSD 14.1-RELEASE\npanic: page fault\ncpuid = 0\n".utf8)
        t.panicMessage = "page fault"
        t.version = "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n"
        t.configuration = Array("options INCLUDE_CONFIG_FILE\n".utf8)
        return t
    }

    @Sendable static func textdump() -> [Seed] {
        [("archive", textdumpBuilder().tar()), ("device", textdumpBuilder().deviceImage(mediaSize: 96 << 10))]
    }

    @Sendable static func ustar() -> [Seed] { [("textdump", textdumpBuilder().tar())] }

    @Sendable static func vmcoreinfo() -> [Seed] {
        [("x86_64", Array(printkKernel().vmcoreinfoText.utf8)), ("printk-keys", Array(locklessKeys.joined(separator: "\n").utf8))]
    }

    @Sendable static func printk() -> [Seed] {
        [("lockless", printkKernel().buildKdump()),
         ("lockless-wrapped", locklessKernel(logLines + logLines + logLines, countBits: 2, sizeBits: 8, reserveLast: true).0.buildKdump())]
    }

    @Sendable static func kallsyms() -> [Seed] {
        let base: UInt64 = 0xffff_ffff_9400_0000
        let b = KallsymsBuilder(symbols: [("A", "fixed_percpu_data", 0), ("T", "_text", base), ("T", "_stext", base),
                                          ("t", "sys_init_module", base + 0x1000), ("D", "linux_banner", base + 0x20_0000),
                                          ("d", String(repeating: "long_name_", count: 20), base + 0x20_0100)])
        return [Kallsyms.AddressEncoding.absolute, .baseRelative, .absolutePercpu].map { e in
            ("kallsyms-\(e.rawValue)", KallsymsInput.encode(b.tables(e, base: base), stext: base, encoding: e))
        }
    }

    @Sendable static func btf() -> [Seed] {
        var b = BTFBuilder()
        let int = b.int("int", size: 4, signed: true)
        let ulong = b.int("long unsigned int", size: 8)
        let char = b.int("char", size: 1, signed: true, char: true)
        let list = b.pointer(to: b.endID + 1)
        let head = b.structure("list_head", size: 16, members: [("next", list, 0, 0), ("prev", list, 64, 0)])
        let comm = b.array(of: char, count: 16, index: int)
        let state = b.enumeration("task_state", signed: true, values: [("TASK_RUNNING", 0), ("TASK_DEAD", -1)])
        let anon = b.structure("", size: 8, union: true, members: [("a", int, 0, 0), ("b", ulong, 0, 0)])
        let proto = b.functionPrototype(returning: int, parameters: [("head", list)])
        let task = b.structure("task_struct", size: 64, members: [("tasks", head, 0, 0), ("state", state, 128, 0), ("flag", int, 160, 3),
                                                                    ("", anon, 192, 0), ("comm", comm, 256, 0), ("fn", b.pointer(to: proto), 384, 0)])
        _ = b.typedef("task_t", b.const(b.volatile(task)))
        _ = b.enumeration64("big", values: [("BIG", 1 << 40)])
        let v = b.variable("runqueues", task)
        _ = b.dataSection(".data..percpu", size: 128, variables: [(v, 0, 64)])
        _ = b.declTag("tag", b.function("fn", prototype: proto), component: -1)
        _ = b.typeTag("user", b.float("double", size: 8))
        var big = b
        big.littleEndian = false
        return [("btf-sample", b.bytes), ("btf-sample-big-endian", big.bytes)]
    }

    @Sendable static func pagewalk() -> [Seed] {
        var t = PageTableBuilder(size: 0x10000, tablesAt: 0x1000)
        let vas: [UInt64] = [0xffff_ffff_8000_0000, 0xffff_ffff_8020_0000, 0xffff_8880_0000_1000, 0x1000,
                             0xffff_ffff_8000_3000, 0xffff_ffff_c000_0000, 0xffff_8880_0010_0000, 0]
        t.map(vas[0], to: 0x8000)
        t.map(vas[1], to: 0x0, size: 1 << 21)
        t.map(vas[2], to: 0x9000)
        t.map(vas[5], to: 0, size: 1 << 30)
        let head = [UInt8(0)] + le(t.root, 8) + vas.flatMap { le($0, 8) }
        return [("x86_64-4level", head + t.memory)]
    }

    @Sendable static func pageCodec() -> [Seed] {
        PageCompression.allCases.enumerated().compactMap { i, method in
            let page = patternPage(7)
            let stored = method == .none ? page : PageCodec.compress(method, page)
            return stored.map { (method.rawValue, [UInt8(i)] + $0) }
        }
    }

    @Sendable static func stream() -> [Seed] {
        let text = Array(String(repeating: "Kernel panic - not syncing: test\n", count: 64).utf8)
        return [("gzip", KernelCompressor.gzip(text)), ("zstd", KernelCompressor.zstd(text)),
                ("gzip-two-members", KernelCompressor.gzip(text) + KernelCompressor.gzip(text))]
    }

    @Sendable static func netdump() -> [Seed] {
        func packet(_ type: NetdumpMessageType, _ seqno: UInt32, offset: UInt64 = 0, _ payload: [UInt8] = []) -> [UInt8] {
            let buffer = NetdumpMessage.datagram(NetdumpMessageHeader(type: type, seqno: seqno, offset: offset, length: UInt32(payload.count)), payload: payload)
            let bytes = Array(buffer.readableBytesView)
            return le(UInt64(bytes.count), 2) + bytes
        }
        let data = patternPage(1)
        var kdh = KernelDumpHeaderBuilder()
        kdh.dumpLength = UInt64(data.count)
        return [("dump", packet(.herald, 1, Array("dumps/host\0".utf8)) + packet(.vmcore, 2, offset: 0, Array(data[0..<1024]))
                    + packet(.vmcore, 3, offset: 1024, Array(data[1024...])) + packet(.kernelDumpHeader, 4, kdh.build()) + packet(.finished, 5))]
    }
}
