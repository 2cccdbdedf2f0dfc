/// Reading the kernel's kallsyms tables from its memory, through the VMCOREINFO kallsyms keys
/// (Linux 6.0+ and distribution backports; linux.md A4.5).
extension LinuxKernel {
    /// The kernel's symbol table, read once and kept.
    public func kallsyms() throws(VMCoreError) -> Kallsyms {
        if let done = kallsymsCache.withLock({ $0 }) { return try done.get() }
        let result: Result<Kallsyms, VMCoreError>
        do { result = .success(try loadKallsyms()) } catch { result = .failure(error) }
        kallsymsCache.withLock { $0 = result }
        return try result.get()
    }

    /// `address` as `symbol+0xoffset/0xsize`, when kallsyms names it (read once; nil when the
    /// table cannot be read).
    public func symbolize(_ address: UInt64) -> String? {
        guard let hit = lookupAddress(address) else { return nil }
        return "\(hit.symbol.name)+\(hex(hit.offset))" + (hit.symbol.size.map { "/\(hex($0))" } ?? "")
            + (hit.symbol.module.map { " [\($0)]" } ?? "")
    }

    /// The first symbol of a loaded module named `name`.
    public func moduleSymbol(named name: String) -> KernelSymbol? {
        for m in (try? modules()) ?? [] {
            if let s = m.symbols.first(where: { $0.name == name }) { return s }
        }
        return nil
    }

    /// The kallsyms VMCOREINFO keys this reader needs.
    static let kallsymsKeys = ["kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table", "kallsyms_token_index"]

    func loadKallsyms() throws(VMCoreError) -> Kallsyms {
        let file = dump.files[0]
        guard let vi = vmcoreinfo?.value else {
            throw VMCoreError(.notInDump, file: file, "cannot read kallsyms", "the dump has no VMCOREINFO to find its tables")
        }
        let missing = Self.kallsymsKeys.filter { vi.symbol($0) == nil }
            + (vi.symbol("kallsyms_offsets") == nil && vi.symbol("kallsyms_addresses") == nil ? ["kallsyms_offsets"] : [])
        guard let stext = vi.symbol("_stext") else {
            throw VMCoreError(.notInDump, file: file, "cannot read kallsyms", "VMCOREINFO names no SYMBOL(_stext), which tells how the addresses are stored")
        }
        guard missing.isEmpty, let namesAt = vi.symbol("kallsyms_names"), let countAt = vi.symbol("kallsyms_num_syms"),
              let tableAt = vi.symbol("kallsyms_token_table"), let indexAt = vi.symbol("kallsyms_token_index") else {
            return try findKallsyms(stext: stext, missing: missing)
        }
        func fail(_ e: KallsymsError) -> VMCoreError { VMCoreError(.corrupt, file: file, "kallsyms tables do not decode", e.description) }

        let count = try readInteger(at: countAt, size: 4, "kallsyms_num_syms")
        guard count > 0, count <= UInt64(KallsymsTables.maxSymbols) else {
            throw fail(KallsymsError("kallsyms_num_syms at \(hex(countAt)) is \(count)"))
        }
        let order = dump.byteOrder
        let indexBytes = try addressSpace.read(virtual: indexAt, count: 512)
        let tokenIndex = try ByteReader(indexBytes, file: file, base: indexAt, order: order)
            .uints(0, count: 256, width: 2, "kallsyms_token_index").map { UInt16(truncatingIfNeeded: $0) }
        // The token table ends at the NUL after its largest index.
        let last = Int(tokenIndex.max() ?? 0)
        var tokenTable = try addressSpace.read(virtual: tableAt, count: last + 1)
        while tokenTable.count <= last || !tokenTable[last...].contains(0) {
            guard tokenTable.count < last + 4096 else { throw fail(KallsymsError("the last token at \(last) of kallsyms_token_table has no end")) }
            tokenTable += try addressSpace.read(virtual: tableAt &+ UInt64(tokenTable.count), count: 64)
        }
        // The names stream, read until it holds `count` entries (at most 64 MiB).
        let longNames = Self.kernelVersion(vi.osRelease).map { $0 >= (6, 1) } ?? true
        var names: [UInt8] = []
        var chunk = min(Int(count) * 16, 1 << 20)
        while KallsymsTables.namesLength(names, count: Int(count), longNames: longNames) == nil {
            guard names.count < 64 << 20 else { throw fail(KallsymsError("kallsyms_names is longer than 64 MiB for \(count) symbols")) }
            names += try addressSpace.read(virtual: namesAt &+ UInt64(names.count), count: chunk)
            chunk = 1 << 20
        }
        var tables = KallsymsTables(numSyms: UInt32(count), names: names, tokenTable: tokenTable, tokenIndex: tokenIndex, longNames: longNames)
        if let at = vi.symbol("kallsyms_addresses") {
            tables.addresses = try readPointers(at: at, count: Int(count), "kallsyms_addresses")
        } else if let at = vi.symbol("kallsyms_offsets") {
            let bytes = try addressSpace.read(virtual: at, count: Int(count) * 4)
            tables.offsets = try ByteReader(bytes, file: file, base: at, order: order)
                .uints(0, count: Int(count), width: 4, "kallsyms_offsets").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
            tables.offsetsAddress = at
            if let base = vi.symbol("kallsyms_relative_base") { tables.relativeBase = try readPointer(at: base, "kallsyms_relative_base") }
        }
        switch tables.decode(stext: stext, source: "VMCOREINFO kallsyms keys") {
        case .success(let k): return k
        case .failure(let e): throw fail(e)
        }
    }

