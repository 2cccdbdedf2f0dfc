#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system calls outside reading and writing files: directories, canonical
/// paths, the environment and standard error.
public enum FileSystem {
    /// `path`'s directory ("." when it has none) and last component.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// True when something (a file, directory or link, even a dangling one) is at `path`.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Creates `path` and any missing parents with `permissions` (`mkdir -p`).
    public static func makeDirectories(_ path: String, permissions: UInt32 = 0o700) throws(VMCoreError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, mode_t(permissions)) != 0 && errno != EEXIST {
                throw VMCoreError(.io, file: prefix, "cannot create the directory", String(cString: strerror(errno)))
            }
            prefix += "/"
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw VMCoreError(.io, file: path, "is not a directory")
        }
    }

    /// `path` with symbolic links, `.` and `..` resolved (`realpath`), or nil if it does not exist.
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The environment variable `name`, or nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// Writes `text` and a newline to standard error.
    public static func printError(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(2, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// The names in `directory` (without `.` and `..`), or nil if it cannot be read.
    public static func directoryEntries(_ directory: String) -> [String]? {
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

    /// Free space in `directory`'s file system, in KiB: what unprivileged users may use
    /// (`f_bavail`) and all of it (`f_bfree`), as savecore's `check_space()` reads them.
    public static func freeSpace(_ directory: String) -> (available: UInt64, total: UInt64)? {
        var st = statvfs()
        guard statvfs(directory, &st) == 0 else { return nil }
        let block = UInt64(st.f_frsize != 0 ? st.f_frsize : st.f_bsize)
        return (UInt64(st.f_bavail) * block / 1024, UInt64(st.f_bfree) * block / 1024)
    }

    /// The first `limit` bytes of the regular file at `path`, or nil if it cannot be read.
    public static func readSmallFile(_ path: String, limit: Int = 4096) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, limit) }
        return n >= 0 ? Array(buffer.prefix(n)) : nil
    }

    /// Removes the file or link `directory/name` if it is there.
    public static func remove(directory: String, name: String) throws(VMCoreError) {
        let path = directory + "/" + name
        guard unlink(path) == 0 || errno == ENOENT else {
            throw VMCoreError(.io, file: path, "cannot remove", String(cString: strerror(errno)))
        }
    }

    /// Makes `directory/name` a symbolic link to `target`, replacing what was there in one step
    /// (a link made under a temporary name, then renamed over it).
    public static func replaceSymlink(directory: String, name: String, target: String) throws(VMCoreError) {
        let temporary = directory + "/." + name + ".tmp-\(getpid())"
        _ = unlink(temporary)
        guard symlink(target, temporary) == 0 else {
            throw VMCoreError(.io, file: directory + "/" + name, "cannot create a symbolic link", String(cString: strerror(errno)))
        }
        guard rename(temporary, directory + "/" + name) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = unlink(temporary)
            throw VMCoreError(.io, file: directory + "/" + name, "cannot put the symbolic link in place", reason)
        }
    }

    /// Writes `bytes` as the whole of `directory/name`, atomically (see `AtomicFile`).
    public static func writeFile(directory: String, name: String, _ bytes: [UInt8], permissions: UInt32 = 0o600) throws(VMCoreError) {
        let file = try AtomicFile(directory: directory, name: name, permissions: permissions)
        try file.write(bytes, 0..<bytes.count, at: 0)
        try file.commit(length: UInt64(bytes.count))
    }

    /// Overwrites `bytes` at `offset` of the existing file or device at `path` and flushes it to
    /// the medium (savecore's clearing of a dump header).
    public static func overwrite(_ path: String, at offset: UInt64, _ bytes: [UInt8]) throws(VMCoreError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VMCoreError(.io, file: path, "cannot open for writing", String(cString: strerror(errno))) }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, bytes.count, off_t(offset)) }
        guard n == bytes.count else {
            throw VMCoreError(.io, file: path, offset: offset, "write failed", n < 0 ? String(cString: strerror(errno)) : "short write")
        }
        guard fsync(fd) == 0 else { throw VMCoreError(.io, file: path, "cannot flush to the device", String(cString: strerror(errno))) }
    }
}
