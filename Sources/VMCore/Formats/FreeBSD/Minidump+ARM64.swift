extension FreeBSDMinidumpHeader {
    /// Mirrors `struct minidumphdr`, FreeBSD `sys/arm64/include/minidump.h` (freebsd.md §4.2):
    /// `magic[24] version msgbufsize bitmapsize pmapsize kernbase dmapphys dmapbase dmapend`,
    /// then `dumpavailsize` from version 2 and `flags` from version 3. The page size is in
    /// `flags & MINIDUMP_FLAG_PS_MASK` (`PS_4K` 0, `PS_16K` 1; 64 KiB reserved); before v3 it is
    /// 4 KiB, as libkvm `_aarch64_minidump_initvtop` assumes.
    static func arm64(_ r: ByteReader) throws(VMCoreError) -> FreeBSDMinidumpHeader {
        let version = try Self.version(r, .arm64, 1...3)
        let flags: UInt32? = version >= 3 ? try r.u32(76, "flags") : nil
        let pageSize: Int
        switch (flags ?? 0) & 3 {
        case 0: pageSize = 4096
        case 1: pageSize = 16384
        case let f:
            throw VMCoreError(.unsupported, file: r.file, offset: 76, "unsupported arm64 minidump page size flag \(f)",
                              "expected 0 (4 KiB pages) or 1 (16 KiB pages)" + (f == 2 ? "; 2 is reserved for 64 KiB pages, which FreeBSD does not write" : ""))
        }
        return FreeBSDMinidumpHeader(
            machine: .arm64,
            version: version,
            messageBufferSize: try r.u32(28, "msgbufsize"),
            bitmapSize: try r.u32(32, "bitmapsize"),
            pmapSize: try r.u32(36, "pmapsize"),
            kernelBase: try r.u64(40, "kernbase"),
            directMapPhysical: try r.u64(48, "dmapphys"),
            directMapBase: try r.u64(56, "dmapbase"),
            directMapEnd: try r.u64(64, "dmapend"),
            dumpAvailSize: version >= 2 ? try r.u32(72, "dumpavailsize") : 0,
            flags: flags,
            paeMode: nil,
            pageSize: pageSize,
            pmapEntrySize: 8)
    }
}

extension FreeBSDMinidump {
    /// Block and page attributes (`ATTR_MASK`, FreeBSD `sys/arm64/include/pte.h`): what is left
    /// of an L3 entry is the output address.
    static let arm64AttributeMask: UInt64 = 0xfffc_0000_0000_0fff

    /// Kernel virtual to physical, as libkvm's `_aarch64_minidump_vatop`
    /// (`lib/libkvm/kvm_minidump_aarch64.c`): the direct map first (it lies above `kernbase`),
    /// then one L3 entry per page of KVA from `kernbase`. The writer
    /// (`sys/arm64/arm64/minidump_machdep.c`) expands L1 and L2 blocks into such entries, so
    /// every mapping is a page here; an entry maps only if its descriptor bits are `L3_PAGE` (3).
    func translateARM64(_ va: UInt64, detailed: Bool = true) throws(VMCoreError) -> Translation {
        if let t = try directMap(va) { return t }
        guard va >= kernelBase else { throw notKernelAddress(va) }
        let shift: UInt64 = pageSize == 16384 ? 14 : 12
        let index = (va - kernelBase) >> shift
        let e = try pmapEntry(index, translating: va)
        let step = TranslationStep(level: "l3", tableAddress: pmapOffset, index: Int(index), entry: e, flags: detailed ? Self.arm64Flags(e) : [])
        guard e & 3 == 3 else {
            throw VMCoreError(.translation, file: source.name, "L3 entry is not a page", "l3[\(index)] = \(hex(e)) while translating \(hex(va))")
        }
        // libkvm finds the page by `pa / page_size`, so address bits below the page size count for nothing.
        let mask = UInt64(pageSize - 1)
        return Translation(virtual: va, physical: (e & ~Self.arm64AttributeMask & ~mask) | (va & mask),
                           pageSize: UInt64(pageSize), steps: detailed ? [step] : [])
    }

    /// Names of the attribute bits set in an L3 entry (`sys/arm64/include/pte.h`).
    static func arm64Flags(_ e: UInt64) -> [String] {
        var out: [String] = []
        if e & 3 == 3 { out.append("PAGE") } else if e & 1 != 0 { out.append("V") }
        let names: [(Int, String)] = [(6, "USER"), (7, "RO"), (10, "AF"), (11, "nG"), (51, "DBM"), (52, "CONT"),
                                      (53, "PXN"), (54, "UXN"), (55, "WIRED"), (56, "MANAGED")]
        out += names.filter { e >> UInt64($0.0) & 1 != 0 }.map(\.1)
        return out
    }
}
