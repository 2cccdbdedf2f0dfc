/// A loaded kernel module: where `struct module` is, where its code sits, and its own symbols.
public struct KernelModule: Sendable, Encodable {
    public var name: String
    /// The address of its `struct module`.
    public var address: UInt64
    /// The start of its text: `mem[MOD_TEXT].base` (6.4+) or `core_layout.base` (4.5–6.3),
    /// the BASE crash's `mod` shows.
    public var base: UInt64
    /// Bytes of memory it holds: the sum of its `mem[]` regions (6.4+), or `core_layout.size`.
    public var size: UInt64
    /// Each memory region, as (start, bytes).
    public var regions: [Region]
    /// `enum module_state`: live, coming, going, unformed.
    public var state: String
    /// Its symbols from `struct mod_kallsyms`, in address order.
    public var symbols: [KernelSymbol]
    /// Why its symbols could not be read, when they could not.
    public var symbolProblem: String?

    public struct Region: Sendable, Encodable {
        public var kind: String
        public var start: UInt64
        public var size: UInt64
    }

    enum CodingKeys: String, CodingKey { case name, address, base, size, state, regions, symbolCount, symbolProblem }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(hex(address), forKey: .address)
        try c.encode(hex(base), forKey: .base)
        try c.encode(size, forKey: .size)
        try c.encode(state, forKey: .state)
        try c.encode(regions.map { ["kind": $0.kind, "start": hex($0.start), "size": String($0.size)] }, forKey: .regions)
        try c.encode(symbols.count, forKey: .symbolCount)
        try c.encodeIfPresent(symbolProblem, forKey: .symbolProblem)
    }

    /// True when `address` lies in one of its regions.
    public func contains(_ address: UInt64) -> Bool {
        regions.contains { address >= $0.start && address - $0.start < $0.size }
    }

    /// The symbol `address` falls in (within its ELF size, or 64 KiB when it has none).
    public func symbolize(_ address: UInt64) -> (symbol: KernelSymbol, offset: UInt64)? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].address <= address { lo = mid + 1 } else { hi = mid }
        }
        // Of the symbols at or below the address, the nearest one that covers it.
        var p = lo - 1
        while p >= 0 {
            let s = symbols[p], offset = address - s.address
            if offset < max(s.size ?? 0x10000, 1) { return (s, offset) }
            if offset >= 0x10000 { break }
            p -= 1
        }
        return nil
    }
}

/// Reading the kernel's list of loaded modules and their symbols (linux-analysis.md C1.1
/// "Module kallsyms"): the `modules` list through `module.list`, each module's layout and
/// `struct mod_kallsyms`, every offset taken from the kernel's BTF.
extension LinuxKernel {
    /// The loaded modules, read once and kept.
    public func modules() throws(VMCoreError) -> [KernelModule] {
        if let done = modulesCache.withLock({ $0 }) { return try done.get() }
        let result: Result<[KernelModule], VMCoreError>
        do { result = .success(try loadModules()) } catch { result = .failure(error) }
        modulesCache.withLock { $0 = result }
        return try result.get()
    }

    /// Modules at most, and symbols per module at most.
    static let maxModules = 8192
    static let maxModuleSymbols = 1 << 20

