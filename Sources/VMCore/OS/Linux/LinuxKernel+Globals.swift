/// Globals BTF describes the type of but kallsyms does not name, on kernels built without
/// CONFIG_KALLSYMS_ALL (Debian's arm64 5.10 and 6.1 keep only text symbols): found by their
/// structure, with every offset from BTF, and checked by a list invariant.
///
/// - `init_task`: in the image's writable data, the `task_struct` whose `comm` is
///   "swapper/0" (or "swapper"), whose `pid` is 0 and whose `tasks` list links back to it.
/// - `modules`: in the module area (x86-64 0xffffffffc0000000–0xfffffffffeffffff, where a
///   kernel built with RANDOMIZE_BASE puts modules; arm64 the 4 GiB below the image), a
///   `struct module` (64-byte aligned: state 0–3, a name of identifier characters, `list`
///   linked both ways); then round its list to the one node that lies in the kernel image,
///   which is the `modules` head.
extension LinuxKernel {
    /// The globals this search can find.
    static let structuralGlobals: Set<String> = ["init_task", "modules"]

    /// `name`'s address found by structure (cached), for the names in `structuralGlobals`.
    public func structuralGlobal(_ name: String) -> UInt64? {
        guard Self.structuralGlobals.contains(name) else { return nil }
        if let done = globalsCache.withLock({ $0[name] }) { return done }
        let found: UInt64? = switch name {
        case "init_task": findInitTask()
        case "modules": findModulesHead()
        default: nil
        }
        globalsCache.withLock { $0[name] = found }
        return found
    }

    /// Kernel virtual ranges of the image's writable, non-executable data, from its page
    /// tables: at most 96 MiB from its start.
    func writableImageVirtualRanges() -> [Range<UInt64>] {
        guard let start = imageStart else { return [] }
        var out: [Range<UInt64>] = []
        for m in addressSpace.mappings(in: start...(start &+ (96 << 20)), limit: 1 << 16) where Self.isWritableData(m.flags) {
            if let last = out.last, last.upperBound == m.virtual { out[out.count - 1] = last.lowerBound..<(m.virtual &+ m.size) } else { out.append(m.virtual..<(m.virtual &+ m.size)) }
        }
        return out
    }

    /// `count` bytes at `va`, zero where a page is not in the dump (makedumpfile leaves out
    /// zero-filled pages, which a search must step over, not stop at).
    func readPresent(_ va: UInt64, _ count: Int) -> [UInt8] {
        if let all = try? addressSpace.read(virtual: va, count: count) { return all }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let at = va &+ UInt64(done)
            let n = min(count - done, 4096 - Int(at & 0xfff))
            try? addressSpace.read(virtual: at, into: &out, bufferOffset: done, count: n)
            done += n
        }
        return out
    }

    /// x86-64 RW with NX; arm64 PXN without AP[2] (RO).
    static func isWritableData(_ flags: [String]) -> Bool {
        (flags.contains("NX") && flags.contains("RW")) || (flags.contains("PXN") && !flags.contains("RO"))
    }

    func findInitTask() -> UInt64? {
        guard let task = try? type("struct task_struct"), let comm = try? task.offset(of: "comm"),
              let pid = try? task.offset(of: "pid"), let tasks = try? task.offset(of: "tasks") else { return nil }
        for needle in [Array("swapper/0".utf8) + [0], Array("swapper".utf8) + [0]] {
            let found = firstMatch(of: needle, in: writableImageVirtualRanges()) { va -> UInt64? in
                let candidate = va &- comm
                guard candidate % 8 == 0, (try? readInteger(at: candidate &+ pid, size: 4, "task_struct.pid")) == 0,
                      let next = try? readPointer(at: candidate &+ tasks, "task_struct.tasks.next"),
                      (try? readPointer(at: next &+ UInt64(dump.architecture.pointerSize), "list_head.prev")) == candidate &+ tasks
                else { return nil }
                return candidate
            }
            if let found { return found }
        }
        return nil
    }

    /// The first non-nil `check(va)` over the places `needle` occurs in `ranges`, in address
    /// order. The ranges are read 4 MiB at a time, overlapping by the needle's length less
    /// one so no occurrence is missed at a seam; pages the dump lacks read as zero.
    func firstMatch<T>(of needle: [UInt8], in ranges: [Range<UInt64>], _ check: (UInt64) -> T?) -> T? {
        for range in ranges {
            var at = range.lowerBound
            while at < range.upperBound {
                let n = Int(min(range.upperBound - at, 4 << 20))
                let chunk = readPresent(at, n)
                var from = 0
                while let hit = ByteSearch.firstIndex(of: needle, in: chunk, range: from..<chunk.count) {
                    from = hit + 1
                    if let found = check(at &+ UInt64(hit)) { return found }
                }
                guard n >= needle.count, at &+ UInt64(n) < range.upperBound else { break }
                at &+= UInt64(n - needle.count + 1)
            }
        }
        return nil
    }

    func findModulesHead() -> UInt64? {
        guard let module = try? type("struct module"), let state = try? module.offset(of: "state"),
              let list = try? module.offset(of: "list"), let name = try? module.offset(of: "name"),
              let start = imageStart else { return nil }
        let area: ClosedRange<UInt64> = dump.architecture == .x86_64
            ? 0xffff_ffff_c000_0000...0xffff_ffff_feff_ffff
            : (start &- (4 << 30))...(start &- 1)
        let pointer = UInt64(dump.architecture.pointerSize)
        /// A struct module's name: 1–55 identifier characters, then NUL.
        func plausibleName(_ bytes: ArraySlice<UInt8>) -> Bool {
            guard let end = bytes.firstIndex(of: 0), end > bytes.startIndex, end - bytes.startIndex < 56 else { return false }
            return bytes[bytes.startIndex..<end].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == 0x5f || $0 == 0x2d }
        }
        func isModule(_ at: UInt64) -> Bool {
            guard let bytes = try? addressSpace.read(virtual: at, count: Int(name) + 56),
                  let s = try? readInteger(at: at &+ state, size: 4, "module.state"), s <= 3 else { return false }
            return plausibleName(bytes[Int(name)...])
        }
        for m in addressSpace.mappings(in: area, limit: 1 << 16) where Self.isWritableData(m.flags) {
            var page = m.virtual
            while page < m.virtual &+ m.size {
                defer { page &+= 4096 }
                guard let bytes = try? addressSpace.read(virtual: page, count: 4096) else { continue }
                for offset in stride(from: 0, to: max(0, 4096 - Int(name) - 56), by: 64) {
                    let s = offset + Int(state), n = offset + Int(name)
                    guard s + 4 <= bytes.count, n + 56 <= bytes.count, plausibleName(bytes[n..<(n + 56)]),
                          BTF.load32(bytes, s, dump.byteOrder == .little) <= 3 else { continue }
                    let candidate = page &+ UInt64(offset)
                    guard isModule(candidate), let next = try? readPointer(at: candidate &+ list, "module.list.next"),
                          (try? readPointer(at: next &+ pointer, "list_head.prev")) == candidate &+ list else { continue }
                    // Round the ring to the node in the kernel image: the head.
                    var node = next
                    for _ in 0..<Self.maxModules {
                        if node == candidate &+ list { break }
                        if node >= start, node - start < 96 << 20, !area.contains(node) { return node }
                        guard let following = try? readPointer(at: node, "list_head.next") else { break }
                        node = following
                    }
                }
            }
        }
        return nil
    }
}
