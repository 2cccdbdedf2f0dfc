#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
///
/// The IO folder and the codecs are the only places that handle raw pointers.
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
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VMCoreError(.io, file: name ?? path, "cannot open", String(cString: strerror(errno)))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw VMCoreError(.io, file: name ?? path, "cannot stat", reason)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw VMCoreError(.io, file: name ?? path, "is a directory, not a dump file")
        }
        var fileSize = UInt64(st.st_size)
        if (st.st_mode & S_IFMT) == S_IFBLK {
            // A block device reports size 0; seek to its end instead.
            let end = lseek(fd, 0, SEEK_END)
            fileSize = end > 0 ? UInt64(end) : 0
        }
        self.fd = fd
        self.size = min(fileSize, length ?? fileSize)
        #if canImport(Darwin)
        let mtime = st.st_mtimespec
        #else
        let mtime = st.st_mtim
        #endif
        identity = FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: fileSize,
                                modificationTimeNanoseconds: Int64(mtime.tv_sec) * 1_000_000_000 + Int64(mtime.tv_nsec))
        #if os(Linux)
        // Dumps are read mostly front to back, in large pieces.
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
    }

    deinit { close(fd) }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        precondition(bufferOffset >= 0 && count >= 0 && bufferOffset + count <= buffer.count)
        guard offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset,
                              "read of \(count) bytes runs past the end of the file", "the file has \(size) bytes")
        }
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress! + bufferOffset
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n == 0 ? 0 : errno
                break
            }
        }
        guard done == count else {
            if failure != 0 {
                throw VMCoreError(.io, file: name, offset: offset + UInt64(done), "read failed",
                                  String(cString: strerror(failure)))
            }
            throw VMCoreError(.truncated, file: name, offset: offset + UInt64(done),
                              "file ended early", "expected \(count - done) more bytes")
        }
    }
}
