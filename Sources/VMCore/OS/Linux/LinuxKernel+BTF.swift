/// Reading the kernel's own type information (BTF) from its memory (linux.md A7.2,
/// linux-analysis.md C1.2).
extension LinuxKernel {
    /// The vmlinux BTF, read once and kept, with where it was found.
    public func sourcedBTF() throws(VMCoreError) -> Sourced<BTF> {
        if let done = btfCache.withLock({ $0 }) { return try done.get() }
        let result: Result<Sourced<BTF>, VMCoreError>
        do { result = .success(try loadBTF()) } catch { result = .failure(error) }
        btfCache.withLock { $0 = result }
        return try result.get()
    }

    public func btf() throws(VMCoreError) -> BTF { try sourcedBTF().value }

    /// Largest BTF blob read (vmlinux's is 4–6 MiB).
    static let maxBTFSize: UInt64 = 64 << 20

    func loadBTF() throws(VMCoreError) -> Sourced<BTF> {
        let file = dump.files[0]
        let pointerSize = dump.architecture.pointerSize
        if let start = coreSymbol("__start_BTF"), let stop = coreSymbol("__stop_BTF") {
            guard stop > start, stop - start <= Self.maxBTFSize else {
                throw VMCoreError(.corrupt, file: file, "cannot read BTF", "__start_BTF \(hex(start)) and __stop_BTF \(hex(stop)) do not bound a blob of at most 64 MiB")
            }
            let bytes = try addressSpace.read(virtual: start, count: Int(stop - start))
            do {
                return Sourced(value: try BTF(bytes, pointerSize: pointerSize, location: start), source: "__start_BTF..__stop_BTF, named by \(symbolSource("__start_BTF"))")
            } catch {
                throw VMCoreError(.corrupt, file: file, "BTF at \(hex(start)) does not parse", error.description)
            }
        }
        // Kernels without CONFIG_KALLSYMS_ALL name no __start_BTF: find the header in the
        // image's read-only data.
        if let (at, btf) = findBTF(pointerSize: pointerSize) {
            return Sourced(value: btf, source: "found by its header in the kernel image's read-only data (no __start_BTF symbol)")
        }
        var why = "the kernel names no __start_BTF"
        if vmcoreinfo?.value.symbol("__start_BTF") == nil, case .failure(let e)? = kallsymsCache.withLock({ $0 }) { why = "kallsyms cannot say where __start_BTF is (\(e.message))" }
        throw VMCoreError(.notInDump, file: file, "cannot read BTF",
                          "\(why), and no BTF header is in the kernel image's read-only data the dump holds (built without CONFIG_DEBUG_INFO_BTF?)")
    }

    /// Where the vmlinux BTF is and how big, from its header alone (what `info` reports):
    /// the whole blob is read only when types are asked for.
    public func btfLocation() throws(VMCoreError) -> Sourced<(address: UInt64, bytes: UInt64)> {
        if let done = btfCache.withLock({ $0 }), case .success(let b) = done {
            return Sourced(value: (b.value.location, UInt64(b.value.bytesCount)), source: b.source)
        }
        if let start = coreSymbol("__start_BTF"), let stop = coreSymbol("__stop_BTF"), stop > start {
            let header = try addressSpace.read(virtual: start, count: 24)
            guard header[0] == 0x9f && header[1] == 0xeb || header[0] == 0xeb && header[1] == 0x9f else {
                throw VMCoreError(.corrupt, file: dump.files[0], "no BTF header at __start_BTF \(hex(start))", "the first bytes are \(header.prefix(4).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " "))")
            }
            return Sourced(value: (start, stop - start), source: "__start_BTF..__stop_BTF, named by \(symbolSource("__start_BTF"))")
        }
        let b = try sourcedBTF()
        return Sourced(value: (b.value.location, UInt64(b.value.bytesCount)), source: b.source)
    }

    /// Where the symbol `name` came from, for a source line.
    func symbolSource(_ name: String) -> String {
        if vmcoreinfo?.value.symbol(name) != nil { return "VMCOREINFO" }
        if (try? kallsyms())?.symbol(named: name) != nil { return "kallsyms" }
        if fileSymbol(named: name) != nil, let file = symbolFileSource { return file }
        return Self.structuralGlobals.contains(name) ? "found by structure" : "kallsyms"
    }