    /// Kernels whose VMCOREINFO does not name the tables: find them by their structure in the
    /// image's read-only data (`KallsymsFinder`), and keep the find only if it decodes `_stext`
    /// to VMCOREINFO's value.
    func findKallsyms(stext: UInt64, missing: [String]) throws(VMCoreError) -> Kallsyms {
        let file = dump.files[0]
        let longNames = Self.kernelVersion(vmcoreinfo?.value.osRelease).map { $0 >= (6, 1) } ?? false
        var why = "no kallsyms tables in the kernel image's read-only data"
        for range in readOnlyImageVirtualRanges() {
            let size = Int(min(range.upperBound &- range.lowerBound, 48 << 20))
            var bytes = [UInt8](repeating: 0, count: size)
            // Pages missing from the dump read as zero: the tables' own pages must be there.
            var at = 0
            while at < size {
                let n = min(size - at, 1 << 20)
                try? addressSpace.read(virtual: range.lowerBound &+ UInt64(at), into: &bytes, bufferOffset: at, count: n)
                at += n
            }
            guard let f = KallsymsFinder.find(in: bytes, littleEndian: dump.byteOrder == .little, longNames: longNames) else { continue }
            let base = range.lowerBound
            let n = Int(f.count)
            let r = ByteReader(bytes, file: file, base: base, order: dump.byteOrder)
            let index = try r.uints(f.tokenIndex, count: 256, width: 2, "kallsyms_token_index").map { UInt16(truncatingIfNeeded: $0) }
            let tables = KallsymsTables(numSyms: f.count, names: Array(bytes[f.names..<f.markers]), tokenTable: Array(bytes[f.tokenTable..<f.tokenIndex]),
                                        tokenIndex: index, longNames: longNames)
            // Before num_syms: kallsyms_relative_base and the offsets, or the absolute addresses.
            var candidates: [KallsymsTables] = []
            let offsetsAt = f.numSyms - 8 - (n * 4 + 7) / 8 * 8
            if offsetsAt >= 0 {
                var t = tables
                t.offsets = try r.uints(offsetsAt, count: n, width: 4, "kallsyms_offsets").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
                t.relativeBase = try r.u64(f.numSyms - 8, "kallsyms_relative_base")
                t.offsetsAddress = base &+ UInt64(offsetsAt)
                candidates.append(t)
            }
            let addressesAt = f.numSyms - n * 8
            if addressesAt >= 0 {
                var t = tables
                t.addresses = try r.uints(addressesAt, count: n, width: 8, "kallsyms_addresses")
                candidates.append(t)
            }
            let source = "found by structure at \(hex(base &+ UInt64(f.tokenIndex))) (kallsyms_token_index; VMCOREINFO has no kallsyms keys)"
            for t in candidates {
                switch t.decode(stext: stext, source: source) {
                case .success(let k): return k
                case .failure(let e): why = "tables found at \(hex(base &+ UInt64(f.tokenIndex))) do not decode: \(e)"
                }
            }
        }
        throw VMCoreError(.notInDump, file: file, "cannot read kallsyms",
                          "\(vmcoreinfo!.source) names no " + missing.map { "SYMBOL(\($0))" }.joined(separator: ", ") + " (the keys came with Linux 6.0), and " + why)
    }

    /// (major, minor) of an OSRELEASE such as "6.12.117+deb13-cloud-arm64".
    static func kernelVersion(_ release: String?) -> (Int, Int)? {
        guard let release else { return nil }
        let parts = release.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1].prefix { $0.isNumber }) else { return nil }
        return (major, minor)
    }
}
