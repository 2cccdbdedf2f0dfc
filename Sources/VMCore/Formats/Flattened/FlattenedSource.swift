/// A makedumpfile flattened stream (`makedumpfile -F`, QEMU's `kdump-*` formats) read in place.
///
/// Layout (linux.md A2; makedumpfile `makedumpfile.h`, `rearrange_dumpdata()`): a 4096-byte
/// `struct makedumpfile_header` (`"makedumpfile"` signature, big-endian type 1 and version 1),
/// then records `{int64 offset; int64 buf_size}` (big-endian) each followed by `buf_size`
/// bytes that belong at `offset` of the ordinary file, ended by `{-1, -1}`. Records are not
/// sorted and may rewrite earlier bytes; later records win.
///
/// Opening costs one pass over the record headers (not the data) and an index of
/// O(records); reads go straight to the stream's bytes. No rearranged copy is made.
public final class FlattenedSource: ByteSource, Sendable {
    public let base: any ByteSource
    public var name: String { base.name }
    /// The size of the rearranged file.
    public let size: UInt64
    /// The number of data records in the stream.
    public let recordCount: Int
    /// The bytes the records hold (the rest of `size` is holes).
    public let storedBytes: UInt64
    /// False when the stream ends without the `{-1, -1}` end record (a cut-off transfer).
    public let hasEndMarker: Bool
    /// Disjoint pieces of the rearranged file, sorted by `start`.
    let segments: [Segment]

    struct Segment: Sendable {
        var start: UInt64
        var length: UInt64
        var streamOffset: UInt64
    }

    public static let signature: [UInt8] = Array("makedumpfile".utf8) + [0, 0, 0, 0]
    static let headerSize: UInt64 = 4096

    public static func probe(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 16 && Array(prefix[0..<16]) == signature
    }

    public init(base: any ByteSource) throws(VMCoreError) {
        self.base = base
        let file = base.name
        let h = try base.reader(at: 0, count: 32, order: .big, what: "flattened header")
        guard Self.probe(Array(h.bytes[0..<16])) else {
            throw VMCoreError(.badMagic, file: file, offset: 0, "not a makedumpfile flattened file", "expected the signature \"makedumpfile\"")
        }
        let type = try h.i64(16, "type")
        guard type == 1 else {
            throw VMCoreError(.unsupported, file: file, offset: 16, "unknown flattened header type \(type)", "expected 1 (TYPE_FLAT_HEADER)")
        }

        // One pass over record headers through a read-ahead window.
        struct Record { var target: UInt64; var length: UInt64; var stream: UInt64 }
        var records: [Record] = []
        var position = Self.headerSize
        var window: [UInt8] = []
        var windowStart: UInt64 = 0
        // Small windows: records are usually tens of KiB, so a header is found by hopping, not by
        // reading the data between headers.
        let windowSize = 4096
        var ended = false
        while position < base.size {
            // A stream cut off (a transfer interrupted) keeps every record that arrived, and
            // the part of the last one that did; `hasEndMarker` stays false and says so.
            guard base.size - position >= 16 else { break }
            if position < windowStart || position + 16 > windowStart + UInt64(window.count) {
                let n = Int(min(UInt64(windowSize), base.size - position))
                window = try base.bytes(at: position, count: n, what: "flattened records")
                windowStart = position
            }
            let r = ByteReader(window, file: file, base: windowStart, order: .big)
            let at = Int(position - windowStart)
            let offset = try r.i64(at, "record offset")
            let length = try r.i64(at + 8, "record size")
            if offset == -1 && length == -1 { ended = true; break }
            guard offset >= 0, length >= 0 else {
                throw VMCoreError(.corrupt, file: file, offset: position, "corrupt flattened record header",
                                  "offset \(offset) and size \(length); only the end record {-1, -1} may be negative")
            }
            let payload = position + 16
            let (end, overflow) = UInt64(offset).addingReportingOverflow(UInt64(length))
            guard !overflow, end <= 1 << 56 else {
                throw VMCoreError(.corrupt, file: file, offset: position, "corrupt flattened record header",
                                  "offset \(offset) plus size \(length) is beyond any file")
            }
            guard UInt64(length) <= base.size - payload else {
                let arrived = base.size - payload
                if arrived > 0 { records.append(Record(target: UInt64(offset), length: arrived, stream: payload)) }
                break
            }
            if length > 0 { records.append(Record(target: UInt64(offset), length: UInt64(length), stream: payload)) }
            position = payload + UInt64(length)
        }
        hasEndMarker = ended
        recordCount = records.count

        // Later records win: resolve overlaps with a sweep over the sorted starts, keeping the
        // covering record with the highest stream index (a heap of active records).
        let order = records.indices.sorted { (records[$0].target, $0) < (records[$1].target, $1) }
        var disjoint = true
        for k in order.indices.dropFirst() {
            let prev = records[order[k - 1]], cur = records[order[k]]
            if prev.target + prev.length > cur.target { disjoint = false; break }
        }
        var segments: [Segment] = []
        if disjoint {
            segments = order.map { Segment(start: records[$0].target, length: records[$0].length, streamOffset: records[$0].stream) }
        } else {
            var bounds: [UInt64] = []
            bounds.reserveCapacity(records.count * 2)
            for r in records { bounds.append(r.target); bounds.append(r.target + r.length) }
            bounds.sort()
            var heap = MaxHeap()
            var next = 0
            var previous: UInt64?
            for b in bounds {
                if b == previous { continue }
                if let start = previous {
                    // Segment start..<b: the newest record covering it.
                    while let top = heap.top, records[top].target + records[top].length <= start { heap.pop() }
                    if let top = heap.top {
                        let r = records[top]
                        let stream = r.stream + (start - r.target)
                        if let last = segments.last, last.start + last.length == start, last.streamOffset + last.length == stream {
                            segments[segments.count - 1].length += b - start
                        } else {
                            segments.append(Segment(start: start, length: b - start, streamOffset: stream))
                        }
                    }
                }
                while next < order.count, records[order[next]].target <= b {
                    heap.push(order[next])
                    next += 1
                }
                previous = b
            }
        }
        self.segments = segments
        storedBytes = segments.reduce(0) { $0 + $1.length }
        size = segments.last.map { $0.start + $0.length } ?? 0
    }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset, "read of \(count) bytes runs past the end of the rearranged file",
                              "its records cover \(size) bytes")
        }
        // First segment ending after `offset`.
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].start + segments[mid].length <= offset { lo = mid + 1 } else { hi = mid }
        }
        var done = 0
        var i = lo
        while done < count {
            let at = offset + UInt64(done)
            if i < segments.count, segments[i].start <= at {
                let s = segments[i]
                let n = Int(min(UInt64(count - done), s.start + s.length - at))
                try base.read(into: &buffer, bufferOffset: bufferOffset + done, at: s.streamOffset + (at - s.start), count: n)
                done += n
                i += 1
            } else {
                // A region no record wrote reads as zero, as in the file `makedumpfile -R` makes.
                let gapEnd = i < segments.count ? segments[i].start : size
                let n = Int(min(UInt64(count - done), gapEnd - at))
                for k in 0..<n { buffer[bufferOffset + done + k] = 0 }
                done += n
            }
        }
    }
}

/// A binary max-heap of record indices (a higher index is a later record).
private struct MaxHeap {
    private var items: [Int] = []
    var top: Int? { items.first }

    mutating func push(_ x: Int) {
        items.append(x)
        var i = items.count - 1
        while i > 0, items[(i - 1) / 2] < items[i] {
            items.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, items[l] > items[m] { m = l }
            if r < items.count, items[r] > items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
    }
}