    /// The first `struct btf_header` (version 1, 24 bytes, types first, then strings) in the
    /// image's read-only data whose blob parses and describes `struct task_struct`.
    func findBTF(pointerSize: Int) -> (UInt64, BTF)? {
        let little = dump.byteOrder == .little
        let magic: [UInt8] = little ? [0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00] : [0xeb, 0x9f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x18]
        return firstMatch(of: magic, in: readOnlyImageVirtualRanges()) { va in
            // The header is 4-byte aligned; its sections are checked before they are added.
            guard va % 4 == 0, let header = try? addressSpace.read(virtual: va, count: 24) else { return nil }
            let typeOff = BTF.load32(header, 8, little), typeLen = BTF.load32(header, 12, little)
            let strOff = BTF.load32(header, 16, little), strLen = BTF.load32(header, 20, little)
            guard typeOff == 0, strOff == typeLen else { return nil }
            let total = 24 + UInt64(typeLen) + UInt64(strLen)
            guard total <= Self.maxBTFSize, let bytes = try? addressSpace.read(virtual: va, count: Int(total)),
                  let btf = try? BTF(bytes, base: nil, pointerSize: pointerSize, location: va), btf.lookup("struct task_struct") != nil else { return nil }
            return (va, btf)
        }
    }
}

/// A type of the kernel's, from its BTF: `kernel.type("struct task_struct")`.
public struct KernelType: Sendable {
    public let btf: BTF
    public let id: UInt32
    let file: String

    /// How C spells it.
    public var name: String { btf.describe(id) }
    /// Bytes it takes (nil for void and functions).
    public var size: UInt64? { btf.size(of: id) }

    /// The member at `path` (`"thread.sp"`, `"se.vruntime"`, `"pids[1]"`).
    public func member(_ path: String) throws(VMCoreError) -> BTFMemberLocation {
        switch btf.member(path, in: id) {
        case .success(let m): return m
        case .failure(let e): throw VMCoreError(.notInDump, file: file, "no member '\(path)' in \(name)", e.description)
        }
    }

    /// The byte offset of the member at `path`; an error for a bitfield.
    public func offset(of path: String) throws(VMCoreError) -> UInt64 {
        let m = try member(path)
        guard let bytes = m.byteOffset else {
            throw VMCoreError(.usage, file: file, "\(name).\(path) is a bitfield", "it starts at bit \(m.bitOffset)")
        }
        return bytes
    }

    /// The type of the member at `path`.
    public func type(of path: String) throws(VMCoreError) -> KernelType {
        KernelType(btf: btf, id: try member(path).type, file: file)
    }
}

extension Kernel {
    /// The type a C name names in the kernel's BTF: `struct task_struct`, `pid_t`, or a bare
    /// struct name; then in the loaded modules' BTF (`struct pvpanic_instance`), or only in
    /// module `m`'s when the name is `m:TYPE`.
    public func type(_ spec: String) throws(VMCoreError) -> KernelType {
        let types = try btf()
        if let colon = spec.firstIndex(of: ":") {
            let module = String(spec[..<colon]), name = String(spec[spec.index(after: colon)...])
            guard let split = moduleBTFs().first(where: { $0.module == module })?.btf else {
                throw VMCoreError(.notInDump, file: dump.files[0], "no BTF for module '\(module)'", "the kernel's btf_modules list holds none by that name")
            }
            guard let id = split.lookup(name) else { throw VMCoreError(.notInDump, file: dump.files[0], "no type '\(name)' in module \(module)'s BTF") }
            return KernelType(btf: split, id: id, file: dump.files[0])
        }
        if let id = types.lookup(spec) { return KernelType(btf: types, id: id, file: dump.files[0]) }
        for (_, split) in moduleBTFs() {
            // Only the module's own types: the base's were looked up first.
            if let id = split.lookup(spec), id >= split.firstID { return KernelType(btf: split, id: id, file: dump.files[0]) }
        }
        throw VMCoreError(.notInDump, file: dump.files[0], "no type '\(spec)' in the kernel's BTF")
    }