    func loadModules() throws(VMCoreError) -> [KernelModule] {
        let file = dump.files[0]
        guard let head = coreSymbol("modules") else {
            throw VMCoreError(.notInDump, file: file, "cannot list modules",
                              "neither VMCOREINFO nor kallsyms names the 'modules' list (a kernel built without CONFIG_KALLSYMS_ALL), and no struct module was found in the module area; the kernel's System.map names it", hint: .symbolFile)
        }
        let module = try type("struct module")
        let listOffset = try module.offset(of: "list")
        let nameOffset = try module.offset(of: "name")
        let nameLength = Int(try module.type(of: "name").size ?? 56)
        let stateType = try module.type(of: "state")
        let stateOffset = try module.offset(of: "state")
        // 6.4+: mem[MOD_MEM_NUM_TYPES] of struct module_memory; 4.5–6.3: core_layout.
        let layout: ModuleLayout
        if let mem = try? module.member("mem"), let memType = try? type("struct module_memory"),
           let count = module.btf.resolved(mem.type).flatMap({ module.btf.type($0) }).flatMap({ t -> UInt32? in
               if case .array(_, _, let n) = t.detail { return n } else { return nil } }) {
            layout = .memory(offset: mem.bitOffset / 8, count: Int(count), stride: memType.size ?? 0,
                             base: try memType.offset(of: "base"), size: try memType.offset(of: "size"),
                             names: (0..<Int(count)).map { i in Self.moduleMemoryName(i, btf: module.btf) })
        } else {
            layout = .core(base: try module.offset(of: "core_layout.base"), size: try module.offset(of: "core_layout.size"))
        }
        let kallsymsOffset = try? module.offset(of: "kallsyms")
        let modKallsyms = try? type("struct mod_kallsyms")

        var modules: [KernelModule] = []
        var seen: Set<UInt64> = [head]
        var node = try readPointer(at: head, "modules.next")
        while node != head {
            guard modules.count < Self.maxModules, seen.insert(node).inserted else {
                throw VMCoreError(.corrupt, file: file, "the modules list does not return to its head at \(hex(head))", "it loops or holds more than \(Self.maxModules) entries")
            }
            let address = node &- listOffset
            let nameBytes = try kernelAddressSpace().read(virtual: address &+ nameOffset, count: nameLength)
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            let stateValue = try readInteger(at: address &+ stateOffset, size: Int(stateType.size ?? 4), "module.state")
            let state = stateType.btf.value(stateType.id, in: Array(try kernelAddressSpace().read(virtual: address &+ stateOffset, count: Int(stateType.size ?? 4))))
            var stateName = "\(stateValue)"
            if case .enumerator(_, let n?) = state { stateName = n.replacingOccurrences(of: "MODULE_STATE_", with: "").lowercased() }
            var regions: [KernelModule.Region] = []
            switch layout {
            case .memory(let offset, let count, let stride, let baseOffset, let sizeOffset, let names):
                for i in 0..<count {
                    let at = address &+ offset &+ UInt64(i) &* stride
                    let start = try readPointer(at: at &+ baseOffset, "module.mem[\(i)].base")
                    let size = try readInteger(at: at &+ sizeOffset, size: 4, "module.mem[\(i)].size")
                    if start != 0, size > 0 { regions.append(.init(kind: names[i], start: start, size: size)) }
                }
            case .core(let baseOffset, let sizeOffset):
                let start = try readPointer(at: address &+ baseOffset, "module.core_layout.base")
                let size = try readInteger(at: address &+ sizeOffset, size: 4, "module.core_layout.size")
                regions.append(.init(kind: "core", start: start, size: size))
            }
            var m = KernelModule(name: name, address: address, base: regions.first { $0.kind == "text" || $0.kind == "core" }?.start ?? regions.first?.start ?? 0,
                                 size: regions.reduce(0) { $0 &+ $1.size }, regions: regions, state: stateName, symbols: [])
            if let kallsymsOffset, let modKallsyms {
                do {
                    m.symbols = try moduleSymbols(at: try readPointer(at: address &+ kallsymsOffset, "module.kallsyms"), of: name, type: modKallsyms)
                } catch {
                    m.symbolProblem = error.reason
                }
            } else {
                m.symbolProblem = "struct module has no kallsyms pointer (before Linux 4.5)"
            }
            modules.append(m)
            node = try readPointer(at: node, "module.list.next of \(name)")
        }
        return modules
    }

    enum ModuleLayout {
        case memory(offset: UInt64, count: Int, stride: UInt64, base: UInt64, size: UInt64, names: [String])
        case core(base: UInt64, size: UInt64)
    }

