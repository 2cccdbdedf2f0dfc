// The C library, seen from Swift: every call VMCore and VMCoreNet make into libc (files,
// directories, processes, clocks) and every raw-memory scan over a byte array. It is the only
// Swift file of the IO layer that imports the C library, and one of the few places allowed
// to hold unsafe pointer code (the other is `Codecs/CompressionLibraries.swift`).
//
// Why the pointers are here: libc takes buffers, paths and structs to fill as C pointers.
// Keeping all of them in one file lets everything else read and write `[UInt8]` through
// bounds-checked indices, and lets a reviewer check the invariants below in one place.
//
// Invariants every function here keeps:
// - A pointer comes from `withUnsafe…` on a Swift array or value (or from a `String`'s C form
//   for a path) and is used only inside that closure: none is stored or returned.
// - Every range into a caller's array is checked (`precondition`) before its pointer is made:
//   a wrong range stops the program; it never reads or writes outside the array.
// - A buffer the C library writes into is `inout [UInt8]`, uniquely referenced for the call,
//   so no copy is made (the hot path of every dump read: `read(_:into:bufferOffset:count:at:)`
//   allocates nothing).
// - Interrupted calls (`EINTR`) are retried; a short read or write continues where it stopped.
// - `errno` is read right after the call that failed, before anything else can change it.
// - Every descriptor is opened with `O_CLOEXEC`, so a launched process inherits none.
// - Memory the C library allocates (`realpath`, `strdup`) is freed before the function returns.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CVMCoreSystem

/// What the operating system said when a call failed: its `errno`, and for a read or write
/// that stopped part way, the file offset where it stopped.
///
/// The bottom of the IO layer: the caller one step up knows which file and what it was doing,
/// and turns this into its library's error (`VMCoreError`, or `VMCoreNetError` in the netdump
/// server), with `description` as the reason.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `errno` value.
    public var code: Int32
    /// For a read or write: the file offset where it stopped.
    public var offset: UInt64?

    public init(code: Int32, offset: UInt64? = nil) {
        self.code = code
        self.offset = offset
    }

    /// `strerror(code)`: "No such file or directory".
    public var description: String { String(cString: strerror(code)) }

    /// The `errno` values callers of the IO layer act on.
    public enum Code {
        /// `EEXIST`: the name is taken.
        public static let exists: Int32 = EEXIST
        /// `ENOENT`: nothing has that name.
        public static let noSuchEntry: Int32 = ENOENT
        /// `ELOOP`: a symbolic link where `O_NOFOLLOW` refused one.
        public static let symbolicLink: Int32 = ELOOP
        /// `ENOTDIR`: not a directory.
        public static let notDirectory: Int32 = ENOTDIR
        /// `EWOULDBLOCK`: a lock is held by another open file.
        public static let wouldBlock: Int32 = EWOULDBLOCK
        /// `EIO`: an input/output error (also what a write that makes no progress reports).
        public static let ioError: Int32 = EIO
    }
}

/// How `SystemCalls.open` opens a file.
struct OpenOptions: OptionSet {
    let rawValue: Int32

    /// `O_CREAT`, with the permissions given.
    static let create = OpenOptions(rawValue: O_CREAT)
    /// `O_EXCL`: fail with `EEXIST` if the name is taken (with `create`).
    static let exclusive = OpenOptions(rawValue: O_EXCL)
    /// `O_NOFOLLOW`: fail with `ELOOP` if the name is a symbolic link.
    static let noFollow = OpenOptions(rawValue: O_NOFOLLOW)
    /// `O_DIRECTORY`: fail with `ENOTDIR` unless it is a directory.
    static let directory = OpenOptions(rawValue: O_DIRECTORY)
}

/// What `fstat` says about a file.
struct FileStatus {
    enum Kind { case regular, directory, blockDevice, other }

    var kind: Kind
    var size: UInt64
    var device: UInt64
    var inode: UInt64
    /// `st_mtim` in nanoseconds since the epoch.
    var modificationTimeNanoseconds: Int64
}

