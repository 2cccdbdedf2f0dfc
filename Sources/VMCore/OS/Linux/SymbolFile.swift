/// Symbols a user has for the kernel that crashed: its `System.map`, or a `vmlinux` (its ELF
/// symbol table). Never required: kallsyms comes first; the file fills in what kallsyms lacks
/// (the data symbols of a kernel built without CONFIG_KALLSYMS_ALL, or a dump that lost the
/// tables' pages). Addresses are the file's link-time ones; `LinuxKernel.useSymbols(_:)`
/// relocates them by the kernel's KASLR offset and checks the file fits the dump.
public struct SymbolFile: Sendable {
    public let path: String
    /// "System.map" or "vmlinux .symtab".
    public let kind: String
    /// By address, then name.
    public let symbols: [KernelSymbol]
    let byName: [String: Int]

    /// Reads `path`: an ELF file's symbol table, or `System.map` text (`address type name`).
    public static func open(_ path: String) throws(VMCoreError) -> SymbolFile {
        let source = try FileSource(path: path)
        let head = try source.bytes(at: 0, count: Int(min(source.size, 4)), what: "the first bytes")
        var symbols: [KernelSymbol] = []
        let kind: String
        if head == [0x7f, 0x45, 0x4c, 0x46] {
            let table = try ELFSymbolTable(source: source)
            kind = "vmlinux \(table.tableName)"
            symbols = table.symbols.map { KernelSymbol(name: $0.name, address: $0.value, type: "?", size: $0.size == 0 ? nil : $0.size, module: nil) }
        } else {
            guard source.size <= 256 << 20 else {
                throw VMCoreError(.unsupported, file: path, "\(source.size) bytes is too large for a System.map", "expected a System.map (address, type, name per line) or a vmlinux")
            }
            let bytes = try source.bytes(at: 0, count: Int(source.size), what: "System.map")
            var lineNumber = 0
            for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: true) {
                lineNumber += 1
                let fields = line.split(separator: 0x20, omittingEmptySubsequences: true)
                guard fields.count >= 3, fields[1].count == 1,
                      let address = UInt64(String(decoding: fields[0], as: UTF8.self), radix: 16) else {
                    guard symbols.isEmpty, lineNumber <= 3 else { continue }
                    throw VMCoreError(.badMagic, file: path, "line \(lineNumber) is not 'address type name'",
                                      "expected a System.map or a vmlinux (ELF)")
                }
                let type = Character(Unicode.Scalar(fields[1][fields[1].startIndex]))
                symbols.append(KernelSymbol(name: String(decoding: fields[2], as: UTF8.self), address: address, type: type, size: nil, module: nil))
            }
            guard !symbols.isEmpty else { throw VMCoreError(.corrupt, file: path, "no symbols in the System.map") }
            kind = "System.map"
        }
        symbols.sort { ($0.address, $0.name) < ($1.address, $1.name) }
        // A System.map has no sizes: the gap to the next address, below 64 KiB, as kallsyms.
        for i in symbols.indices where symbols[i].size == nil {
            if let next = symbols[(i + 1)...].first(where: { $0.address > symbols[i].address }), next.address - symbols[i].address < 0x10000 {
                symbols[i].size = next.address - symbols[i].address
            }
        }
        var byName: [String: Int] = [:]
        for (i, s) in symbols.enumerated() where byName[s.name] == nil { byName[s.name] = i }
        return SymbolFile(path: path, kind: kind, symbols: symbols, byName: byName)
    }

    public func symbol(named name: String) -> KernelSymbol? { byName[name].map { symbols[$0] } }

    /// The symbol `address` (link-time) falls in, within its size or 64 KiB.
    public func symbolize(_ address: UInt64) -> (symbol: KernelSymbol, offset: UInt64)? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].address <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var p = lo - 1
        while p > 0, symbols[p - 1].address == symbols[p].address { p -= 1 }
        let s = symbols[p], offset = address - s.address
        return offset < (s.size ?? 0x10000) ? (s, offset) : nil
    }
}

extension LinuxKernel {
    /// Takes symbols from `file` as well, relocated to where this kernel runs: by the
    /// difference between the file's `_stext` and the dump's (VMCOREINFO or kallsyms), else
    /// by the KASLR offset. The file must fit: its `linux_banner`, relocated, has to read
    /// "Linux version".
    public func useSymbols(_ file: SymbolFile) throws(VMCoreError) {
        let running = vmcoreinfo?.value.symbol("_stext") ?? (try? kallsyms())?.symbol(named: "_stext")?.address
        let delta: UInt64
        if let running, let linked = file.symbol(named: "_stext")?.address {
            delta = running &- linked
        } else {
            delta = kaslrOffset.value
        }
        if let banner = file.symbol(named: "linux_banner")?.address {
            let text = (try? addressSpace.read(virtual: banner &+ delta, count: 13)).map { String(decoding: $0, as: UTF8.self) }
            guard text == "Linux version" else {
                throw VMCoreError(.usage, file: file.path, "\(file.kind) does not fit this dump",
                                  "its linux_banner, moved by \(hex(delta)), reads \(text.map { "'\($0)'" } ?? "nothing the dump holds"), not 'Linux version'")
            }
        }
        symbolFile.withLock { $0 = (file, delta) }
    }

    /// A name from the user's symbol file, relocated.
    func fileSymbol(named name: String) -> KernelSymbol? {
        guard let (file, delta) = symbolFile.withLock({ $0 }), var s = file.symbol(named: name) else { return nil }
        s.address &+= delta
        return s
    }

    /// The symbol `address` falls in, from the user's symbol file.
    func fileSymbolize(_ address: UInt64) -> (symbol: KernelSymbol, offset: UInt64)? {
        guard let (file, delta) = symbolFile.withLock({ $0 }), var hit = file.symbolize(address &- delta) else { return nil }
        hit.symbol.address &+= delta
        return hit
    }

    /// Every symbol of the user's symbol file, relocated (none without one).
    public func fileSymbols() -> [KernelSymbol] {
        guard let (file, delta) = symbolFile.withLock({ $0 }) else { return [] }
        return file.symbols.map { var s = $0; s.address &+= delta; return s }
    }

    /// The user's symbol file and where it came from, when one was given.
    public var symbolFileSource: String? { symbolFile.withLock { $0.map { "\($0.0.kind) \($0.0.path), moved by \(hex($0.1))" } } }

    /// The kernel image's own symbol: VMCOREINFO, kallsyms, then the user's symbol file —
    /// never a module's. What reading BTF and the module list uses, since modules are read
    /// through BTF.
    func coreSymbol(_ name: String) -> UInt64? {
        vmcoreinfo?.value.symbol(name) ?? (try? kallsyms())?.symbol(named: name)?.address ?? fileSymbol(named: name)?.address
            ?? structuralGlobal(name)
    }

    /// A symbol by name from kallsyms, then the user's symbol file, then the modules, then
    /// the globals found by their structure (`init_task`, `modules`).
    public func lookupSymbol(_ name: String) -> KernelSymbol? {
        (try? kallsyms())?.symbol(named: name) ?? fileSymbol(named: name) ?? moduleSymbol(named: name)
            ?? structuralGlobal(name).map { KernelSymbol(name: name, address: $0, type: "D", size: nil, module: nil) }
    }

    /// The symbol an address falls in: kallsyms, then the user's symbol file, then the modules.
    public func lookupAddress(_ address: UInt64) -> (symbol: KernelSymbol, offset: UInt64)? {
        (try? kallsyms())?.symbolize(address) ?? fileSymbolize(address) ?? moduleSymbolize(address)?.hit
    }
}