    /// `enum mod_mem_type`'s name for region `i` (`MOD_TEXT` → "text").
    static func moduleMemoryName(_ i: Int, btf: BTF) -> String {
        guard let id = btf.lookup("enum mod_mem_type"), case .enumerators(let all)? = btf.type(id)?.detail,
              let e = all.first(where: { $0.value == Int64(i) }) else { return "\(i)" }
        return e.name.replacingOccurrences(of: "MOD_", with: "").lowercased()
    }

    /// The symbols of `struct mod_kallsyms` at `at`: `Elf64_Sym symtab[num_symtab]`, names in
    /// `strtab`, nm letters in `typetab` (5.2+; before, in `st_info`). Undefined symbols and
    /// arm's `$x`/`$d` mapping symbols are left out, as the kernel leaves them out of
    /// /proc/kallsyms.
    func moduleSymbols(at: UInt64, of module: String, type t: KernelType) throws(VMCoreError) -> [KernelSymbol] {
        let file = dump.files[0]
        let symtab = try readPointer(at: at &+ t.offset(of: "symtab"), "mod_kallsyms.symtab")
        let count = try readInteger(at: at &+ t.offset(of: "num_symtab"), size: Int(t.type(of: "num_symtab").size ?? 4), "mod_kallsyms.num_symtab")
        let strtab = try readPointer(at: at &+ t.offset(of: "strtab"), "mod_kallsyms.strtab")
        let typetab = (try? t.offset(of: "typetab")).flatMap { try? readPointer(at: at &+ $0, "mod_kallsyms.typetab") }
        guard count <= UInt64(Self.maxModuleSymbols) else {
            throw VMCoreError(.corrupt, file: file, "module \(module): num_symtab is \(count)", "more than \(Self.maxModuleSymbols)")
        }
        let n = Int(count)
        // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64.
        let table = try kernelAddressSpace().read(virtual: symtab, count: n * 24)
        let r = ByteReader(table, file: file, base: symtab, order: dump.byteOrder)
        var names: [UInt32] = []
        var longest: UInt32 = 0
        for i in 0..<n {
            let o = try r.u32(i * 24, "st_name")
            names.append(o)
            longest = max(longest, o)
        }
        // The string table: up to the last name's end (at most 64 bytes past its start, read on).
        var strings = try kernelAddressSpace().read(virtual: strtab, count: Int(longest) + 1)
        while !strings[Int(longest)...].contains(0), strings.count < Int(longest) + 4096 {
            strings += try kernelAddressSpace().read(virtual: strtab &+ UInt64(strings.count), count: 64)
        }
        let types = try typetab.map { (p) throws(VMCoreError) in try kernelAddressSpace().read(virtual: p, count: n) }
        var out: [KernelSymbol] = []
        for i in 0..<n {
            let shndx = try r.u16(i * 24 + 6, "st_shndx")
            let value = try r.u64(i * 24 + 8, "st_value"), size = try r.u64(i * 24 + 16, "st_size")
            let start = Int(names[i])
            guard shndx != 0, start < strings.count else { continue }
            let name = String(decoding: strings[start...].prefix { $0 != 0 }, as: UTF8.self)
            guard !name.isEmpty, !name.hasPrefix("$") else { continue }
            var letter = try r.u8(i * 24 + 4, "st_info")
            if let types { letter = types[i] }
            let type = (0x21...0x7e).contains(letter) ? Character(Unicode.Scalar(letter)) : "?"
            out.append(KernelSymbol(name: name, address: value, type: type, size: size == 0 ? nil : size, module: module))
        }
        return out.sorted { ($0.address, $0.name) < ($1.address, $1.name) }
    }

    /// The module `address` lies in, and the symbol it falls in there.
    public func moduleSymbolize(_ address: UInt64) -> (module: KernelModule, hit: (symbol: KernelSymbol, offset: UInt64)?)? {
        guard let m = (try? modules())?.first(where: { $0.contains(address) }) else { return nil }
        return (m, m.symbolize(address))
    }
}