/// The C library's calls as small Swift functions over `[UInt8]`, `String` and `Int32`
/// descriptors. Nil or a `SystemCallError` at the bottom; the callers phrase the errors.
enum SystemCalls {
    enum Access { case read, write, readWrite }

    // MARK: Descriptors

    /// `open(2)` (`openat(2)` relative to `directory`) with `O_CLOEXEC`.
    static func open(_ path: String, in directory: Int32? = nil, for access: Access, _ options: OpenOptions = [],
                     permissions: UInt32 = 0) throws(SystemCallError) -> Int32 {
        let mode: Int32 = switch access {
        case .read: O_RDONLY
        case .write: O_WRONLY
        case .readWrite: O_RDWR
        }
        let flags = mode | options.rawValue | O_CLOEXEC
        let fd = directory.map { openat($0, path, flags, mode_t(permissions)) } ?? libcOpen(path, flags, mode_t(permissions))
        guard fd >= 0 else { throw SystemCallError(code: errno) }
        return fd
    }

    static func close(_ fd: Int32) {
        _ = libcClose(fd)
    }

    /// Reads `count` bytes at `offset` into `buffer[bufferOffset..<bufferOffset + count]`,
    /// retrying interrupted and short reads. Returns how many bytes arrived and, when fewer
    /// than `count`, why: an `errno` value, or 0 at the end of the file.
    static func read(_ fd: Int32, into buffer: inout [UInt8], bufferOffset: Int, count: Int, at offset: UInt64) -> (done: Int, error: Int32) {
        precondition(bufferOffset >= 0 && count >= 0 && bufferOffset <= buffer.count - count)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < count {
                let n = pread(fd, base + bufferOffset + done, count - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n == 0 ? 0 : errno
                break
            }
        }
        return (done, failure)
    }

