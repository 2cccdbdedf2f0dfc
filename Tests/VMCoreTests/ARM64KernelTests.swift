import Testing
import VMCore
import VMCoreTestSupport

/// The arm64 kernel locator on kernel memory built in code: Debian's 52-bit kernel on a
/// 48-bit CPU, and what happens when VMCOREINFO lacks or contradicts what it needs.
@Suite("arm64 Linux kernel placement")
struct ARM64KernelTests {
    typealias B = ARM64KernelMemoryBuilder

    func kernel(_ b: B, withVMCOREINFO: Bool = true) throws -> LinuxKernel {
        try LinuxKernel(dump: try openDump(b.buildSparseELF(withVMCOREINFO: withVMCOREINFO), name: "arm64.vmcore"))
    }

    @Test("52-bit kernel running 48-bit: root, levels, kimage_voffset, negative PHYS_OFFSET, both mappings")
    func placement() throws {
        var b = B()
        let banner = b.place(Array("Linux version 6.12.0-arm64-test (test) #1 SMP\n\0".utf8))
        let k = try kernel(b)
        let a = try #require(k.aarch64)
        #expect(k.dump.architecture == .aarch64)
        #expect(k.pageTableRoot.value == b.tables.root)
        #expect(k.pagingLevels.value == 4)
        #expect(k.kaslrOffset.value == B.kaslrOffset)
        #expect(a.kimageVoffset.value == B.kimageVoffset)
        #expect(a.configuredVABits == 52 && a.vaBits.value == 48)
        #expect(a.physOffset?.value == B.physOffset)
        #expect(a.physOffset!.value >> 63 == 1)
        // The page tables and PHYS_OFFSET agree on the linear map: no warning.
        #expect(a.linearOffset?.value == B.linearBase)
        #expect(a.linearOffset?.source == "page tables (SYMBOL(mem_section))")
        #expect(a.warnings.isEmpty)
        // The same bytes through the image mapping and through the linear map.
        let viaImage = try k.addressSpace.read(virtual: banner, count: 14)
        let viaLinear = try k.addressSpace.read(virtual: B.linearBase + B.physical(ofImage: banner), count: 14)
        #expect(viaImage == Array("Linux version ".utf8))
        #expect(viaLinear == viaImage)
        // The banner search finds it in the image's read-only data (PXN + RO).
        #expect(k.banner(release: "6.12.0-arm64-test", version: nil)?.value == "Linux version 6.12.0-arm64-test (test) #1 SMP")
        let facts = try k.facts()
        #expect(facts.linux?.kimageVoffset == hex(B.kimageVoffset))
        #expect(facts.linux?.physOffset == hex(B.physOffset))
        #expect(facts.linux?.vaBits == 48 && facts.linux?.vaBitsConfigured == 52)
        #expect(facts.linux?.linearMapOffset == hex(B.linearBase))
        #expect(facts.linux?.pagingLevels == 4)
    }

    @Test("VMCOREINFO without kimage_voffset or swapper_pg_dir: the error names what is missing")
    func missingKeys() throws {
        var b = B()
        b.omit = ["NUMBER(kimage_voffset)"]
        let e = caught { try kernel(b) }
        #expect(e?.description == "arm64.vmcore: cannot locate the arm64 kernel: its VMCOREINFO has no NUMBER(kimage_voffset)")
        b.omit = ["NUMBER(kimage_voffset)", "SYMBOL(swapper_pg_dir)"]
        #expect(caught { try kernel(b) }?.description.hasSuffix("has no SYMBOL(swapper_pg_dir) or NUMBER(kimage_voffset)") == true)
    }

