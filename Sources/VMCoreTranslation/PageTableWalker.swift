import Synchronization

/// Walks page tables in physical memory: the generic walker, driven by a `PagingForm`'s levels
/// and entry decoder. It reads tables through a `PhysicalReader` and never sees a file.
///
/// A walk has one step per level, so it always ends, whatever the tables hold; an entry that
/// points outside the dump ends it with an error naming the level, index and entry.
/// Translations are cached per page of the form's page size (large pages once), so reading a
/// contiguous range walks each page at most once; the last table read at each level is kept
/// too, so neighbouring pages share their table reads.
public final class PageTableWalker: Sendable {
    public let reader: any PhysicalReader
    public let form: any PagingForm
    /// The physical address of the root table (CR3 on x86-64, TTBR1 on aarch64, masked).
    public let root: UInt64
    /// The form's levels and table sizes, computed once (forms may compute them on each call).
    public let levels: [PagingLevel]
    let tableSizes: [Int]
    /// Per level: the index's shift and mask, and the span of one entry (a walk's hot path).
    let shifts: [UInt64]
    let indexMasks: [UInt64]
    let spans: [UInt64]
    let entrySize: Int
    /// log2 of the form's smallest page.
    let pageShift: UInt64
    let largeSizes: [UInt64]
    private let cache = Mutex<[UInt64: UInt64]>([:])
    private let largeCache = Mutex<[UInt64: LargePage]>([:])
    private let tables: Mutex<[TablePage?]>
    static let cacheLimit = 1 << 16

    struct LargePage: Sendable {
        var base: UInt64
        var size: UInt64
    }

    struct TablePage: Sendable {
        var address: UInt64
        var bytes: [UInt8]
    }

    public init(reader: any PhysicalReader, form: any PagingForm, root: UInt64) {
        self.reader = reader
        self.form = form
        self.root = root
        let levels = form.levels
        self.levels = levels
        tableSizes = levels.indices.map { form.tableSize($0) }
        shifts = levels.map { UInt64($0.shift) }
        indexMasks = levels.map { (1 << UInt64($0.bits)) - 1 }
        spans = levels.map(\.span)
        entrySize = form.entrySize
        pageShift = UInt64(levels[levels.count - 1].span.trailingZeroBitCount)
        largeSizes = form.largePageSizes
        tables = Mutex([TablePage?](repeating: nil, count: form.levels.count))
    }

    /// A full walk of `va`, every step recorded (flag names included when `detailed`).
    public func translate(_ va: UInt64, detailed: Bool = true) throws(TranslationError) -> Translation {
        try checkCanonical(va)
        return try walk(va, from: 0, table: root, steps: [], detailed: detailed)
    }

    func checkCanonical(_ va: UInt64) throws(TranslationError) {
        guard form.isCanonical(va) else {
            throw TranslationError("\(hexString(va)) is not a canonical address", form.canonicalRule)
        }
    }

    /// The walk of `va` from level `first`, whose table is at physical `table`, after `prior`
    /// steps taken elsewhere (an entry array holds the upper levels of some walks).
    public func walk(_ va: UInt64, from first: Int, table start: UInt64, steps prior: [TranslationStep],
                     detailed: Bool) throws(TranslationError) -> Translation {
        let leaf = try walkToLeaf(va, from: first, table: start, steps: prior, detailed: detailed)
        let size = spans[leaf.depth]
        return Translation(virtual: va, physical: leaf.base | (va & (size - 1)), pageSize: size, steps: leaf.steps)
    }

    /// Where a walk ends: the level and table of the entry that maps `va`, its index, the base
    /// of the page or block it maps, and the steps taken.
    struct Leaf {
        var depth: Int
        var table: UInt64
        var index: Int
        var base: UInt64
        var steps: [TranslationStep]
    }

    func walkToLeaf(_ va: UInt64, from first: Int, table start: UInt64, steps prior: [TranslationStep],
                    detailed: Bool) throws(TranslationError) -> Leaf {
        var table = start
        var steps = prior
        for depth in first..<levels.count {
            let index = Int((va >> shifts[depth]) & indexMasks[depth])
            let entry = try self.entry(depth, table: table, index: index, translating: va)
            // Only `vmcore translate` shows the steps; a read wants the address alone.
            if detailed {
                steps.append(TranslationStep(level: levels[depth].name, tableAddress: table, index: index, entry: entry,
                                             flags: form.flags(entry, level: depth)))
            }
            switch form.decode(entry, level: depth) {
            case .notPresent:
                throw TranslationError(form.notPresentMessage(level: depth),
                                       "\(levels[depth].name)[\(index)] = \(hexString(entry)) while translating \(hexString(va))")
            case .table(let next):
                table = next
            case .page(let base):
                return Leaf(depth: depth, table: table, index: index, base: base, steps: steps)
            }
        }
        // The last level maps a page or nothing: a form that decodes a table there is wrong.
        throw TranslationError("page-table walk of \(hexString(va)) did not end in a page",
                               "\(form.name) decoded a table at its last level")
    }

