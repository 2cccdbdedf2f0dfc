extension FreeBSDMinidumpHeader {
    /// Mirrors `struct minidumphdr`, FreeBSD `sys/i386/include/minidump.h` (freebsd.md §4.3):
    /// `magic[24] version msgbufsize bitmapsize ptesize kernbase paemode` with a 32-bit
    /// `kernbase`, and `dumpavailsize` from version 2 (version 1 already had
    /// `paemode`). Pages are 4 KiB; the pmap holds 4-byte PTEs, 8-byte ones under PAE. There is
    /// no direct map.
    static func i386(_ r: ByteReader) throws(VMCoreError) -> FreeBSDMinidumpHeader {
        let version = try Self.version(r, .i386, 1...2)
        let messageBufferSize = try r.u32(28, "msgbufsize")
        let bitmapSize = try r.u32(32, "bitmapsize")
        let pteSize = try r.u32(36, "ptesize")
        let kernelBase = UInt64(try r.u32(40, "kernbase"))
        let pae = try r.u32(44, "paemode") != 0
        return FreeBSDMinidumpHeader(
            machine: .i386,
            version: version,
            messageBufferSize: messageBufferSize,
            bitmapSize: bitmapSize,
            pmapSize: pteSize,
            kernelBase: kernelBase,
            directMapPhysical: 0,
            directMapBase: 0,
            directMapEnd: 0,
            dumpAvailSize: version >= 2 ? try r.u32(48, "dumpavailsize") : 0,
            flags: nil,
            paeMode: pae,
            pageSize: 4096,
            pmapEntrySize: pae ? 8 : 4)
    }
}

extension FreeBSDMinidump {
    /// libkvm's `_i386_minidump_vatop` and `_i386_minidump_vatop_pae`
    /// (`lib/libkvm/kvm_minidump_i386.c`): one PTE per 4 KiB of KVA from `kernbase`, present if
    /// `PG_V`, framed by `PG_FRAME` or, under PAE, `PG_FRAME_PAE` (`lib/libkvm/kvm_i386.h`). The
    /// writer (`sys/i386/i386/minidump_machdep_base.c`) expands 4 MiB (2 MiB PAE) pages into
    /// PTEs. Addresses below `kernbase` are not dumped.
    var i386PmapForm: (any PagingForm, Int) {
        let pae = header.paeMode == true
        return (I386Paging(pae: pae), pae ? 2 : 1)
    }
}
