import VMCore

/// Writes a dump device image as FreeBSD's `dump_start()`/`dump_write_headers()` leave it
/// (`sys/kern/kern_shutdown.c`, freebsd.md §2.1): untouched space, the leading header, the
/// key area, the payload in its extent, and the trailing header in the last block.
public struct DumpDeviceBuilder {
    public var header: KernelDumpHeader
    public var payload: [UInt8]
    /// The EKCD key area (already padded to a multiple of the block size), if encrypted.
    public var key: [UInt8] = []
    /// Bytes before the leading header (at least 64 KiB on a real device); filled with `filler`.
    public var leadingSpace = 65536
    public var filler: UInt8 = 0xa5
    /// The leading header's bytes, when a test wants it to differ from the trailer.
    public var leadingHeader: [UInt8]?

    public init(payload: [UInt8], blockSize: UInt32 = 512, architecture: String = "amd64", version: UInt32 = 4,
                compression: KernelDumpHeader.Compression = .none, extraExtent: UInt64 = 0, keySize: UInt32 = 0) {
        self.payload = payload
        let length = UInt64(payload.count)
        let bs = UInt64(blockSize)
        let extent = (length + bs - 1) / bs * bs + extraExtent
        header = KernelDumpHeader(architecture: architecture, architectureVersion: architecture == "amd64" ? 2 : 1,
                                  dumpLength: length, dumpExtent: extent, dumpTime: 1_700_000_000, dumpKeySize: keySize,
                                  blockSize: blockSize, hostname: "crashbox.example.org",
                                  versionString: "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n",
                                  panicString: "page fault while in kernel mode", compression: compression, version: version)
    }

    public func build() -> [UInt8] {
        let bs = Int(header.blockSize)
        let h = header.encoded()
        func block(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: bs - bytes.count) }
        var image = [UInt8](repeating: filler, count: leadingSpace)
        image += block(leadingHeader ?? h)
        image += key
        image += payload + [UInt8](repeating: 0, count: Int(header.dumpExtent) - payload.count)
        image += block(h)
        return image
    }
}

/// Writes a FreeBSD full dump as `dumpsys_generic()` does (`sys/kern/kern_dump.c`): an ELF
/// core with `EI_OSABI` = `ELFOSABI_STANDALONE`, one `PT_LOAD` per physical chunk with
/// `p_vaddr` = `p_paddr`, no notes, the data from the first page boundary after the headers.
public struct FreeBSDFullDumpBuilder {
    public var is64 = true
    public var machine: UInt16 = 62
    /// Physical chunks (dump_avail pairs) and their bytes.
    public var chunks: [(start: UInt64, data: [UInt8])] = []

    public init() {}

    public func build() -> [UInt8] {
        var w = ByteWriter(order: .little)
        let ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32
        w.raw([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1, 255], at: 0)
        w.u16(4, at: 16); w.u16(machine, at: 18); w.u32(1, at: 20)
        if is64 {
            w.u64(UInt64(ehsize), at: 32); w.u16(UInt16(ehsize), at: 52); w.u16(UInt16(phentsize), at: 54); w.u16(UInt16(chunks.count), at: 56)
        } else {
            w.u32(UInt32(ehsize), at: 28); w.u16(UInt16(ehsize), at: 40); w.u16(UInt16(phentsize), at: 42); w.u16(UInt16(chunks.count), at: 44)
        }
        var offset = (ehsize + chunks.count * phentsize + 4095) / 4096 * 4096
        for (i, c) in chunks.enumerated() {
            let o = ehsize + i * phentsize
            let n = UInt64(c.data.count)
            if is64 {
                w.u32(1, at: o); w.u32(4, at: o + 4); w.u64(UInt64(offset), at: o + 8); w.u64(c.start, at: o + 16)
                w.u64(c.start, at: o + 24); w.u64(n, at: o + 32); w.u64(n, at: o + 40); w.u64(4096, at: o + 48)
            } else {
                w.u32(1, at: o); w.u32(UInt32(offset), at: o + 4); w.u32(UInt32(c.start), at: o + 8); w.u32(UInt32(c.start), at: o + 12)
                w.u32(UInt32(n), at: o + 16); w.u32(UInt32(n), at: o + 20); w.u32(4, at: o + 24); w.u32(4096, at: o + 28)
            }
            w.raw(c.data, at: offset)
            offset += c.data.count
        }
        w.grow(to: offset)
        return w.bytes
    }
}

