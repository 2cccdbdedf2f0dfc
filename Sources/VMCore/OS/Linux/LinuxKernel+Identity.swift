/// What the kernel says it is: `init_uts_ns` and the `linux_banner` string.
extension LinuxKernel {
    /// `struct new_utsname` (include/uapi/linux/utsname.h): six `char[65]` fields.
    public struct UTSName: Sendable, Codable, Equatable {
        public var sysname: String
        public var nodename: String
        public var release: String
        public var version: String
        public var machine: String
        public var domainname: String
    }

    /// `init_uts_ns.name`, read through the page tables (SYMBOL(init_uts_ns) and
    /// OFFSET(uts_namespace.name) from VMCOREINFO). Kernels that do not give the offset
    /// (before 5.11, when `name` followed a `struct kref`) have it at 0, 4 or 8: the one where
    /// `sysname` reads "Linux".
    public func utsname() throws(VMCoreError) -> UTSName {
        guard let info = vmcoreinfo?.value, let ns = info.symbol("init_uts_ns") else {
            throw VMCoreError(.notInDump, file: dump.files[0], "cannot find init_uts_ns", "VMCOREINFO names no SYMBOL(init_uts_ns)")
        }
        var offset = info.offset("uts_namespace.name") ?? 0
        if info.offset("uts_namespace.name") == nil, let head = try? addressSpace.read(virtual: ns, count: 16) {
            let linux = Array("Linux\0".utf8)
            offset = [0, 4, 8].first { head[$0..<$0 + 6].elementsEqual(linux) }.map(UInt64.init) ?? 0
        }
        let base = ns &+ offset
        let bytes = try addressSpace.read(virtual: base, count: 65 * 6)
        let r = ByteReader(bytes, file: dump.files[0], base: 0, order: .little)
        return UTSName(sysname: try r.cString(0, 65, "sysname"), nodename: try r.cString(65, 65, "nodename"),
                       release: try r.cString(130, 65, "release"), version: try r.cString(195, 65, "version"),
                       machine: try r.cString(260, 65, "machine"), domainname: try r.cString(325, 65, "domainname"))
    }

    /// The full `linux_banner` ("Linux version … (…@…) (gcc …) #1 SMP …"), found in the kernel's
    /// read-only data, or, when `everywhere`, in all of memory. `release` and `version` (from
    /// `init_uts_ns`) pick this kernel's banner: 6.1+ also keeps a weak copy whose version lacks
    /// the build number (`init/version.c` vs `init/version-timestamp.c`).
    public func banner(release: String?, version: String?, everywhere: Bool = false) -> Sourced<String>? {
        let needle = Array("Linux version \(release.map { $0 + " (" } ?? "")".utf8)
        let ps = UInt64(dump.pageSize)
        let regions = everywhere ? dump.memory.storedPageRuns().compactMap { run -> Range<UInt64>? in
            guard let lower = Checked.product(run.lowerBound, ps) else { return nil }
            return lower..<(Checked.product(run.upperBound, ps) ?? UInt64.max)
        } : readOnlyImageRegions()
        let chunkSize: UInt64 = 1 << 20
        for region in regions {
            var at = region.lowerBound
            while at < region.upperBound {
                let n = min(chunkSize + 512, region.upperBound - at)
                defer { at = region.upperBound - at > chunkSize ? at + chunkSize : region.upperBound }
                guard let bytes = readAvailable(at, Int(n)) else { continue }
                var from = 0
                while let i = ByteSearch.firstIndex(of: needle, in: bytes, range: from..<bytes.count) {
                    from = i + 1
                    // The banner is one line ending in "\n\0".
                    let end = bytes[i...].prefix(512).firstIndex(of: 0) ?? bytes.count
                    let line = bytes[i..<end]
                    guard line.last == 0x0a, !line.dropLast().contains(0x0a), line.allSatisfy({ $0 >= 0x20 || $0 == 0x0a }) else { continue }
                    let text = String(decoding: line.dropLast(), as: UTF8.self)
                    if let version, !text.hasSuffix(") " + version) { continue }
                    if version == nil, text.contains(") # ") { continue }
                    let source = everywhere ? "memory scan at physical \(hex(at + UInt64(i)))" : "kernel rodata at physical \(hex(at + UInt64(i)))"
                    return Sourced(value: text, source: source)
                }
            }
        }
        return nil
    }

    /// Physical ranges of the kernel image mapped read-only and non-executable (its rodata),
    /// from the kernel-image page tables: at most 64 MiB from `_text`, stopping at the first hole.
    func readOnlyImageRegions() -> [Range<UInt64>] { readOnlyImage().physical }

    /// The same read-only data as kernel virtual ranges.
    func readOnlyImageVirtualRanges() -> [Range<UInt64>] { readOnlyImage().virtual }

    func readOnlyImage() -> (physical: [Range<UInt64>], virtual: [Range<UInt64>]) {
        guard let text = imageStart else { return ([], []) }
        var regions: [Range<UInt64>] = []
        var virtual: [Range<UInt64>] = []
        var va = text
        // Addresses wrap as the kernel's do: a damaged KASLR offset must not trap here.
        while va &- text < 64 << 20 {
            guard let t = try? addressSpace.translate(va) else { break }
            let flags = t.steps.last?.flags ?? []
            let end = va - (va & (t.pageSize - 1)) &+ t.pageSize
            if end == 0 { break }
            if Self.isReadOnlyData(flags), t.physical < t.physical &+ (end - va) {
                let start = t.physical, stop = t.physical &+ (end - va)
                if let last = regions.last, last.upperBound == start { regions[regions.count - 1] = last.lowerBound..<stop } else { regions.append(start..<stop) }
                if let last = virtual.last, last.upperBound == va { virtual[virtual.count - 1] = last.lowerBound..<end } else { virtual.append(va..<end) }
            }
            va = end
        }
        return (regions, virtual)
    }

    /// True for an entry that maps data read-only and never executable: x86-64 NX without RW,
    /// arm64 PXN with AP[2] (RO).
    static func isReadOnlyData(_ flags: [String]) -> Bool {
        (flags.contains("NX") && !flags.contains("RW")) || (flags.contains("PXN") && flags.contains("RO"))
    }

    /// Bytes at `address`, zero where a page is not in the dump; nil if none is.
    func readAvailable(_ address: UInt64, _ count: Int) -> [UInt8]? {
        if let all = try? dump.memory.read(physical: address, count: count) { return all }
        let ps = dump.pageSize
        var out = [UInt8](repeating: 0, count: count)
        var any = false
        var done = 0
        while done < count {
            let a = address &+ UInt64(done)
            let n = min(count - done, ps - Int(a % UInt64(ps)))
            if (try? dump.memory.read(physical: a, into: &out, bufferOffset: done, count: n)) != nil { any = true }
            done += n
        }
        return any ? out : nil
    }
}
