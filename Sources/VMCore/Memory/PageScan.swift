import Dispatch
import Synchronization

/// The result of reading every stored page of a dump.
public struct PageScanResult: Sendable, Codable {
    public struct Failure: Sendable, Codable {
        public var pfn: String
        public var error: String
    }

    /// Pages read and decoded successfully.
    public var pagesRead: UInt64 = 0
    /// Of those, pages whose bytes are all zero.
    public var zeroPages: UInt64 = 0
    /// Pages that could not be read, with why (the first 100).
    public var failures: [Failure] = []
    public var failureCount: UInt64 = 0
    /// The page size the counts are in.
    public var pageSize: Int = 0
}

/// A page that could not be read, and why.
public struct PageFailure: Sendable {
    public var pfn: UInt64
    public var error: VMCoreError
}

/// The buffers and decompression streams one thread reuses from page to page, so that
/// reading a page allocates nothing. Not for sharing between threads.
public final class PageReadContext {
    /// One page, for containers that decode pages one at a time.
    public var page: [UInt8]
    /// Room for a compressed page.
    public var scratch: [UInt8]
    public let decoder: PageDecoder

    public init(pageSize: Int) {
        page = [UInt8](repeating: 0, count: pageSize)
        scratch = [UInt8](repeating: 0, count: pageSize)
        decoder = PageDecoder()
    }
}

/// Consecutive stored pages, read: `bytes` holds `pfns.count` pages (zero where a page failed).
public struct PageChunk {
    public var pfns: Range<UInt64>
    public var bytes: [UInt8]
    public var failures: [PageFailure]
}

extension PhysicalMemory {
    /// Page frames that hold data in the dump, as half-open runs (holes, excluded and missing
    /// pages left out; pages only partly in memory included). Containers that know their
    /// stored pages better (a bitmap) say so themselves.
    public func storedPageRuns() -> [Range<UInt64>] {
        let ps = UInt64(pageSize)
        var runs: [Range<UInt64>] = []
        for r in ranges {
            var pfn = r.start / ps
            let end = Checked.divideRoundingUp(r.end, ps)
            while pfn < end {
                let s = state(ofPage: pfn)
                if s == .present || s == .zero { runs.appendJoining(pfn..<pfn + 1) }
                pfn += 1
            }
        }
        return runs
    }

