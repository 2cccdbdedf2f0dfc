/// A raw image of physical memory: byte `n` of the file is physical address `base + n`
/// (`/dev/mem` copies, QEMU `pmemsave`). It has no header, so it is opened only on request.
public final class RawImage: PhysicalMemory, Sendable {
    public let source: any ByteSource
    public let base: UInt64
    public let pageSize: Int
    public var ranges: [PhysicalRange] { source.size == 0 ? [] : [PhysicalRange(start: base, end: base + source.size)] }

    public init(source: any ByteSource, base: UInt64 = 0, pageSize: Int = 4096) {
        self.source = source
        self.base = base
        self.pageSize = pageSize
    }

    public func state(ofPage pfn: UInt64) -> PageState {
        let a = pfn &* UInt64(pageSize)
        return a >= base && a - base < source.size ? .present : .notInDump
    }

    public func read(physical address: UInt64, into buffer: inout [UInt8], bufferOffset: Int, count: Int) throws(VMCoreError) {
        guard address >= base, address - base <= source.size, UInt64(count) <= source.size - (address - base) else {
            throw VMCoreError(.notInDump, file: source.name, "physical address \(hex(address)) is not in the dump",
                              "the image covers \(hex(base))-\(hex(base + source.size))")
        }
        try source.read(into: &buffer, bufferOffset: bufferOffset, at: address - base, count: count)
    }
}
