/// Where the entries of an entry array come from: page-table entries for kernel space, one per
/// page (or per 2 MiB) of KVA, kept somewhere other than physical memory (the dump's own copy
/// of them, for example).
public protocol EntrySource: Sendable {
    /// Entry `index`; throws (naming `va`) when the array has no such entry.
    func entry(_ index: UInt64, translating va: UInt64) throws(TranslationError) -> UInt64
}

/// The entries of one level of a walk, stored as a flat array: entry `i` maps the `i`-th span
/// of that level from `base`. Tables below that level, if any, are read from physical memory.
/// A class, so that looking a page up passes one reference, not the array's fields.
public final class EntryArray: Sendable {
    /// The first virtual address the array covers.
    public let base: UInt64
    /// The walk the entries belong to (its form decodes them; its root is not used).
    public let walker: PageTableWalker
    /// The level of `walker.form` whose entries the array holds.
    public let level: Int
    public let entries: any EntrySource
    /// Where the array is kept (a file offset), shown as the table address of its steps.
    public let location: UInt64

    public init(base: UInt64, walker: PageTableWalker, level: Int, entries: any EntrySource, location: UInt64) {
        self.base = base
        self.walker = walker
        self.level = level
        self.entries = entries
        self.location = location
    }
}

/// How one region of virtual addresses maps to physical memory (libkdumpfile's addrxlat has the
/// same three kinds of map).
public enum TranslationMap: Sendable {
    /// `physical = va − region start + physicalStart`, in pages of `pageSize` (a direct map).
    case linear(physicalStart: UInt64, pageSize: UInt64)
    /// A walk of page tables in physical memory.
    case pageTable(PageTableWalker)
    /// One level of entries kept elsewhere, then page tables in physical memory.
    case entryArray(EntryArray)
}

/// A range of virtual addresses and how it maps.
public struct TranslationRegion: Sendable {
    /// For messages: "direct map", "kernel address space".
    public var name: String
    public var start: UInt64
    /// The last address of the region (inclusive, so a region can reach the top of the space).
    public var last: UInt64
    public var map: TranslationMap

    public init(name: String, start: UInt64, last: UInt64 = .max, map: TranslationMap) {
        self.name = name
        self.start = start
        self.last = last
        self.map = map
    }

    public func contains(_ va: UInt64) -> Bool { va >= start && va <= last }
}

/// A kernel's virtual address space as data: regions, each with its map, searched in order (the
/// first that holds an address translates it). A Linux kernel is one page-table region; a
/// FreeBSD kernel whose dump carries its kernel page-table entries is its direct map (linear)
/// and those entries (an entry array).
public final class AddressTranslator: Sendable {
    public let regions: [TranslationRegion]
    /// The error for an address no region holds.
    let outside: @Sendable (UInt64) -> TranslationError

    public init(regions: [TranslationRegion], outside: @escaping @Sendable (UInt64) -> TranslationError) {
        self.regions = regions
        self.outside = outside
    }

    /// One page-table walk from `root` for every address.
    public convenience init(pageTable walker: PageTableWalker) {
        self.init(regions: [TranslationRegion(name: "page tables", start: 0, map: .pageTable(walker))]) { va in
            TranslationError("\(hexString(va)) is not mapped")
        }
    }

    /// Every step of the translation of `va` (flag names only when `detailed`).
    public func translate(_ va: UInt64, detailed: Bool = true) throws(TranslationError) -> Translation {
        guard let region = regions.first(where: { $0.contains(va) }) else { throw outside(va) }
        switch region.map {
        case .linear(let physicalStart, let pageSize):
            let (pa, overflow) = (va - region.start).addingReportingOverflow(physicalStart)
            guard !overflow else {
                throw TranslationError("\(hexString(va)) is in the \(region.name) but maps past the end of physical addresses",
                                       "the \(region.name) starts at physical \(hexString(physicalStart))")
            }
            let mask = pageSize - 1
            return Translation(virtual: va, physical: (pa & ~mask) | (va & mask), pageSize: pageSize, steps: [])
        case .pageTable(let walker):
            return try walker.translate(va, detailed: detailed)
        case .entryArray(let array):
            return try Self.translate(va, through: array, detailed: detailed)
        }
    }

    /// The physical address of `va` and the size of the page that maps it: cached for
    /// page-table walks.
    public func lookup(_ va: UInt64) throws(TranslationError) -> (physical: UInt64, pageSize: UInt64) {
        for i in regions.indices where regions[i].contains(va) {
            switch regions[i].map {
            case .pageTable(let walker):
                return try walker.lookup(va)
            case .entryArray(let array):
                let t = try Self.translate(va, through: array, detailed: false)
                return (t.physical, t.pageSize)
            case .linear:
                let t = try translate(va, detailed: false)
                return (t.physical, t.pageSize)
            }
        }
        throw outside(va)
    }

    /// The physical address of `va` and how many bytes from it on are physically contiguous
    /// (at least to the end of its page, at most `limit`): page-table regions read the
    /// neighbouring entries of the last table walked.
    public func contiguousRun(_ va: UInt64, limit: UInt64) throws(TranslationError) -> (physical: UInt64, length: UInt64) {
        for i in regions.indices where regions[i].contains(va) {
            if case .pageTable(let walker) = regions[i].map { return try walker.contiguousRun(va, limit: limit) }
            let page = try lookup(va)
            return (page.physical, min(limit, page.pageSize - (va & (page.pageSize - 1))))
        }
        throw outside(va)
    }

    static func translate(_ va: UInt64, through array: EntryArray, detailed: Bool) throws(TranslationError) -> Translation {
        let walker = array.walker
        let depth = array.level
        let index = (va - array.base) >> walker.shifts[depth]
        let e = try array.entries.entry(index, translating: va)
        // Only `vmcore translate` shows the step; a read wants the address alone.
        let steps = detailed ? [TranslationStep(level: walker.levels[depth].name, tableAddress: array.location, index: Int(clamping: index),
                                                entry: e, flags: walker.form.flags(e, level: depth))] : []
        switch walker.form.decode(e, level: depth) {
        case .notPresent:
            throw TranslationError(walker.form.notPresentMessage(level: depth),
                                   "\(walker.levels[depth].name)[\(index)] = \(hexString(e)) while translating \(hexString(va))")
        case .page(let base):
            let span = walker.spans[depth]
            return Translation(virtual: va, physical: base | (va & (span - 1)), pageSize: span, steps: steps)
        case .table(let next):
            return try walker.walk(va, from: depth + 1, table: next, steps: steps, detailed: detailed)
        }
    }
}