    /// Reads pages `pfns` into `buffer` (`pfns.count` pages; it grows if short): in one read
    /// where they lie in one range, else page by page, reading the part of a page that is in
    /// memory. A page that cannot be read is zero and reported. Containers whose pages are
    /// encoded (kdump-compressed) decode them one by one instead.
    public func readPages(_ pfns: Range<UInt64>, into buffer: inout [UInt8], context: PageReadContext) -> [PageFailure] {
        let ps = UInt64(pageSize)
        let bytes = pfns.count * pageSize
        if buffer.count < bytes { buffer = [UInt8](repeating: 0, count: bytes) }
        // The last page frame of the address space ends at 2^64, which UInt64 cannot hold.
        let start = pfns.lowerBound &* ps, end = Checked.product(pfns.upperBound, ps) ?? .max
        let list = ranges
        // The first range ending after `address` (ranges are sorted and disjoint).
        func range(after address: UInt64) -> PhysicalRange? {
            var lo = 0, hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if list[mid].end <= address { lo = mid + 1 } else { hi = mid }
            }
            return lo < list.count ? list[lo] : nil
        }
        if let r = range(after: start), r.start <= start && end <= r.end,
           (try? read(physical: start, into: &buffer, bufferOffset: 0, count: bytes)) != nil {
            return []
        }
        var failures: [PageFailure] = []
        for (k, pfn) in pfns.enumerated() {
            let o = k * pageSize
            for i in o..<o + pageSize { buffer[i] = 0 }
            // Pages only partly in memory: read the part that is there.
            guard let r = range(after: pfn * ps) else {
                failures.append(PageFailure(pfn: pfn, error: VMCoreError(.notInDump, file: "", "PFN \(hex(pfn)) is beyond the dump's memory")))
                continue
            }
            let from = max(pfn &* ps, r.start), to = min(Checked.sum(pfn &* ps, ps) ?? .max, r.end)
            do throws(VMCoreError) {
                guard from < to else { throw VMCoreError(.notInDump, file: "", "PFN \(hex(pfn)) is in a hole") }
                try read(physical: from, into: &buffer, bufferOffset: o + Int(from - pfn * ps), count: Int(to - from))
            } catch {
                failures.append(PageFailure(pfn: pfn, error: error))
            }
        }
        return failures
    }

    /// Every stored page, in PFN order, `chunkPages` pages at a time: decoded on `threads`
    /// threads, handed to `consume` on the calling thread in order. The chunk's buffer is
    /// reused once `consume` returns, so memory stays flat however big the dump is. For
    /// writers that must emit pages in order (a re-filtered or converted dump).
    public func forEachStoredChunk(chunkPages: Int = 256, threads: Int = System.activeProcessorCount,
                                   _ consume: (PageChunk) throws(VMCoreError) -> Void) throws(VMCoreError) {
        try searchStoredChunks(chunkPages: chunkPages, threads: threads) { (chunk) throws(VMCoreError) -> Bool in
            try consume(chunk)
            return false
        }
    }

    /// As `forEachStoredChunk`, stopping after the first chunk for which `stop` returns true
    /// (a search): at most one batch of chunks (one per thread) is decoded past it.
    public func searchStoredChunks(chunkPages: Int = 256, threads: Int = System.activeProcessorCount,
                                   _ stop: (PageChunk) throws(VMCoreError) -> Bool) throws(VMCoreError) {
        let chunks = Self.chunks(storedPageRuns(), of: max(1, chunkPages))
        let width = max(1, threads)
        let slots = (0..<width).map { _ in ChunkSlot(pageSize: pageSize, pages: chunkPages) }
        var next = 0
        while next < chunks.count {
            let batch = Array(chunks[next..<min(chunks.count, next + width)])
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                let slot = slots[i]
                slot.failures = readPages(batch[i], into: &slot.bytes, context: slot.context)
            }
            for (i, pfns) in batch.enumerated() {
                if try stop(PageChunk(pfns: pfns, bytes: slots[i].bytes, failures: slots[i].failures)) { return }
            }
            next += batch.count
        }
    }

    /// `runs` cut into pieces of at most `size` pages.
    static func chunks(_ runs: [Range<UInt64>], of size: Int) -> [Range<UInt64>] {
        var chunks: [Range<UInt64>] = []
        for run in runs {
            var start = run.lowerBound
            while start < run.upperBound {
                let end = min(run.upperBound, start + UInt64(size))
                chunks.append(start..<end)
                start = end
            }
        }
        return chunks
    }

    /// Reads and decodes every stored page on `threads` threads, calling `visit` (from any
    /// thread) with each page's bytes. A page that fails is recorded, and the scan goes on.
    public func scanStoredPages(threads: Int = System.activeProcessorCount,
                                visit: (@Sendable (UInt64, [UInt8]) -> Void)? = nil) -> PageScanResult {
        // Chunks of at most 256 pages (1 MiB of 4 KiB pages), so both threads stay busy to the end.
        let chunkList = Self.chunks(storedPageRuns(), of: 256)
        let total = Mutex(PageScanResult())
        let next = Atomic<Int>(0)
        let ps = pageSize
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunkList.count))) { _ in
            let context = PageReadContext(pageSize: ps)
            var block: [UInt8] = []
            var local = PageScanResult()
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < chunkList.count else { break }
                let chunk = chunkList[i]
                let failures = readPages(chunk, into: &block, context: context)
                var failed = failures.makeIterator()
                var nextFailure = failed.next()
                for (k, pfn) in chunk.enumerated() {
                    if let f = nextFailure, f.pfn == pfn {
                        local.failureCount += 1
                        if local.failures.count < 100 { local.failures.append(.init(pfn: hex(pfn), error: "\(f.error)")) }
                        nextFailure = failed.next()
                        continue
                    }
                    let o = k * ps
                    local.pagesRead += 1
                    if PageCodec.isZero(block, o..<o + ps) { local.zeroPages += 1 }
                    if let visit { visit(pfn, Array(block[o..<o + ps])) }
                }
            }
            total.withLock { t in
                t.pagesRead += local.pagesRead
                t.zeroPages += local.zeroPages
                t.failureCount += local.failureCount
                t.failures += local.failures.prefix(max(0, 100 - t.failures.count))
            }
        }
        var result = total.withLock { $0 }
        result.pageSize = pageSize
        result.failures.sort { UInt64($0.pfn.dropFirst(2), radix: 16)! < UInt64($1.pfn.dropFirst(2), radix: 16)! }
        return result
    }
}

extension Array where Element == Range<UInt64> {
    /// Appends `run` to runs given in order, joining it to the last one when they touch or
    /// overlap: how each `storedPageRuns` builds its list.
    mutating func appendJoining(_ run: Range<UInt64>) {
        if let last = self.last, last.upperBound >= run.lowerBound {
            self[count - 1] = last.lowerBound..<Swift.max(last.upperBound, run.upperBound)
        } else {
            append(run)
        }
    }
}

/// One thread's buffers for `forEachStoredChunk`: each slot is used by one thread at a time
/// (the batch's iteration of the same index), then read by the caller after the batch.
final class ChunkSlot: @unchecked Sendable {
    var bytes: [UInt8]
    var failures: [PageFailure] = []
    let context: PageReadContext

    init(pageSize: Int, pages: Int) {
        bytes = [UInt8](repeating: 0, count: pageSize * pages)
        context = PageReadContext(pageSize: pageSize)
    }
}

/// Facts about the machine the tool runs on.
public enum System {
    /// Processors online, at least 1.
    public static var activeProcessorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

#if canImport(Glibc)
import Glibc
#endif