    /// The physical address of `va` and how many bytes from it map to consecutive physical
    /// addresses, up to `limit`: one walk, then the neighbouring entries of the same table, so
    /// a long read walks once per table instead of once per page (the linear map of an arm64
    /// kernel is mapped page by page).
    public func contiguousRun(_ va: UInt64, limit: UInt64) throws(TranslationError) -> (physical: UInt64, length: UInt64) {
        try checkCanonical(va)
        let leaf = try walkToLeaf(va, from: 0, table: root, steps: [], detailed: false)
        let depth = leaf.depth
        let span = spans[depth]
        var length = span - (va & (span - 1))
        // The following entries of this table, while they map the following frames.
        var next = leaf.index + 1
        var expected = leaf.base &+ span
        let count = Int(indexMasks[depth]) + 1
        // The table as the walk just read it (one lock, not one per entry).
        let bytes = tables.withLock { t -> [UInt8]? in t[depth]?.address == leaf.table ? t[depth]?.bytes : nil }
        while length < limit, next < count, expected != 0 {
            let e: UInt64
            if let bytes, (next + 1) * entrySize <= bytes.count {
                e = Self.load(bytes, next * entrySize, entrySize)
            } else {
                e = try self.entry(depth, table: leaf.table, index: next, translating: va &+ length)
            }
            guard case .page(let b) = form.decode(e, level: depth), b == expected else { break }
            length += span
            expected = b &+ span
            next += 1
        }
        return (leaf.base | (va & (span - 1)), min(length, limit))
    }

    /// One mapped piece of the virtual address space: where, how big, and the leaf entry's
    /// flag names.
    public struct Mapping: Sendable {
        public var virtual: UInt64
        public var physical: UInt64
        public var size: UInt64
        public var flags: [String]
    }

    /// The pages and blocks mapped in `range`, in address order, skipping whole tables an
    /// upper level leaves out (a 2 GiB module area costs a few table reads, not half a million
    /// walks); at most `limit` of them, after reading at most `maxEntries` entries (hostile
    /// tables can point at themselves at every level). Tables that cannot be read are skipped.
    public func mappings(in range: ClosedRange<UInt64>, limit: Int = 1 << 20, maxEntries: Int = 1 << 22) -> [Mapping] {
        var out: [Mapping] = []
        var budget = maxEntries
        let top = shifts[0] + UInt64(levels[0].bits)
        // The bits above the top level's index (the sign extension of a kernel address).
        let high = top >= 64 ? 0 : range.lowerBound & ~((UInt64(1) << top) - 1)
        func visit(_ depth: Int, table: UInt64, prefix: UInt64) {
            let span = spans[depth]
            let count = Int(indexMasks[depth]) + 1
            for index in 0..<count {
                guard out.count < limit, budget > 0 else { return }
                let va = prefix | UInt64(index) << shifts[depth]
                // Entries wholly outside the range are skipped.
                if va &+ (span - 1) < range.lowerBound { continue }
                if va > range.upperBound { return }
                budget -= 1
                guard let entry = try? self.entry(depth, table: table, index: index, translating: va) else { continue }
                switch form.decode(entry, level: depth) {
                case .notPresent: continue
                case .table(let next):
                    if depth + 1 < levels.count { visit(depth + 1, table: next, prefix: va) }
                case .page(let base):
                    out.append(Mapping(virtual: va, physical: base, size: span, flags: form.flags(entry, level: depth)))
                }
            }
        }
        visit(0, table: root, prefix: high)
        return out
    }

    /// Entry `index` of the table at physical `table` of level `depth`: from the table last read
    /// at that level, else by reading the whole table (or, if that fails, the one entry).
    func entry(_ depth: Int, table: UInt64, index: Int, translating va: UInt64) throws(TranslationError) -> UInt64 {
        let size = entrySize
        let at = index * size
        if let hit = tables.withLock({ t -> UInt64? in
            guard t[depth]?.address == table, let bytes = t[depth]?.bytes, at + size <= bytes.count else { return nil }
            return Self.load(bytes, at, size)
        }) {
            return hit
        }
        let tableBytes = tableSizes[depth]
        var buffer = [UInt8](repeating: 0, count: tableBytes)
        if (try? reader.readPhysical(table, into: &buffer, count: tableBytes)) != nil {
            let page = buffer
            tables.withLock { $0[depth] = TablePage(address: table, bytes: page) }
            return Self.load(page, at, size)
        }
        var one = [UInt8](repeating: 0, count: size)
        do {
            try reader.readPhysical(table &+ UInt64(at), into: &one, count: size)
        } catch {
            let level = levels[depth]
            throw TranslationError("\(level.name.uppercased()) table at physical \(hexString(table)) is not readable while translating \(hexString(va))",
                                   "\(level.name)[\(index)]: \(error)")
        }
        return Self.load(one, 0, size)
    }

    /// A little-endian entry of `size` bytes at `at`.
    static func load(_ bytes: [UInt8], _ at: Int, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in stride(from: at + size - 1, through: at, by: -1) { v = v << 8 | UInt64(bytes[i]) }
        return v
    }

    /// The physical address of `va`, from the cache when its page was walked before.
    public func physical(_ va: UInt64) throws(TranslationError) -> UInt64 { try lookup(va).physical }

    /// The physical address of `va` and the size of the page that maps it, from the cache when
    /// its page was walked before.
    public func lookup(_ va: UInt64) throws(TranslationError) -> (physical: UInt64, pageSize: UInt64) {
        let page = va >> pageShift
        let offsetMask = (UInt64(1) << pageShift) - 1
        if let frame = cache.withLock({ $0[page] }) { return (frame << pageShift | (va & offsetMask), offsetMask + 1) }
        for size in largeSizes {
            if let hit = largeCache.withLock({ $0[va & ~(size - 1)] }), hit.size == size {
                return (hit.base + (va & (size - 1)), size)
            }
        }
        let t = try translate(va, detailed: false)
        if t.pageSize == offsetMask + 1 {
            cache.withLock { c in
                if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                c[page] = t.physical >> pageShift
            }
        } else {
            largeCache.withLock { c in
                if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                c[va & ~(t.pageSize - 1)] = LargePage(base: t.physical - (va & (t.pageSize - 1)), size: t.pageSize)
            }
        }
        return (t.physical, t.pageSize)
    }
}
