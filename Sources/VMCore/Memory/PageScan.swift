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

extension PhysicalMemory {
    /// Page frames that hold data in the dump, as half-open runs (holes, excluded and missing
    /// pages left out; pages only partly in memory included).
    public func storedPageRuns() -> [Range<UInt64>] {
        if let kdump = self as? KdumpFile {
            // Only the PFN ranges of the files given: one piece of a split set holds its own range.
            var runs: [Range<UInt64>] = []
            for run in kdump.dumped.runs() {
                for part in kdump.parts {
                    let r = max(run.lowerBound, part.startPFN)..<max(max(run.lowerBound, part.startPFN), min(run.upperBound, part.endPFN))
                    if !r.isEmpty { runs.append(r) }
                }
            }
            return runs
        }
        let ps = UInt64(pageSize)
        var runs: [Range<UInt64>] = []
        for r in ranges {
            var pfn = r.start / ps
            let end = (r.end + ps - 1) / ps
            while pfn < end {
                let s = state(ofPage: pfn)
                if s == .present || s == .zero {
                    if let last = runs.last, last.upperBound == pfn { runs[runs.count - 1] = last.lowerBound..<pfn + 1 } else { runs.append(pfn..<pfn + 1) }
                }
                pfn += 1
            }
        }
        return runs
    }

    /// Reads and decodes every stored page on `threads` threads, calling `visit` (from any
    /// thread) with each page's bytes. A page that fails is recorded, and the scan goes on.
    public func scanStoredPages(threads: Int = System.activeProcessorCount,
                                visit: (@Sendable (UInt64, [UInt8]) -> Void)? = nil) -> PageScanResult {
        let ps = UInt64(pageSize)
        // Chunks of at most 256 pages (1 MiB of 4 KiB pages), so both threads stay busy to the end.
        var chunks: [Range<UInt64>] = []
        for run in storedPageRuns() {
            var start = run.lowerBound
            while start < run.upperBound {
                let end = min(run.upperBound, start + 256)
                chunks.append(start..<end)
                start = end
            }
        }
        let total = Mutex(PageScanResult())
        let next = Atomic<Int>(0)
        let kdump = self as? KdumpFile
        let chunkList = chunks
        let rangeList = ranges
        // The index of the first range ending after `address` (ranges are sorted and disjoint).
        @Sendable func rangeIndex(_ address: UInt64) -> Int {
            var lo = 0, hi = rangeList.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if rangeList[mid].end <= address { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunkList.count))) { _ in
            var page = [UInt8](repeating: 0, count: pageSize)
            var scratch = [UInt8](repeating: 0, count: pageSize)
            var local = PageScanResult()
            let decoder = PageDecoder()
            var block: [UInt8] = []
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < chunkList.count else { break }
                let chunk = chunkList[i]
                if let kdump {
                    for pfn in chunk {
                        let failure: VMCoreError?
                        do throws(VMCoreError) { try kdump.decodePage(pfn, into: &page, scratch: &scratch, decoder: decoder); failure = nil } catch { failure = error }
                        local.account(pfn, page, failure, visit)
                    }
                    continue
                }
                // Uncompressed containers: one read for the whole chunk where it lies in one
                // range, page by page where a range ends mid-chunk (or the read fails).
                let start = chunk.lowerBound * ps, end = chunk.upperBound * ps
                let r = rangeList[rangeIndex(start)]
                if r.start <= start && end <= r.end {
                    if block.count < Int(end - start) { block = [UInt8](repeating: 0, count: Int(end - start)) }
                    if (try? read(physical: start, into: &block, bufferOffset: 0, count: Int(end - start))) != nil {
                        for (k, pfn) in chunk.enumerated() {
                            let o = k * pageSize
                            local.pagesRead += 1
                            if PageCodec.isZero(block, o..<o + pageSize) { local.zeroPages += 1 }
                            if let visit { visit(pfn, Array(block[o..<o + pageSize])) }
                        }
                        continue
                    }
                }
                for pfn in chunk {
                    // Pages only partly in memory: read the part that is there.
                    let r = rangeList[rangeIndex(pfn * ps)]
                    let from = max(pfn * ps, r.start)
                    let to = min((pfn + 1) * ps, r.end)
                    for k in page.indices { page[k] = 0 }
                    let failure: VMCoreError?
                    do throws(VMCoreError) { try read(physical: from, into: &page, bufferOffset: Int(from - pfn * ps), count: Int(to - from)); failure = nil } catch { failure = error }
                    local.account(pfn, page, failure, visit)
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

extension PageScanResult {
    /// Counts one page: read (zero or not, handed to `visit`), or failed with `failure`.
    mutating func account(_ pfn: UInt64, _ page: [UInt8], _ failure: VMCoreError?, _ visit: (@Sendable (UInt64, [UInt8]) -> Void)?) {
        if let failure {
            failureCount += 1
            if failures.count < 100 { failures.append(.init(pfn: hex(pfn), error: "\(failure)")) }
            return
        }
        pagesRead += 1
        if PageCodec.isZero(page, 0..<page.count) { zeroPages += 1 }
        visit?(pfn, page)
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
