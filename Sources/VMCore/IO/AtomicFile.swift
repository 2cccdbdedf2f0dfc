#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CVMCoreSystem

/// A file that appears under its name only when it is complete: written under a temporary
/// name in the same directory, then `fsync`ed and renamed into place by `commit`. A file
/// discarded (or never committed) leaves nothing behind.
///
/// The directory is opened once and every step works relative to it (`openat`, `renameat`),
/// and `name` must be a plain file name, so nothing is written anywhere else. The temporary
/// file is created with `O_EXCL | O_NOFOLLOW`: an existing file or link there is never
/// followed. Renaming over an existing name replaces that entry (a link is replaced, not
/// followed).
public final class AtomicFile {
    /// `directory/name`: how errors refer to the file.
    public let path: String
    private let directoryFD: Int32
    private let fd: Int32
    private let name: String
    private let temporaryName: String
    private var finished = false

    /// Creates the temporary file for `directory/name` with `permissions`.
    public init(directory: String, name: String, permissions: UInt32 = 0o600) throws(VMCoreError) {
        precondition(!name.isEmpty && !name.contains("/") && name != "." && name != "..", "AtomicFile takes a plain file name")
        path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        self.name = name
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else {
            throw VMCoreError(.io, file: directory, "cannot open the directory", String(cString: strerror(errno)))
        }
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = Self.temporaryPrefix(name) + "\(getpid())-" + random
        let fd = openat(dfd, temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            close(dfd)
            throw VMCoreError(.io, file: path, "cannot create a temporary file beside it", reason)
        }
        directoryFD = dfd
        self.fd = fd
        temporaryName = temporary
    }

    deinit {
        if !finished { discard() }
        close(directoryFD)
    }

    /// Writes `bytes[range]` at `offset` of the file.
    public func write(_ bytes: [UInt8], _ range: Range<Int>, at offset: UInt64) throws(VMCoreError) {
        precondition(!finished && range.lowerBound >= 0 && range.upperBound <= bytes.count)
        var done = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + range.lowerBound
            while done < range.count {
                let n = pwrite(fd, base + done, range.count - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n == 0 ? EIO : errno
                break
            }
        }
        guard done == range.count else {
            throw VMCoreError(.io, file: path, offset: offset + UInt64(done), "write failed", String(cString: strerror(failure)))
        }
    }

    /// Sets the file's length (a hole where nothing was written).
    public func setLength(_ length: UInt64) throws(VMCoreError) {
        precondition(!finished)
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw VMCoreError(.io, file: path, "cannot set the file's length", String(cString: strerror(errno)))
        }
    }

    /// Reads back `count` bytes at `offset` of what was written, into `buffer[0..<count]`.
    public func read(into buffer: inout [UInt8], at offset: UInt64, count: Int) throws(VMCoreError) {
        precondition(!finished && count <= buffer.count)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n == 0 ? EIO : errno
                break
            }
        }
        guard done == count else {
            throw VMCoreError(.io, file: path, offset: offset + UInt64(done), "reading back what was written failed",
                              failure == EIO && done < count ? "the file is shorter than what was written" : String(cString: strerror(failure)))
        }
    }

    /// Asks the kernel to start writing `count` bytes at `offset` to disk now, without waiting,
    /// so that the flush at `commit` has little left to do (Linux `sync_file_range`).
    public func startWriteback(offset: UInt64, count: UInt64) {
        _ = csystem_start_writeback(fd, Int64(offset), Int64(count))
    }

    /// Sets the length to `length` (never-written ranges stay holes), the modification time
    /// if given, flushes the data to disk and renames the file into place.
    public func commit(length: UInt64, modificationTime seconds: Int64? = nil) throws(VMCoreError) {
        precondition(!finished)
        func fail(_ what: String) -> VMCoreError {
            let reason = String(cString: strerror(errno))
            discard()
            return VMCoreError(.io, file: path, what, reason)
        }
        guard ftruncate(fd, off_t(length)) == 0 else { throw fail("cannot set the file's length") }
        if let seconds {
            var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
            guard futimens(fd, &times) == 0 else { throw fail("cannot set the modification time") }
        }
        guard fsync(fd) == 0 else { throw fail("cannot flush the file to disk") }
        guard renameat(directoryFD, temporaryName, directoryFD, name) == 0 else { throw fail("cannot rename the finished file into place") }
        finished = true
        close(fd)
        // The rename itself survives a crash once the directory is flushed too.
        _ = fsync(directoryFD)
    }

    /// A hidden name beside the final one, ended by the writer's process ID and a random
    /// number; short enough for NAME_MAX whatever `name` is.
    static func temporaryPrefix(_ name: String) -> String {
        "." + String(name.prefix(64)) + ".tmp-"
    }

    /// Removes the temporary files of `directory/name` whose writing process has gone (killed
    /// before it could commit or discard), so an interrupted write does not hold disk space.
    public static func removeAbandoned(directory: String, name: String) {
        let prefix = temporaryPrefix(name)
        for entry in FileSystem.directoryEntries(directory) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = unlink(directory + "/" + entry) }
        }
    }

    /// Removes the temporary file; the final name is untouched.
    public func discard() {
        guard !finished else { return }
        finished = true
        close(fd)
        _ = unlinkat(directoryFD, temporaryName, 0)
    }
}
