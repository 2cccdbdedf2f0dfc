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
    /// Kernel virtual to physical, as libkvm's `_amd64_minidump_vatop`
    /// (`lib/libkvm/kvm_minidump_amd64.c`): the direct map is linear from physical 0; above
    /// `kernbase` the dumped pmap gives one PDE per 2 MiB (v2+; a PTE per 4 KiB in v1), whose
    /// page tables are themselves dumped pages.
    func translateAMD64(_ va: UInt64, detailed: Bool = true) throws(VMCoreError) -> Translation {
        let file = source.name
        if let t = try directMap(va) { return t }
        guard va >= kernelBase else { throw notKernelAddress(va) }
        let entryIndex = version == 1 ? (va - kernelBase) >> 12 : (va - kernelBase) >> 21
        let e = try pmapEntry(entryIndex, translating: va)
        let step = TranslationStep(level: version == 1 ? "pte" : "pde", tableAddress: pmapOffset, index: Int(entryIndex), entry: e,
                                   flags: detailed ? X86_64Paging().flags(e, level: version == 1 ? 3 : 2) : [])
        guard e & 1 != 0 else {
            throw VMCoreError(.translation, file: file, "\(step.level.uppercased()) not present", "\(step.level)[\(entryIndex)] = \(hex(e)) while translating \(hex(va))")
        }
        if version == 1 {
            return Translation(virtual: va, physical: (e & 0x000f_ffff_ffff_f000) | (va & 0xfff), pageSize: 4096, steps: detailed ? [step] : [])
        }
        if e & 0x80 != 0 {
            return Translation(virtual: va, physical: (e & 0x000f_ffff_ffe0_0000) | (va & 0x1f_ffff), pageSize: 1 << 21, steps: detailed ? [step] : [])
        }
        let table = e & 0x000f_ffff_ffff_f000
        let index = Int((va >> 12) & 511)
        let pte = try tableEntry(table, index)
        let step2 = TranslationStep(level: "pte", tableAddress: table, index: index, entry: pte, flags: detailed ? X86_64Paging().flags(pte, level: 3) : [])
        guard pte & 1 != 0 else {
            throw VMCoreError(.translation, file: file, "PTE not present", "pte[\(index)] = \(hex(pte)) while translating \(hex(va))")
        }
        return Translation(virtual: va, physical: (pte & 0x000f_ffff_ffff_f000) | (va & 0xfff), pageSize: 4096, steps: detailed ? [step, step2] : [])
    }
}
