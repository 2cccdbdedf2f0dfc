import ArgumentParser
import Dispatch
import FoundationEssentials
import VMCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and decode every stored page, on every core, and report pages that fail.",
        discussion: "Exits 0 when every stored page decodes, 1 when any does not (each is listed, up to 100).")

    @OptionGroup var dump: DumpOptions

    @Option(help: "Threads to decode with (default: one per processor).")
    var threads: Int?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads takes a positive count.") }
    }

    func run() throws {
        let d = try dump.openMemory()
        let start = DispatchTime.now()
        let result = d.memory.scanStoredPages(threads: threads ?? System.activeProcessorCount)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let mib = Double(result.pagesRead) * Double(result.pageSize) / 1_048_576
        if json {
            print(try jsonText(result))
        } else {
            print("\(result.pagesRead) pages decoded (\(result.zeroPages) all zero), \(result.failureCount) failed")
            print("\(formatDecimal(mib, places: 1)) MiB of memory in \(formatDecimal(seconds, places: 3)) s: \(formatDecimal(seconds > 0 ? mib / seconds : 0, places: 0)) MiB/s")
            for f in result.failures { print("  PFN \(f.pfn): \(f.error)") }
            if result.failureCount > UInt64(result.failures.count) { print("  … \(result.failureCount - UInt64(result.failures.count)) more") }
        }
        if result.failureCount > 0 { throw ExitCode(1) }
    }
}
