@_exported import VMCoreTranslation

/// Physical memory as the translation layer reads it: a dump's `PhysicalMemory`, whose errors
/// become the reason in a `TranslationError`.
public struct PhysicalMemoryReader: PhysicalReader {
    public let memory: any PhysicalMemory

    public init(_ memory: any PhysicalMemory) { self.memory = memory }

    public func readPhysical(_ address: UInt64, into buffer: inout [UInt8], count: Int) throws(TranslationError) {
        do {
            try memory.read(physical: address, into: &buffer, bufferOffset: 0, count: count)
        } catch {
            throw TranslationError(error.reason)
        }
    }
}

/// A kernel's virtual memory in a dump: the dump's physical memory and the kernel's address
/// translation (a page-table walk for Linux and FreeBSD full dumps; a minidump's direct map and
/// dumped page-table entries), with where the translation's root came from.
///
/// Errors name the dump file. Reads gather the pages that are contiguous in physical memory
/// too and read them at once.
public final class KernelAddressSpace: Sendable {
    public let memory: any PhysicalMemory
    public let translator: AddressTranslator
    /// The dump's name, for errors.
    public let file: String
    /// The translation scheme, for `vmcore translate` ("x86-64 4-level", "FreeBSD/arm64 minidump v3").
    public let scheme: String
    /// The root of the translation (a page-table root, or the start of kernel address space).
    public let root: UInt64
    /// Where the root came from ("VMCOREINFO SYMBOL(init_top_pgt)", "CPU 0 CR3").
    public let rootSource: String

    public init(memory: any PhysicalMemory, translator: AddressTranslator, file: String, scheme: String, root: UInt64, rootSource: String) {
        self.memory = memory
        self.translator = translator
        self.file = file
        self.scheme = scheme
        self.root = root
        self.rootSource = rootSource
    }

    /// One page-table walk of `form` from `root` for every address.
    public convenience init(memory: any PhysicalMemory, form: any PagingForm, root: UInt64, file: String, rootSource: String = "") {
        let walker = PageTableWalker(reader: PhysicalMemoryReader(memory), form: form, root: root)
        self.init(memory: memory, translator: AddressTranslator(pageTable: walker), file: file, scheme: form.name, root: root, rootSource: rootSource)
    }

    func error(_ e: TranslationError) -> VMCoreError {
        VMCoreError(.translation, file: file, e.message, e.detail)
    }

    /// Every step of the translation of `va`.
    public func translate(_ va: UInt64) throws(VMCoreError) -> Translation {
        do { return try translator.translate(va) } catch { throw self.error(error) }
    }

    /// The pages mapped in `range` through page tables (the regions that walk them), in
    /// address order, at most `limit`.
    public func mappings(in range: ClosedRange<UInt64>, limit: Int = 1 << 20) -> [PageTableWalker.Mapping] {
        var out: [PageTableWalker.Mapping] = []
        for region in translator.regions {
            guard case .pageTable(let walker) = region.map, region.start <= range.upperBound, region.last >= range.lowerBound else { continue }
            out += walker.mappings(in: max(range.lowerBound, region.start)...min(range.upperBound, region.last), limit: limit - out.count)
        }
        return out
    }

    /// The physical address of `va` (cached).
    public func physical(_ va: UInt64) throws(VMCoreError) -> UInt64 {
        do { return try translator.lookup(va).physical } catch { throw self.error(error) }
    }

    /// Copies `count` bytes at kernel virtual address `va` into `buffer[bufferOffset...]`.
    public func read(virtual va: UInt64, into buffer: inout [UInt8], bufferOffset: Int = 0, count: Int) throws(VMCoreError) {
        var done = 0
        while done < count {
            // Read what is physically contiguous at once (up to 8 MiB).
            let at = va &+ UInt64(done)
            let run: (physical: UInt64, length: UInt64)
            do { run = try translator.contiguousRun(at, limit: UInt64(min(count - done, 8 << 20))) } catch { throw self.error(error) }
            let n = Int(run.length)
            try memory.read(physical: run.physical, into: &buffer, bufferOffset: bufferOffset + done, count: n)
            done += n
        }
    }

    /// `count` bytes at kernel virtual address `va`.
    ///
    /// A large read grows its buffer as the pages arrive, so a size taken from damaged memory
    /// fails at the first missing page instead of allocating it all first.
    public func read(virtual va: UInt64, count: Int) throws(VMCoreError) -> [UInt8] {
        guard count >= 0 else {
            throw VMCoreError(.usage, file: file, "read of \(count) bytes at \(hex(va))", "a count cannot be negative")
        }
        let step = 1 << 20
        guard count > step else {
            var buffer = [UInt8](repeating: 0, count: count)
            try read(virtual: va, into: &buffer, count: count)
            return buffer
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: step)
        while buffer.count < count {
            let n = min(step, count - buffer.count)
            try read(virtual: va &+ UInt64(buffer.count), into: &chunk, count: n)
            buffer += chunk[0..<n]
        }
        return buffer
    }
}
