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
    /// libkvm's `_aarch64_minidump_vatop` (`lib/libkvm/kvm_minidump_aarch64.c`): one L3 entry
    /// per page of KVA from `kernbase`. The writer (`sys/arm64/arm64/minidump_machdep.c`)
    /// expands L1 and L2 blocks into such entries, so every mapping is a page here; an entry
    /// maps only if its descriptor bits are `L3_PAGE` (3). What `ATTR_MASK`
    /// (`sys/arm64/include/pte.h`) leaves of it, bits 49–12, is the output address; bits 55
    /// and 56 are FreeBSD's `ATTR_SW_WIRED` and `ATTR_SW_MANAGED`.
    var arm64PmapForm: (any PagingForm, Int) {
        let form = AArch64Paging(granule: UInt64(pageSize), virtualBits: 48, outputAddressBits: 50,
                                 softwareBits: [(55, "WIRED"), (56, "MANAGED")])
        return (form, form.levels.count - 1)
    }
}
