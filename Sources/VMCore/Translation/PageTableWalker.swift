import Synchronization

/// One level of a walk, as `vmcore translate` prints it.
public struct TranslationStep: Sendable, Codable, Equatable {
    public var level: String
    public var tableAddress: UInt64
    public var index: Int
    public var entry: UInt64
    public var flags: [String]
}

/// The result of translating one virtual address.
public struct Translation: Sendable, Equatable {
    public var virtual: UInt64
    public var physical: UInt64
    /// The size of the page that maps it (4 KiB, 2 MiB, 1 GiB on x86-64).
    public var pageSize: UInt64
    public var steps: [TranslationStep]
}

/// Walks page tables in physical memory: the generic walker, driven by a `PagingArchitecture`'s
/// levels and entry decoder. It reads tables through `PhysicalMemory` and never sees a file.
///
/// A walk has one step per level, so it always ends; an entry that points outside the dump
/// ends it with an error naming the level, index and entry. Translations are cached per page
/// (large pages once), so reading a contiguous range walks each page at most once, and reading
/// it again walks none.
public final class PageTableWalker: Sendable {
    public let memory: any PhysicalMemory
    public let architecture: any PagingArchitecture
    /// The physical address of the root table (CR3 on x86-64, masked).
    public let root: UInt64
    /// The dump's name, for errors.
    public let file: String
    private let cache = Mutex<[UInt64: UInt64]>([:])
    private let largeCache = Mutex<[UInt64: (base: UInt64, size: UInt64)]>([:])
    static let cacheLimit = 1 << 16

    /// The large-page sizes the architecture maps, smallest first.
    let largeSizes: [UInt64]

    public init(memory: any PhysicalMemory, architecture: any PagingArchitecture, root: UInt64, file: String) {
        largeSizes = architecture.levels.dropLast().map(\.span).filter { $0 > 4096 }.sorted()
        self.memory = memory
        self.architecture = architecture
        self.root = root
        self.file = file
    }

    func canonical(_ va: UInt64) -> Bool {
        let bits = architecture.virtualBits
        guard architecture.signExtended else { return va >> UInt64(bits) == 0 }
        let top = va >> UInt64(bits - 1)
        return top == 0 || top == (UInt64.max >> UInt64(bits - 1))
    }

    /// A full walk of `va`, every step recorded; no cache.
    public func translate(_ va: UInt64) throws(VMCoreError) -> Translation {
        guard canonical(va) else {
            throw VMCoreError(.translation, file: file, "\(hex(va)) is not a canonical address",
                              architecture.signExtended ? "bits \(architecture.virtualBits - 1)-63 must all be equal for \(architecture.name) paging"
                                                        : "\(architecture.name) addresses have \(architecture.virtualBits) bits")
        }
        var table = root
        var steps: [TranslationStep] = []
        let levels = architecture.levels
        var entryBytes = [UInt8](repeating: 0, count: architecture.entrySize)
        for (depth, level) in levels.enumerated() {
            let index = level.index(va)
            let entryAddress = table + UInt64(index * architecture.entrySize)
            do {
                try memory.read(physical: entryAddress, into: &entryBytes, bufferOffset: 0, count: architecture.entrySize)
            } catch {
                throw VMCoreError(.translation, file: file,
                                  "\(level.name.uppercased()) table at physical \(hex(table)) is not readable while translating \(hex(va))",
                                  "\(level.name)[\(index)]: \(error.reason)")
            }
            var entry: UInt64 = 0
            for b in stride(from: architecture.entrySize - 1, through: 0, by: -1) { entry = entry << 8 | UInt64(entryBytes[b]) }
            steps.append(TranslationStep(level: level.name, tableAddress: table, index: index, entry: entry,
                                         flags: architecture.flags(entry, level: depth)))
            switch architecture.decode(entry, level: depth) {
            case .notPresent:
                throw VMCoreError(.translation, file: file, "\(level.name.uppercased()) not present",
                                  "\(level.name)[\(index)] = \(hex(entry)) while translating \(hex(va))")
            case .table(let next):
                table = next
            case .page(let base):
                let size = level.span
                return Translation(virtual: va, physical: base + (va & (size - 1)), pageSize: size, steps: steps)
            }
        }
        // The last level always maps a page or is not present.
        throw VMCoreError(.translation, file: file, "page-table walk of \(hex(va)) did not end in a page")
    }

    /// The physical address of `va`, from the cache when this page was walked before.
    public func physical(_ va: UInt64) throws(VMCoreError) -> UInt64 {
        let page = va >> 12
        if let frame = cache.withLock({ $0[page] }) { return frame << 12 | (va & 0xfff) }
        for size in largeSizes {
            if let hit = largeCache.withLock({ $0[va & ~(size - 1)] }), hit.size == size {
                return hit.base + (va & (size - 1))
            }
        }
        let t = try translate(va)
        if t.pageSize == 4096 {
            cache.withLock { c in
                if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                c[page] = t.physical >> 12
            }
        } else {
            largeCache.withLock { c in
                if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                c[va & ~(t.pageSize - 1)] = (t.physical - (va & (t.pageSize - 1)), t.pageSize)
            }
        }
        return t.physical
    }

    /// Copies `count` bytes at virtual address `va` into `buffer[bufferOffset...]`, page by page.
    public func read(virtual va: UInt64, into buffer: inout [UInt8], bufferOffset: Int = 0, count: Int) throws(VMCoreError) {
        var done = 0
        while done < count {
            // Gather the pages that are physically contiguous too, and read them at once.
            let at = va &+ UInt64(done)
            let start = try physical(at)
            var n = min(count - done, 4096 - Int(at & 0xfff))
            while done + n < count, n < 1 << 20 {
                let next = va &+ UInt64(done + n)
                guard try physical(next) == start + UInt64(n) else { break }
                n += min(count - done - n, 4096)
            }
            try memory.read(physical: start, into: &buffer, bufferOffset: bufferOffset + done, count: n)
            done += n
        }
    }

    /// `count` bytes at virtual address `va`.
    public func read(virtual va: UInt64, count: Int) throws(VMCoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        try read(virtual: va, into: &buffer, count: count)
        return buffer
    }
}
