/// A window of another byte source: the payload of a dump that sits inside a larger file, such
/// as a FreeBSD dump device image.
///
/// Offsets are relative to the window's start. The name says where the window lies, so an
/// error's offset can be traced back to the enclosing file:
/// `swap.img (dump at 0x3f2000): … at offset 0x1000` is file offset 0x3f3000.
public struct SliceSource: ByteSource {
    public let base: any ByteSource
    /// Where the window starts in `base`.
    public let start: UInt64
    public let size: UInt64
    public let name: String

    /// The `size` bytes of `base` at `start`; the window must lie inside `base`.
    public init(base: any ByteSource, start: UInt64, size: UInt64, name: String? = nil) throws(VMCoreError) {
        guard start <= base.size, size <= base.size - start else {
            throw VMCoreError(.truncated, file: base.name, offset: start,
                              "the dump (\(size) bytes) runs past the end of the file", "the file has \(base.size) bytes")
        }
        self.base = base
        self.start = start
        self.size = size
        self.name = name ?? "\(base.name) (dump at \(hex(start)))"
    }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset, "read of \(count) bytes runs past the end of the dump",
                              "the dump has \(size) bytes")
        }
        try base.read(into: &buffer, bufferOffset: bufferOffset, at: start + offset, count: count)
    }
}
