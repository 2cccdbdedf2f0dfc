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
    /// Bits 63–54 of a PTE are not address (`PTE_HI_MASK`, FreeBSD `sys/riscv/include/pte.h`;
    /// Svpbmt keeps memory types there).
    static let riscvHighMask: UInt64 = 0xffc0_0000_0000_0000

    /// Kernel virtual to physical, as libkvm's `_riscv_minidump_vatop`
    /// (`lib/libkvm/kvm_minidump_riscv.c`): the direct map first (it lies above `kernbase`), then
    /// one L3 PTE per 4 KiB of KVA from `kernbase`, a leaf if `V` and any of `R`, `W`, `X` are set;
    /// the page is the PPN (bits 53–10) shifted to bit 12. The writer
    /// (`sys/riscv/riscv/minidump_machdep.c`) expands 2 MiB superpages into such PTEs.
    func translateRISCV(_ va: UInt64, detailed: Bool = true) throws(VMCoreError) -> Translation {
        if let t = try directMap(va) { return t }
        guard va >= kernelBase else { throw notKernelAddress(va) }
        let index = (va - kernelBase) >> 12
        let e = try pmapEntry(index, translating: va)
        let step = TranslationStep(level: "l3", tableAddress: pmapOffset, index: Int(index), entry: e, flags: detailed ? Self.riscvFlags(e) : [])
        guard e & 1 != 0, e & 0xe != 0 else {
            throw VMCoreError(.translation, file: source.name, "L3 PTE is not a valid leaf", "l3[\(index)] = \(hex(e)) while translating \(hex(va))")
        }
        return Translation(virtual: va, physical: ((e & ~Self.riscvHighMask) >> 10) << 12 | (va & 0xfff), pageSize: 4096, steps: detailed ? [step] : [])
    }

    /// Names of the bits set in a PTE (`sys/riscv/include/pte.h`).
    static func riscvFlags(_ e: UInt64) -> [String] {
        let names: [(Int, String)] = [(0, "V"), (1, "R"), (2, "W"), (3, "X"), (4, "U"), (5, "G"), (6, "A"), (7, "D"),
                                      (8, "WIRED"), (9, "MANAGED")]
        return names.filter { e >> UInt64($0.0) & 1 != 0 }.map(\.1)
    }
}
