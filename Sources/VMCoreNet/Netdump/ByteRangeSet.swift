/// The byte ranges of a file received so far: sorted, disjoint, adjacent ranges merged.
///
/// A FreeBSD kernel sends its dump front to back, so the set is one range plus the few gaps
/// that lost packets leave for a moment; a sender that scatters its offsets runs into
/// `limit` instead of into the server's memory.
public struct ByteRangeSet: Sendable, Equatable {
    public private(set) var ranges: [Range<UInt64>] = []
    /// The most ranges the set holds; `insert` refuses a range that would need more.
    public let limit: Int

    public init(limit: Int = 4096) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Adds `range`; false (and the set unchanged) if that would make more than `limit` ranges.
    @discardableResult
    public mutating func insert(_ range: Range<UInt64>) -> Bool {
        guard !range.isEmpty else { return true }
        // The usual case: the next bytes after (or inside) the last range.
        if let last = ranges.last, range.lowerBound >= last.lowerBound, range.lowerBound <= last.upperBound {
            if range.upperBound > last.upperBound { ranges[ranges.count - 1] = last.lowerBound..<range.upperBound }
            return true
        }
        // First range whose end reaches the new range's start (touching counts: they merge).
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        var merged = range
        while end < ranges.count && ranges[end].lowerBound <= range.upperBound {
            merged = min(merged.lowerBound, ranges[end].lowerBound)..<max(merged.upperBound, ranges[end].upperBound)
            end += 1
        }
        if end == lo && ranges.count >= limit { return false }
        ranges.replaceSubrange(lo..<end, with: [merged])
        return true
    }

    /// Whether every byte of `range` has been received.
    public func covers(_ range: Range<UInt64>) -> Bool {
        range.isEmpty || coveredBytes(in: range) == UInt64(range.count)
    }

    /// How many bytes of `range` have been received.
    public func coveredBytes(in range: Range<UInt64>) -> UInt64 {
        var total: UInt64 = 0
        for r in ranges where r.overlaps(range) {
            total += min(r.upperBound, range.upperBound) - max(r.lowerBound, range.lowerBound)
        }
        return total
    }

    /// The end of the highest range: the size the file has reached.
    public var upperBound: UInt64 { ranges.last?.upperBound ?? 0 }
}
