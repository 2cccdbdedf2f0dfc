/// What a dump holds for one page of physical memory.
public enum PageState: String, Sendable, Codable {
    /// Stored in the dump; reading it returns its bytes.
    case present
    /// Stored as "all zero" (the shared zero page, or memory past a segment's file size).
    case zero
    /// Existed in the machine but the dump tool left it out (makedumpfile's dump level).
    case excluded
    /// Should have been stored but the dump ended early (an incomplete dump).
    case missing
    /// Not memory of the machine at all: a hole, or beyond the last page.
    case notInDump
}

/// A half-open range of physical addresses, `start..<end`.
public struct PhysicalRange: Sendable, Equatable, Codable, CustomStringConvertible {
    public var start: UInt64
    public var end: UInt64

    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }

    public var size: UInt64 { end - start }

    public var description: String { "\(hex(start))-\(hex(end))" }
}

/// Page counts of a dump, in pages of the dump's page size.
public struct PageCounts: Sendable, Equatable, Codable {
    /// Pages stored with data (zero pages included).
    public var present: UInt64 = 0
    /// Stored pages that are all zero (the shared zero page, or zero-filled segment tails).
    public var zero: UInt64 = 0
    /// Pages of the machine's memory that the dump tool left out.
    public var excluded: UInt64 = 0
    /// Pages lost because the dump is incomplete.
    public var missing: UInt64 = 0

    public init() {}
}

/// "Give me bytes at this physical address": the one interface above every container format.
///
/// Implementations are safe to call from several threads at once.
public protocol PhysicalMemory: AnyObject, Sendable {
    /// The page size of the dumped machine.
    var pageSize: Int { get }
    /// The physical memory of the machine, as the dump describes it, sorted and disjoint.
    var ranges: [PhysicalRange] { get }
    /// What the dump holds for page frame `pfn`.
    func state(ofPage pfn: UInt64) -> PageState
    /// Copies `count` bytes at physical `address` into `buffer[bufferOffset...]`, across pages.
    /// Throws `notInDump`, `excludedPage` or a format error for the first byte it cannot supply.
    func read(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError)
    /// Page frames that hold data, as half-open runs (a default walks `ranges` and `state`).
    func storedPageRuns() -> [Range<UInt64>]
    /// Reads (decodes) pages `pfns` into `buffer`, reusing `context`; a page that fails is
    /// zero and reported (a default reads physical memory directly).
    func readPages(_ pfns: Range<UInt64>, into buffer: inout [UInt8], context: PageReadContext) -> [PageFailure]
}

extension PhysicalMemory {
    /// `count` bytes at physical `address`.
    public func read(physical address: UInt64, count: Int) throws(VMCoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        try read(physical: address, into: &buffer, bufferOffset: 0, count: count)
        return buffer
    }

    /// Page frame `pfn` into `buffer`, which must hold at least `pageSize` bytes.
    public func readPage(_ pfn: UInt64, into buffer: inout [UInt8]) throws(VMCoreError) {
        try read(physical: pfn &* UInt64(pageSize), into: &buffer, bufferOffset: 0, count: pageSize)
    }
}
