/// A file open for writing at explicit offsets (`pwrite`), and for reading back what was
/// written when it was opened for that: the handle under `AtomicFile`, the netdump server's
/// dump files and a pidfile. Closed by `close()` or when released.
///
/// Errors are `SystemCallError`s; the caller, who knows what the file is for, phrases them.
public final class OutputFile {
    /// How the file was named when it was opened (a plain name inside a `Directory`, or a path).
    public let name: String
    /// The descriptor, or -1 once closed. For `sync(descriptor:)` on another thread.
    public private(set) var descriptor: Int32

    init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    /// Opens `path` for writing, creating it with `permissions` if it is missing; neither
    /// truncated nor followed if it is a symbolic link (a lock or pidfile).
    public convenience init(openingOrCreating path: String, permissions: UInt32) throws(SystemCallError) {
        let fd = try SystemCalls.open(path, for: .write, [.create, .noFollow], permissions: permissions)
        self.init(descriptor: fd, name: path)
    }

    deinit { close() }

    /// Writes `bytes[range]` at `offset`, retrying short and interrupted writes. The error's
    /// `offset` says where the write stopped.
    public func write(_ bytes: [UInt8], _ range: Range<Int>, at offset: UInt64) throws(SystemCallError) {
        try SystemCalls.write(descriptor, bytes, range, at: offset)
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(SystemCallError) {
        try write(bytes, 0..<bytes.count, at: offset)
    }

    /// Writes all of `bytes` at `offset`, straight from their storage when it is contiguous (a
    /// NIO `ByteBufferView`, an `ArraySlice`).
    public func write<Bytes: Collection<UInt8>>(contentsOf bytes: Bytes, at offset: UInt64) throws(SystemCallError) {
        try SystemCalls.write(descriptor, contentsOf: bytes, at: offset)
    }

    /// Reads `count` bytes at `offset` into `buffer[bufferOffset...]`; returns how many there
    /// were (fewer than `count` only where the file ends).
    public func read(into buffer: inout [UInt8], bufferOffset: Int = 0, at offset: UInt64, count: Int) throws(SystemCallError) -> Int {
        let (done, failure) = SystemCalls.read(descriptor, into: &buffer, bufferOffset: bufferOffset, count: count, at: offset)
        if failure != 0 { throw SystemCallError(code: failure, offset: offset + UInt64(done)) }
        return done
    }

    /// Sets the file's length (`ftruncate`): a hole where nothing was written.
    public func truncate(to length: UInt64) throws(SystemCallError) {
        try SystemCalls.truncate(descriptor, to: length)
    }

    /// Sets the modification (and access) time.
    public func setModificationTime(seconds: Int64) throws(SystemCallError) {
        try SystemCalls.setModificationTime(descriptor, seconds: seconds)
    }

    /// Asks the kernel to start writing `count` bytes at `offset` to disk now, without waiting,
    /// so that a later `sync()` has little left to do (Linux `sync_file_range`; elsewhere nothing).
    public func startWriteback(offset: UInt64, count: UInt64) {
        SystemCalls.startWriteback(descriptor, offset: offset, count: count)
    }

    /// Flushes the file's data to disk (`fsync`).
    public func sync() throws(SystemCallError) {
        try SystemCalls.sync(descriptor)
    }

    /// `fsync` of an open file's descriptor: for work handed to another thread, which may not
    /// hold the (non-Sendable) file itself. Nil on success.
    public static func sync(descriptor: Int32) -> SystemCallError? {
        do {
            try SystemCalls.sync(descriptor)
            return nil
        } catch {
            return error
        }
    }

    /// Takes an exclusive lock on the file (`flock`), without waiting: fails with
    /// `SystemCallError.Code.wouldBlock` when another open file holds it. Released on close.
    public func lockExclusively() throws(SystemCallError) {
        try SystemCalls.lockExclusively(descriptor)
    }

    public func close() {
        if descriptor >= 0 {
            SystemCalls.close(descriptor)
            descriptor = -1
        }
    }
}