    @Test("no VMCOREINFO anywhere: says no TTBR1 is saved; the kernel's own note in RAM is found")
    func withoutVMCOREINFO() throws {
        var b = B()
        let plain = caught { try kernel(b, withVMCOREINFO: false) }
        #expect(plain?.kind == .translation)
        #expect(plain?.description.contains("hold no TTBR1") == true)
        // The kernel's note, as kernel/vmcore_info.c leaves it in its own page.
        let text = Array(b.vmcoreinfoText.utf8)
        let size = UInt32(text.count)
        let note: [UInt8] = [11, 0, 0, 0] + (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) } + [0, 0, 0, 0]
            + Array("VMCOREINFO\0\0".utf8) + text
        let at = b.place(note, align: 4096)
        let k = try kernel(b, withVMCOREINFO: false)
        #expect(k.recoveredVMCoreInfoAddress == B.physical(ofImage: at) + 24)
        #expect(k.aarch64?.kimageVoffset.source == "recovered VMCOREINFO kimage_voffset")
        #expect(k.kaslrOffset.value == B.kaslrOffset)
    }

    @Test("a PHYS_OFFSET the page tables contradict is reported; the page tables win")
    func contradiction() throws {
        var b = B()
        b.omit = ["NUMBER(PHYS_OFFSET)"]
        b.vmcoreinfo = ["NUMBER(PHYS_OFFSET)=0x40000000"]
        let a = try #require(try kernel(b).aarch64)
        #expect(a.linearOffset?.value == B.linearBase)
        #expect(a.warnings.count == 1)
        #expect(a.warnings.first?.hasPrefix("the linear map is at offset 0xffff000000000000 in the page tables") == true)
        // Without a linear address to translate, PHYS_OFFSET and VA_BITS are all there is.
        b.omit = ["SYMBOL(mem_section)"]
        b.vmcoreinfo = []
        let f = try #require(try kernel(b).aarch64)
        #expect(f.linearOffset?.source == "VMCOREINFO PHYS_OFFSET and VA_BITS")
        #expect(f.linearOffset?.value == B.linearBase)
    }

    @Test("no TCR_EL1_T1SZ (5.4–5.8): a 52-bit kernel's running width is read from mem_section's address")
    func noT1SZ() throws {
        var b = B()
        b.omit = ["NUMBER(TCR_EL1_T1SZ)"]
        let a = try #require(try kernel(b).aarch64)
        #expect(a.vaBits.value == 48)
        #expect(a.vaBits.source == "VMCOREINFO SYMBOL(mem_section) (no TCR_EL1_T1SZ)")
    }
}

@Suite("init_uts_ns")
struct UTSNameTests {
    /// `struct uts_namespace` with `name` at `offset` (5.10: after a `struct kref`).
    func namespace(offset: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: offset + 65 * 6)
        for (i, field) in ["Linux", "guest", "5.10.0-32-cloud-arm64", "#1 SMP Debian 5.10.223-1 (2024-08-10)", "aarch64", "(none)"].enumerated() {
            bytes.replaceSubrange(offset + 65 * i..<offset + 65 * i + field.utf8.count, with: Array(field.utf8))
        }
        if offset > 0 { bytes[0] = 1 }  // kref.refcount
        return bytes
    }

    @Test("without OFFSET(uts_namespace.name), name is found after the kref (before 5.11)", arguments: [0, 4, 8])
    func withoutOffset(_ offset: Int) throws {
        var b = ARM64KernelMemoryBuilder()
        let ns = b.place(namespace(offset: offset))
        b.vmcoreinfo = ["SYMBOL(init_uts_ns)=" + String(ns, radix: 16)]
        let k = try LinuxKernel(dump: try openDump(b.buildSparseELF(), name: "arm64.vmcore"))
        let uts = try k.utsname()
        #expect(uts.release == "5.10.0-32-cloud-arm64")
        #expect(uts.version == "#1 SMP Debian 5.10.223-1 (2024-08-10)")
        #expect(uts.machine == "aarch64")
        // An OFFSET the kernel gives is used as it is.
        b.vmcoreinfo.append("OFFSET(uts_namespace.name)=\(offset)")
        #expect(try LinuxKernel(dump: try openDump(b.buildSparseELF())).utsname().nodename == "guest")
    }
}
