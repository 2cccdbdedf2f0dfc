/// Physical memory as a page-table walk needs it: bytes at a physical address.
///
/// This is the only thing the translation layer asks of the layers below it, so it never sees a
/// file or a dump format. Implementations must be safe to call from several threads at once.
public protocol PhysicalReader: Sendable {
    /// Copies `count` bytes at physical `address` into `buffer[0..<count]`. Throws a
    /// `TranslationError` whose text says why the bytes are not there ("physical address
    /// 0x700000000 is not in the dump").
    func readPhysical(_ address: UInt64, into buffer: inout [UInt8], count: Int) throws(TranslationError)
}