    /// The value of an enumerator of any enum (`PIDTYPE_PID`, `TASK_COMM_LEN`).
    public func enumValue(_ name: String) throws(VMCoreError) -> Int64 {
        guard let e = try btf().enumerator(name) else {
            throw VMCoreError(.notInDump, file: dump.files[0], "no enumerator '\(name)' in the kernel's BTF")
        }
        return e.value
    }

    /// The object of `type` at kernel virtual address `va`, decoded member by member.
    public func object(_ type: KernelType, at va: UInt64) throws(VMCoreError) -> BTFValue {
        guard let size = type.size, size > 0 else {
            throw VMCoreError(.usage, file: dump.files[0], "\(type.name) has no size to read")
        }
        guard size <= 1 << 24 else { throw VMCoreError(.usage, file: dump.files[0], "\(type.name) is \(size) bytes, more than 16 MiB to print") }
        let bytes = try kernelAddressSpace().read(virtual: va, count: Int(size))
        return type.btf.value(type.id, in: bytes)
    }

    /// The member at `path` of the `type` object at `va` (a bitfield cut out).
    public func object(_ type: KernelType, member path: String, at va: UInt64) throws(VMCoreError) -> BTFValue {
        let m = try type.member(path)
        let bits = UInt64(m.bitfieldSize)
        let size = m.bitfieldSize > 0 ? (m.bitOffset % 8 + bits + 7) / 8 : try type.type(of: path).size ?? 0
        guard size > 0, size <= 1 << 24 else {
            throw VMCoreError(.usage, file: dump.files[0], "\(type.name).\(path) has no size to read")
        }
        let bytes = try kernelAddressSpace().read(virtual: va &+ m.bitOffset / 8, count: Int(size))
        return type.btf.value(m.type, in: bytes, bitOffset: m.bitOffset % 8, bitfieldSize: m.bitfieldSize)
    }
}

/// Modules' own types: each loaded module's split BTF on top of vmlinux's, from the kernel's
/// `btf_modules` list (CONFIG_DEBUG_INFO_BTF_MODULES; linux-analysis.md C1.2).
extension LinuxKernel {
    /// Each module's BTF, in the order of the `btf_modules` list, read once and kept; empty
    /// when the kernel keeps none.
    public func moduleBTFs() -> [(module: String, btf: BTF)] {
        if let done = moduleBTFCache.withLock({ $0 }) { return done }
        let loaded = (try? loadModuleBTFs()) ?? []
        moduleBTFCache.withLock { $0 = loaded }
        return loaded
    }

    func loadModuleBTFs() throws(VMCoreError) -> [(module: String, btf: BTF)] {
        let file = dump.files[0]
        let base = try btf()
        guard let head = coreSymbol("btf_modules") else { return [] }
        let entry = try type("struct btf_module"), blob = try type("struct btf"), module = try type("struct module")
        let listOffset = try entry.offset(of: "list"), btfOffset = try entry.offset(of: "btf"), moduleOffset = try entry.offset(of: "module")
        let dataOffset = try blob.offset(of: "data"), sizeOffset = try blob.offset(of: "data_size")
        let nameOffset = try module.offset(of: "name")
        var out: [(String, BTF)] = []
        var seen: Set<UInt64> = [head]
        var node = try readPointer(at: head, "btf_modules.next")
        while node != head {
            guard out.count < Self.maxModules, seen.insert(node).inserted else {
                throw VMCoreError(.corrupt, file: file, "the btf_modules list does not return to its head at \(hex(head))")
            }
            let at = node &- listOffset
            let b = try readPointer(at: at &+ btfOffset, "btf_module.btf")
            let owner = try readPointer(at: at &+ moduleOffset, "btf_module.module")
            let name = try readCString(at: owner &+ nameOffset, limit: 64)
            let data = try readPointer(at: b &+ dataOffset, "btf.data")
            let size = try readInteger(at: b &+ sizeOffset, size: 4, "btf.data_size")
            if data != 0, size > 0, size <= Self.maxBTFSize,
               let bytes = try? kernelAddressSpace().read(virtual: data, count: Int(size)),
               let split = try? BTF(bytes, base: base, pointerSize: base.pointerSize, location: data) {
                out.append((name, split))
            }
            node = try readPointer(at: node, "btf_module.list.next")
        }
        return out
    }
}