    /// Writes `bytes[range]` at `offset`, retrying interrupted and short writes; the error
    /// says where the write stopped.
    static func write(_ fd: Int32, _ bytes: [UInt8], _ range: Range<Int>, at offset: UInt64) throws(SystemCallError) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        if let error = bytes[range].withUnsafeBytes({ writeAll(fd, $0, at: offset) }) { throw error }
    }

    /// Writes all of `bytes` at `offset`, from their own storage when they have contiguous
    /// storage (an array, a NIO `ByteBufferView`), else from a copy.
    static func write<Bytes: Collection<UInt8>>(_ fd: Int32, contentsOf bytes: Bytes, at offset: UInt64) throws(SystemCallError) {
        let result = bytes.withContiguousStorageIfAvailable { writeAll(fd, UnsafeRawBufferPointer($0), at: offset) }
        if let error = result ?? Array(bytes).withUnsafeBytes({ writeAll(fd, $0, at: offset) }) { throw error }
    }

    /// `pwrite(2)` until everything is written (`offset` given) or `write(2)` (`offset` nil).
    private static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: UInt64?) -> SystemCallError? {
        var done = 0
        while done < raw.count {
            // An offset past off_t's range is a file too large, not a trap.
            if let offset, Int64(exactly: offset).flatMap({ $0.addingReportingOverflow(Int64(done)).overflow ? nil : $0 }) == nil {
                return SystemCallError(code: EFBIG, offset: offset)
            }
            let n = offset.map { pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t($0) + off_t(done)) }
                ?? libcWrite(fd, raw.baseAddress! + done, raw.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return SystemCallError(code: n == 0 ? EIO : errno, offset: offset.map { $0 + UInt64(done) })
        }
        return nil
    }

    /// Writes all of `bytes` to `fd` at its current position (standard output or error).
    static func write(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
        if let error = bytes.withUnsafeBytes({ writeAll(fd, $0, at: nil) }) { throw error }
    }

    static func truncate(_ fd: Int32, to length: UInt64) throws(SystemCallError) {
        guard let length = off_t(exactly: length) else { throw SystemCallError(code: EFBIG) }
        guard ftruncate(fd, length) == 0 else { throw SystemCallError(code: errno) }
    }

    static func sync(_ fd: Int32) throws(SystemCallError) {
        guard fsync(fd) == 0 else { throw SystemCallError(code: errno) }
    }

    /// `fstat(2)`.
    static func status(_ fd: Int32) throws(SystemCallError) -> FileStatus {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError(code: errno) }
        return FileStatus(st)
    }

    /// `stat(2)`, or `lstat(2)` when links are not followed; `fstatat(2)` relative to `directory`.
    static func status(_ path: String, in directory: Int32? = nil, followLinks: Bool) throws(SystemCallError) -> FileStatus {
        var st = stat()
        let rc: Int32
        if let directory {
            rc = fstatat(directory, path, &st, followLinks ? 0 : AT_SYMLINK_NOFOLLOW)
        } else {
            rc = followLinks ? stat(path, &st) : lstat(path, &st)
        }
        guard rc == 0 else { throw SystemCallError(code: errno) }
        return FileStatus(st)
    }

    /// The offset of the end of the file (a block device reports size 0 to `fstat`).
    static func endOffset(_ fd: Int32) -> UInt64 {
        let end = lseek(fd, 0, SEEK_END)
        return end > 0 ? UInt64(end) : 0
    }

    /// Tells the kernel the file will be read mostly front to back (Linux only).
    static func adviseSequential(_ fd: Int32) {
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
    }

    /// Asks the kernel to start writing a range to disk now, without waiting (Linux `sync_file_range`).
    static func startWriteback(_ fd: Int32, offset: UInt64, count: UInt64) {
        _ = csystem_start_writeback(fd, Int64(offset), Int64(count))
    }

    /// Sets the access and modification times to `seconds` (`futimens`).
    static func setModificationTime(_ fd: Int32, seconds: Int64) throws(SystemCallError) {
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        guard futimens(fd, &times) == 0 else { throw SystemCallError(code: errno) }
    }

    /// `flock(LOCK_EX | LOCK_NB)`: `EWOULDBLOCK` when another open file holds it.
    static func lockExclusively(_ fd: Int32) throws(SystemCallError) {
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw SystemCallError(code: errno) }
    }

    // MARK: Names

    /// `rename(2)`, or `renameat(2)` within `directory`.
    static func rename(_ from: String, to: String, in directory: Int32? = nil) throws(SystemCallError) {
        let rc = directory.map { renameat($0, from, $0, to) } ?? libcRename(from, to)
        guard rc == 0 else { throw SystemCallError(code: errno) }
    }

    /// `unlink(2)`, or `unlinkat(2)` within `directory`.
    static func unlink(_ path: String, in directory: Int32? = nil) throws(SystemCallError) {
        let rc = directory.map { unlinkat($0, path, 0) } ?? libcUnlink(path)
        guard rc == 0 else { throw SystemCallError(code: errno) }
    }

    /// `symlink(2)`, or `symlinkat(2)` within `directory`: makes `path` a link to `target`.
    static func symlink(_ path: String, to target: String, in directory: Int32? = nil) throws(SystemCallError) {
        let rc = directory.map { symlinkat(target, $0, path) } ?? libcSymlink(target, path)
        guard rc == 0 else { throw SystemCallError(code: errno) }
    }

    static func makeDirectory(_ path: String, permissions: UInt32) throws(SystemCallError) {
        guard mkdir(path, mode_t(permissions)) == 0 else { throw SystemCallError(code: errno) }
    }

    /// `realpath(3)`, or nil if `path` does not resolve.
    static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The names in `directory` (without `.` and `..`), or nil if it cannot be read.
    static func directoryEntries(_ directory: String) -> [String]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `statvfs(3)`: the fragment size and the free blocks for unprivileged users and in all.
    static func freeBlocks(_ path: String) -> (blockSize: UInt64, available: UInt64, free: UInt64)? {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return nil }
        return (UInt64(st.f_frsize != 0 ? st.f_frsize : st.f_bsize), UInt64(st.f_bavail), UInt64(st.f_bfree))
    }

    /// The environment variable `name`, or nil when unset.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    // MARK: Processes

    static var processID: Int32 { getpid() }

    /// True when no process `pid` exists (`kill(pid, 0)` fails with `ESRCH`).
    static func processIsGone(_ pid: Int32) -> Bool {
        kill(pid, 0) != 0 && errno == ESRCH
    }

    /// `access(path, X_OK)`.
    static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// Starts `path` with `argv[0]` = `path` and then `arguments`, the environment
    /// `environment` (`NAME=value` strings), in `directory` (nil: this process's).
    static func spawn(_ path: String, arguments: [String], environment: [String], directory: String?) throws(SystemCallError) -> Int32 {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp = environment.map { strdup($0) } + [nil]
        defer { for p in envp { free(p) } }
        var pid = pid_t()
        let rc = csystem_spawn(&pid, path, argv, envp, directory)
        guard rc == 0 else { throw SystemCallError(code: rc) }
        return pid
    }

    /// Blocks until `pid` exits; its exit status, 128 + the signal that ended it, or -1 if it
    /// cannot be waited for.
    static func waitForExit(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    // MARK: Clock

    /// `CLOCK_REALTIME`: seconds since the epoch and nanoseconds within the second.
    static func realTime() -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    /// `gmtime_r`: year, month (1–12), day, hour, minute, second in UTC.
    static func utc(_ seconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var t = time_t(truncatingIfNeeded: seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `ctime_r`: `Tue Nov 14 22:13:20 2023\n` in local time, or nil when it cannot be shown.
    static func ctime(_ seconds: Int64) -> String? {
        var t = time_t(truncatingIfNeeded: seconds)
        var buffer = [CChar](repeating: 0, count: 64)
        guard ctime_r(&t, &buffer) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Raw memory

    /// Copies all of `source` into `buffer` from `index` on (`memcpy` when `source` has
    /// contiguous storage).
    static func copy<Bytes: Collection<UInt8>>(_ source: Bytes, into buffer: inout [UInt8], at index: Int) {
        let count = source.count
        precondition(index >= 0 && index <= buffer.count - count)
        let copied: Void? = source.withContiguousStorageIfAvailable { src in
            buffer.withUnsafeMutableBytes { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[index..<index + count]).copyMemory(from: UnsafeRawBufferPointer(src))
            }
        }
        if copied == nil {
            var i = index
            for byte in source { buffer[i] = byte; i += 1 }
        }
    }

    /// The first index of `needle` in `haystack[range]`, or nil: `memchr` for its first byte,
    /// `memcmp` for the rest.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], range r: Range<Int>) -> Int? {
        precondition(r.lowerBound >= 0 && r.upperBound <= haystack.count)
        guard !needle.isEmpty, r.count >= needle.count else { return nil }
        return haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                let first = Int32(needle[0])
                var i = r.lowerBound
                let last = r.upperBound - needle.count
                while i <= last {
                    guard let hit = memchr(h.baseAddress! + i, first, last - i + 1) else { return nil }
                    let at = h.baseAddress!.distance(to: UnsafeRawPointer(hit))
                    if memcmp(h.baseAddress! + at, n.baseAddress!, n.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
        }
    }

    /// True if `bytes[range]` are all zero; compares eight bytes at a time.
    static func isZero(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        return bytes.withUnsafeBytes { raw in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
                i += 8
            }
            while i < range.upperBound {
                if raw[i] != 0 { return false }
                i += 1
            }
            return true
        }
    }
}

extension FileStatus {
    fileprivate init(_ st: stat) {
        let kind: Kind = switch st.st_mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFDIR: .directory
        case S_IFBLK: .blockDevice
        default: .other
        }
        #if canImport(Darwin)
        let mtime = st.st_mtimespec
        #else
        let mtime = st.st_mtim
        #endif
        self.init(kind: kind, size: UInt64(st.st_size), device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
                  modificationTimeNanoseconds: Int64(mtime.tv_sec) * 1_000_000_000 + Int64(mtime.tv_nsec))
    }
}

// The C functions whose names the functions above reuse.
private func libcOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func libcWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func libcRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func libcUnlink(_ path: String) -> Int32 { unlink(path) }
private func libcSymlink(_ target: String, _ path: String) -> Int32 { symlink(target, path) }
private func libcClose(_ fd: Int32) -> Int32 { close(fd) }
