/// Which file a path named when it was opened, and which version of it: what a derived file
/// (a decompressed copy) records to know it is still current.
public struct FileIdentity: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: UInt64
    /// `st_mtim` in nanoseconds since the epoch.
    public var modificationTimeNanoseconds: Int64

    public init(device: UInt64, inode: UInt64, size: UInt64, modificationTimeNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modificationTimeNanoseconds = modificationTimeNanoseconds
    }
}

/// A regular file read with `pread`: safe to share between threads, never loaded whole.
public final class FileSource: ByteSource, @unchecked Sendable {
    public let name: String
    public let size: UInt64
    /// The file as `fstat` saw it when it was opened.
    public let identity: FileIdentity
    // Immutable after init; pread carries its own offset, so concurrent reads are safe.
    private let fd: Int32

    /// Opens `path` read-only; `name` is how errors refer to it (the path by default). With
    /// `length`, only the file's first `length` bytes are the source (a cache file's record
    /// follows its data).
    public init(path: String, name: String? = nil, length: UInt64? = nil) throws(VMCoreError) {
        self.name = name ?? path
        let fd: Int32
        do {
            fd = try SystemCalls.open(path, for: .read)
        } catch {
            throw VMCoreError(.io, file: name ?? path, "cannot open", error.description)
        }
        let st: FileStatus
        do {
            st = try SystemCalls.status(fd)
        } catch {
            SystemCalls.close(fd)
            throw VMCoreError(.io, file: name ?? path, "cannot stat", error.description)
        }
        if st.kind == .directory {
            SystemCalls.close(fd)
            throw VMCoreError(.io, file: name ?? path, "is a directory, not a dump file")
        }
        // A block device reports size 0; seek to its end instead.
        let fileSize = st.kind == .blockDevice ? SystemCalls.endOffset(fd) : st.size
        self.fd = fd
        self.size = min(fileSize, length ?? fileSize)
        identity = FileIdentity(device: st.device, inode: st.inode, size: fileSize,
                                modificationTimeNanoseconds: st.modificationTimeNanoseconds)
        // Dumps are read mostly front to back, in large pieces.
        SystemCalls.adviseSequential(fd)
    }

    deinit { SystemCalls.close(fd) }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        precondition(bufferOffset >= 0 && count >= 0 && bufferOffset + count <= buffer.count)
        guard offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset,
                              "read of \(count) bytes runs past the end of the file", "the file has \(size) bytes")
        }
        let (done, failure) = SystemCalls.read(fd, into: &buffer, bufferOffset: bufferOffset, count: count, at: offset)
        guard done == count else {
            if failure != 0 {
                throw VMCoreError(.io, file: name, offset: offset + UInt64(done), "read failed",
                                  SystemCallError(code: failure).description)
            }
            throw VMCoreError(.truncated, file: name, offset: offset + UInt64(done),
                              "file ended early", "expected \(count - done) more bytes")
        }
    }
}
