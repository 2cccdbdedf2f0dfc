extension FreeBSDMinidumpHeader {
    /// Mirrors `struct minidumphdr`, FreeBSD `sys/riscv/include/minidump.h` (freebsd.md §4.4):
    /// `magic[24] version msgbufsize bitmapsize pmapsize kernbase dmapphys dmapbase dmapend`,
    /// and `dumpavailsize` from version 2 (libkvm `_riscv_minidump_initvtop` reads it only
    /// then). Pages are 4 KiB; the pmap holds 8-byte L3 PTEs.
    static func riscv(_ r: ByteReader) throws(VMCoreError) -> FreeBSDMinidumpHeader {
        let version = try Self.version(r, .riscv, 1...2)
        return FreeBSDMinidumpHeader(
            machine: .riscv,
            version: version,
            messageBufferSize: try r.u32(28, "msgbufsize"),
            bitmapSize: try r.u32(32, "bitmapsize"),
            pmapSize: try r.u32(36, "pmapsize"),
            kernelBase: try r.u64(40, "kernbase"),
            directMapPhysical: try r.u64(48, "dmapphys"),
            directMapBase: try r.u64(56, "dmapbase"),
            directMapEnd: try r.u64(64, "dmapend"),
            dumpAvailSize: version >= 2 ? try r.u32(72, "dumpavailsize") : 0,
            flags: nil,
            paeMode: nil,
            pageSize: 4096,
            pmapEntrySize: 8)
    }
}

extension FreeBSDMinidump {
    /// libkvm's `_riscv_minidump_vatop` (`lib/libkvm/kvm_minidump_riscv.c`): one L3 PTE per 4
    /// KiB of KVA from `kernbase`, a leaf if `V` and any of `R`, `W`, `X` are set. The writer
    /// (`sys/riscv/riscv/minidump_machdep.c`) expands 2 MiB superpages into such PTEs. Bits 8
    /// and 9 are FreeBSD's `PTE_SW_WIRED` and `PTE_SW_MANAGED`.
    var riscvPmapForm: (any PagingForm, Int) {
        let form = RISCV64Paging(levels: 3, softwareBits: [(8, "WIRED"), (9, "MANAGED")])
        return (form, form.levels.count - 1)
    }
}
