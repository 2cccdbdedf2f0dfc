/// Writing kdump-compressed files, beside their readers: the main header, the sub header, the
/// bitmaps and the page descriptors, as makedumpfile's `write_kdump_header()` and
/// `write_kdump_pages_and_bitmap_cyclic()` lay them out (linux.md A1). A writer assembles
/// them: header block, sub header blocks (with notes, VMCOREINFO), the bitmaps, descriptors,
/// then page data.
extension DiskDumpHeader {
    /// A header to encode; the fields not given are zero.
    public init(headerVersion: Int32, utsname: [String], timestampSeconds: Int64, status: UInt32, blockSize: Int32,
                subHeaderBlocks: Int32, bitmapBlocks: UInt32, maxMapnr: UInt32, nrCPUs: Int32, is64: Bool, order: ByteOrder) {
        signature = "KDUMP   "
        self.headerVersion = headerVersion
        let names = utsname + [String](repeating: "", count: max(0, 6 - utsname.count))
        (sysname, nodename, release, version, machine, domainname) = (names[0], names[1], names[2], names[3], names[4], names[5])
        self.timestampSeconds = timestampSeconds
        timestampMicroseconds = 0
        self.status = status
        self.blockSize = blockSize
        self.subHeaderBlocks = subHeaderBlocks
        self.bitmapBlocks = bitmapBlocks
        self.maxMapnr = maxMapnr
        self.nrCPUs = nrCPUs
        self.is64 = is64
        self.order = order
    }

    /// Block 0: `struct disk_dump_header` zero-padded to `blockSize` (the 64-bit layout, or the
    /// 32-bit one whose `timeval` is two 4-byte words at 404).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(order: order)
        w.raw(Array(signature.utf8.prefix(8)), at: 0)
        w.i32(headerVersion, at: 8)
        for (i, s) in [sysname, nodename, release, version, machine, domainname].enumerated() {
            w.cString(s, at: 12 + 65 * i, size: 65)
        }
        let (ts, st) = is64 ? (408, 424) : (404, 412)
        w.word(UInt64(bitPattern: timestampSeconds), at: ts, is64: is64)
        w.word(UInt64(bitPattern: timestampMicroseconds), at: ts + (is64 ? 8 : 4), is64: is64)
        w.u32(status, at: st)
        w.i32(blockSize, at: st + 4)
        w.i32(subHeaderBlocks, at: st + 8)
        w.u32(bitmapBlocks, at: st + 12)
        w.u32(maxMapnr, at: st + 16)
        w.i32(nrCPUs, at: st + 36)
        w.grow(to: Int(blockSize))
        return w.bytes
    }
}

extension KdumpSubHeader {
    /// Bytes of the fixed part of the sub header in `layout` (notes and VMCOREINFO follow it).
    public static func size(_ layout: Layout) -> Int {
        switch layout {
        case .abi64: 104
        case .pack32: 80
        case .pad32: 96
        }
    }

    /// The fields `headerVersion` has, in `layout` and `order` (`Self.size(layout)` bytes).
    public func encoded(headerVersion version: Int32, order: ByteOrder) -> [UInt8] {
        var w = ByteWriter(count: Self.size(layout), order: order)
        let is64 = layout == .abi64
        let at = layout.offset
        w.word(physBase, at: 0, is64: is64)
        w.i32(dumpLevel, at: at(8, 4, 4))
        if version >= 2 {
            w.i32(split, at: at(12, 8, 8))
            w.word(startPFN, at: at(16, 12, 12), is64: is64)
            w.word(endPFN, at: at(24, 16, 16), is64: is64)
        }
        if version >= 3 {
            w.u64(vmcoreinfoOffset, at: at(32, 20, 24))
            w.word(vmcoreinfoSize, at: at(40, 28, 32), is64: is64)
        }
        if version >= 4 {
            w.u64(noteOffset, at: at(48, 32, 40))
            w.word(noteSize, at: at(56, 40, 48), is64: is64)
        }
        if version >= 5 {
            w.u64(eraseinfoOffset, at: at(64, 44, 56))
            w.word(eraseinfoSize, at: at(72, 52, 64), is64: is64)
        }
        if version >= 6 {
            w.u64(startPFN64, at: at(80, 56, 72))
            w.u64(endPFN64, at: at(88, 64, 80))
            w.u64(maxMapnr64, at: at(96, 72, 88))
        }
        return w.bytes
    }
}

extension KdumpFile.PageDescriptor {
    /// Bytes of one `struct page_desc`.
    public static let size = 24

    /// A descriptor with `page_flags` 0, as makedumpfile writes them.
    public init(offset: UInt64, size: UInt32, flags: UInt32) {
        self.init(offset: offset, size: size, flags: flags, pageFlags: 0)
    }

    /// `struct page_desc`: `offset` (u64), `size` (u32), `flags` (u32), `page_flags` (u64).
    public func encoded(order: ByteOrder) -> [UInt8] {
        var w = ByteWriter(count: Self.size, order: order)
        w.u64(offset, at: 0)
        w.u32(size, at: 8)
        w.u32(flags, at: 12)
        w.u64(pageFlags, at: 16)
        return w.bytes
    }
}

extension PageBitmap {
    /// A bitmap of `bitCount` bits with the bits of `pfns` set (bit `n` is bit `n % 8` of byte
    /// `n / 8`), zero-padded to whole blocks of `blockSize` bytes, as makedumpfile writes it.
    public static func encoded(_ pfns: some Sequence<UInt64>, bitCount: UInt64, blockSize: Int) -> [UInt8] {
        let blocks = Int(((bitCount + 7) / 8 + UInt64(blockSize) - 1) / UInt64(blockSize))
        var bytes = [UInt8](repeating: 0, count: blocks * blockSize)
        for pfn in pfns where pfn < bitCount { bytes[Int(pfn / 8)] |= 1 << (pfn % 8) }
        return bytes
    }
}
