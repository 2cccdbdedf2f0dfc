#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory opened once, in which every file operation is relative to its descriptor
/// (`openat`, `renameat`, `symlinkat`), the way netdumpd works relative to `g_dumpdir_fd`.
///
/// Names passed in are single path components; nothing here follows a symbolic link it did
/// not make, so the server never writes outside the directory it was given.
public final class DumpDirectory {
    /// How messages name the directory.
    public let path: String
    let fd: Int32

    /// Opens `path`, which must be a directory.
    public init(path: String) throws(VMCoreNetError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure(path, "cannot open the dump directory") }
        self.path = path
        self.fd = fd
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The directory `relative` names below this one, opened one component at a time with
    /// `O_NOFOLLOW`: absolute paths, `..` and symbolic links are refused, so the result is
    /// always inside this directory. Nothing is created.
    public func subdirectory(_ relative: String) throws(VMCoreNetError) -> DumpDirectory {
        guard !relative.hasPrefix("/") else {
            throw VMCoreNetError(.unsafePath, relative, "an absolute path is not allowed")
        }
        let components = relative.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.contains("..") else {
            throw VMCoreNetError(.unsafePath, relative, "'..' is not allowed")
        }
        var current = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard current >= 0 else { throw Self.failure(path, "cannot duplicate the directory descriptor") }
        for component in components {
            let next = openat(current, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let error = errno
            close(current)
            guard next >= 0 else {
                let reason = error == ELOOP || error == ENOTDIR ? "is not a directory (symbolic links are not followed)"
                    : String(cString: strerror(error))
                throw VMCoreNetError(.unsafePath, relative, "cannot open '\(component)'", reason)
            }
            current = next
        }
        let display = components.isEmpty ? path : path + "/" + components.joined(separator: "/")
        return DumpDirectory(fd: current, path: display)
    }

    /// Creates `name` with `permissions`; with `exclusive`, fails with `EEXIST` if it exists
    /// (as netdumpd creates `info.<host>.N`), otherwise replaces whatever was there.
    func create(_ name: String, permissions: mode_t, exclusive: Bool) throws(VMCoreNetError) -> OutputFile {
        precondition(Self.isPlainName(name))
        if !exclusive { _ = unlinkat(fd, name, 0) }
        let file = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions)
        guard file >= 0 else { throw Self.failure(path + "/" + name, "cannot create") }
        return OutputFile(fd: file, name: name)
    }

    func remove(_ name: String) {
        precondition(Self.isPlainName(name))
        _ = unlinkat(fd, name, 0)
    }

    /// Whether `name` exists (without following a link).
    func exists(_ name: String) -> Bool {
        var st = stat()
        return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// The first `limit` bytes of the regular file `name`, or nil.
    func read(_ name: String, limit: Int) -> [UInt8]? {
        precondition(Self.isPlainName(name))
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        var st = stat()
        guard fstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var bytes = [UInt8](repeating: 0, count: limit)
        let n = bytes.withUnsafeMutableBytes { pread(file, $0.baseAddress!, limit, 0) }
        return n >= 0 ? Array(bytes.prefix(n)) : nil
    }

    /// Replaces `name` with `contents` in one step: written under a temporary name, then renamed.
    func replace(_ name: String, with contents: [UInt8], permissions: mode_t) throws(VMCoreNetError) {
        let temporary = ".\(name).tmp-\(getpid())"
        let file = try create(temporary, permissions: permissions, exclusive: false)
        do throws(VMCoreNetError) {
            try file.write(contents, at: 0)
        } catch {
            file.close()
            _ = unlinkat(fd, temporary, 0)
            throw error
        }
        file.close()
        try rename(temporary, to: name)
    }

    func rename(_ from: String, to: String) throws(VMCoreNetError) {
        precondition(Self.isPlainName(from) && Self.isPlainName(to))
        guard renameat(fd, from, fd, to) == 0 else { throw Self.failure(path + "/" + from, "cannot rename to \(to)") }
    }

    /// Points the symbolic link `name` at `target` (a name in this directory), replacing any
    /// old link in one step, so `name` never goes missing.
    func replaceSymlink(_ name: String, target: String) throws(VMCoreNetError) {
        precondition(Self.isPlainName(name) && Self.isPlainName(target))
        let temporary = ".\(name).tmp-\(getpid())"
        _ = unlinkat(fd, temporary, 0)
        guard symlinkat(target, fd, temporary) == 0 else { throw Self.failure(path + "/" + name, "cannot create the symbolic link") }
        try rename(temporary, to: name)
    }

    /// A single, ordinary path component: no slash, not empty, not `.` or `..`, no NUL.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0x2f) && !name.utf8.contains(0)
    }

    static func failure(_ subject: String, _ message: String) -> VMCoreNetError {
        VMCoreNetError(.io, subject, message, String(cString: strerror(errno)))
    }
}

/// A file the server writes with `pwrite`.
final class OutputFile {
    private(set) var fd: Int32
    let name: String

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    deinit { close() }

    /// Writes all of `bytes` at `offset`, retrying short writes and `EINTR`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VMCoreNetError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { errno = EIO }
            throw VMCoreNetError(.io, name, "write error @ offset \(hex8(offset + UInt64(done)))", String(cString: strerror(errno)))
        }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(VMCoreNetError) {
        try typedThrows { try bytes.withUnsafeBytes { try write($0, at: offset) } }
    }

    func truncate(to length: UInt64) throws(VMCoreNetError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw DumpDirectory.failure(name, "cannot truncate") }
    }

    /// `fsync`; safe to call from another thread with the descriptor it returns.
    static func sync(_ fd: Int32) -> Int32 { fsync(fd) == 0 ? 0 : errno }

    func close() {
        if fd >= 0 { closeDescriptor(fd); fd = -1 }
    }
}

/// Runs `body`, which can only throw `VMCoreNetError` but calls a `rethrows` function that
/// does not say so (`withUnsafeBytes`).
func typedThrows<R>(_ body: () throws -> R) throws(VMCoreNetError) -> R {
    do {
        return try body()
    } catch let error as VMCoreNetError {
        throw error
    } catch {
        throw VMCoreNetError(.io, "", "\(error)")
    }
}

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// `%08jx`: how netdumpd prints the offset of a failed write.
func hex8(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

/// A fixed buffer that gathers contiguous VMCORE payloads and writes them with one `pwrite`,
/// as netdumpd's `vmcorebuf` does (128 KiB there): a packet that does not continue the
/// buffered bytes, or does not fit, flushes first. Its memory is allocated once.
final class CoalescingWriter {
    let capacity: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private var start: UInt64 = 0
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Adds `bytes` at `offset`, flushing into `file` first when needed.
    func append(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, to file: OutputFile) throws(VMCoreNetError) {
        if count > 0 && (start + UInt64(count) != offset || count + bytes.count > capacity) {
            try flush(to: file)
        }
        guard !bytes.isEmpty else { return }
        if bytes.count > capacity { return try file.write(bytes, at: offset) }
        if count == 0 { start = offset }
        (buffer.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    func flush(to file: OutputFile) throws(VMCoreNetError) {
        guard count > 0 else { return }
        let n = count
        count = 0
        try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: start)
    }
}
