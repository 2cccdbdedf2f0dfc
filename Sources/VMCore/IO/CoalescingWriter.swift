/// A fixed buffer that gathers contiguous writes and hands them to the file in one `pwrite`:
/// a piece that does not continue the buffered bytes, or does not fit, flushes first; a piece
/// larger than the whole buffer is written directly. Its memory is allocated once.
///
/// For data that arrives in small pieces mostly in order, such as netdump packets (netdumpd's
/// `vmcorebuf`): one system call per buffer, not one per piece.
public final class CoalescingWriter {
    public let capacity: Int
    private var buffer: [UInt8]
    /// The file offset of `buffer[0]`.
    private var start: UInt64 = 0
    /// The bytes buffered and not yet written.
    public private(set) var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        buffer = [UInt8](repeating: 0, count: capacity)
    }

    /// Adds `bytes` at `offset`, flushing into `file` first when needed. The error's offset
    /// says where a write stopped.
    public func append<Bytes: Collection<UInt8>>(_ bytes: Bytes, at offset: UInt64, to file: OutputFile) throws(SystemCallError) {
        let n = bytes.count
        if count > 0 && (start + UInt64(count) != offset || count + n > capacity) {
            try flush(to: file)
        }
        guard n > 0 else { return }
        if n > capacity { return try file.write(contentsOf: bytes, at: offset) }
        if count == 0 { start = offset }
        SystemCalls.copy(bytes, into: &buffer, at: count)
        count += n
    }

    /// Writes the buffered bytes, if any.
    public func flush(to file: OutputFile) throws(SystemCallError) {
        guard count > 0 else { return }
        let n = count
        count = 0
        try file.write(buffer, 0..<n, at: start)
    }
}
