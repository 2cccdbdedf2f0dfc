extension FreeBSDMinidumpHeader {
    /// Mirrors `struct minidumphdr`, FreeBSD `sys/amd64/include/minidump.h` (freebsd.md §4.1):
    /// `magic[24] version msgbufsize bitmapsize pmapsize kernbase dmapbase dmapend`, and
    /// `dumpavailsize` from version 3. Pages are 4 KiB; v1 calls `pmapsize` `ptesize`.
    static func amd64(_ r: ByteReader) throws(VMCoreError) -> FreeBSDMinidumpHeader {
        let version = try Self.version(r, .amd64, 1...3)
        return FreeBSDMinidumpHeader(
            machine: .amd64,
            version: version,
            messageBufferSize: try r.u32(28, "msgbufsize"),
            bitmapSize: try r.u32(32, "bitmapsize"),
            pmapSize: try r.u32(36, "pmapsize"),
            kernelBase: try r.u64(40, "kernbase"),
            directMapPhysical: 0,
            directMapBase: try r.u64(48, "dmapbase"),
            directMapEnd: try r.u64(56, "dmapend"),
            dumpAvailSize: version >= 3 ? try r.u32(64, "dumpavailsize") : 0,
            flags: nil,
            paeMode: nil,
            pageSize: 4096,
            pmapEntrySize: 8)
    }
}

extension FreeBSDMinidump {
    /// libkvm's `_amd64_minidump_vatop` (`lib/libkvm/kvm_minidump_amd64.c`): the dumped pmap
    /// holds one PDE per 2 MiB of KVA from `kernbase` (v2+; a PTE per 4 KiB in v1), and the
    /// page tables PDEs point at are themselves dumped pages.
    var amd64PmapForm: (any PagingForm, Int) {
        (X86_64Paging(names: .freebsd), version == 1 ? 3 : 2)
    }
}