/// Writes a kernel ELF file with only what a dump reader needs from it: a symbol table
/// (`.symtab` and its `.strtab`) and the section-name table, like a FreeBSD kernel with its
/// code left out.
public struct KernelSymbolFileBuilder {
    public var is64 = true
    public var machine: UInt16 = 62
    public var symbols: [(name: String, value: UInt64)] = []
    /// Write the table as SHT_DYNSYM instead of SHT_SYMTAB.
    public var dynamic = false

    public init() {}

    public func build() -> [UInt8] {
        var w = ByteWriter(order: .little)
        let ehsize = is64 ? 64 : 52, shentsize = is64 ? 64 : 40, symsize = is64 ? 24 : 16
        var strtab: [UInt8] = [0]
        var symtab = [UInt8](repeating: 0, count: symsize)
        for s in symbols {
            var e = ByteWriter(order: .little)
            let name = UInt32(strtab.count)
            strtab += Array(s.name.utf8) + [0]
            if is64 {
                e.u32(name, at: 0); e.raw([0x11, 0], at: 4); e.u16(1, at: 6); e.u64(s.value, at: 8); e.u64(8, at: 16)
            } else {
                e.u32(name, at: 0); e.u32(UInt32(truncatingIfNeeded: s.value), at: 4); e.u32(4, at: 8); e.raw([0x11, 0], at: 12); e.u16(1, at: 14)
            }
            symtab += e.bytes
        }
        let shstrtab: [UInt8] = Array("\0.strtab\0.symtab\0.shstrtab\0".utf8)
        let strAt = ehsize, symAt = strAt + strtab.count, shstrAt = symAt + symtab.count
        let shoff = (shstrAt + shstrtab.count + 7) / 8 * 8
        w.raw([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1, 9], at: 0)  // ELFOSABI_FREEBSD
        w.u16(2, at: 16); w.u16(machine, at: 18); w.u32(1, at: 20)
        if is64 {
            w.u64(UInt64(shoff), at: 40); w.u16(UInt16(ehsize), at: 52); w.u16(UInt16(shentsize), at: 58); w.u16(4, at: 60); w.u16(3, at: 62)
        } else {
            w.u32(UInt32(shoff), at: 32); w.u16(UInt16(ehsize), at: 40); w.u16(UInt16(shentsize), at: 46); w.u16(4, at: 48); w.u16(3, at: 50)
        }
        w.raw(strtab, at: strAt); w.raw(symtab, at: symAt); w.raw(shstrtab, at: shstrAt)
        func section(_ i: Int, name: UInt32, type: UInt32, offset: Int, size: Int, link: UInt32, entsize: Int) {
            let o = shoff + i * shentsize
            if is64 {
                w.u32(name, at: o); w.u32(type, at: o + 4); w.u64(UInt64(offset), at: o + 24); w.u64(UInt64(size), at: o + 32)
                w.u32(link, at: o + 40); w.u64(UInt64(entsize), at: o + 56)
            } else {
                w.u32(name, at: o); w.u32(type, at: o + 4); w.u32(UInt32(offset), at: o + 16); w.u32(UInt32(size), at: o + 20)
                w.u32(link, at: o + 24); w.u32(UInt32(entsize), at: o + 36)
            }
        }
        w.grow(to: shoff + 4 * shentsize)
        section(1, name: 1, type: 3, offset: strAt, size: strtab.count, link: 0, entsize: 0)
        section(2, name: 9, type: dynamic ? 11 : 2, offset: symAt, size: symtab.count, link: 1, entsize: symsize)
        section(3, name: 17, type: 3, offset: shstrAt, size: shstrtab.count, link: 0, entsize: 0)
        return w.bytes
    }
}
