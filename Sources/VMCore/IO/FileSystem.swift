/// The few file-system calls outside reading and writing dump files: directories, canonical
/// paths, the environment, and writing to an open descriptor (the program's standard output
/// and error, which the library itself never writes to).
public enum FileSystem {
    /// `path`'s directory ("." when it has none) and last component.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// True when something (a file, directory or link, even a dangling one) is at `path`.
    public static func exists(_ path: String) -> Bool {
        (try? SystemCalls.status(path, followLinks: false)) != nil
    }

    /// Creates `path` and any missing parents with `permissions` (`mkdir -p`).
    public static func makeDirectories(_ path: String, permissions: UInt32 = 0o700) throws(VMCoreError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            do {
                try SystemCalls.makeDirectory(prefix, permissions: permissions)
            } catch where error.code != SystemCallError.Code.exists {
                throw VMCoreError(.io, file: prefix, "cannot create the directory", error.description)
            } catch {}
            prefix += "/"
        }
        guard (try? SystemCalls.status(path, followLinks: true))?.kind == .directory else {
            throw VMCoreError(.io, file: path, "is not a directory")
        }
    }

    /// `path` with symbolic links, `.` and `..` resolved (`realpath`), or nil if it does not exist.
    public static func canonicalPath(_ path: String) -> String? {
        SystemCalls.canonicalPath(path)
    }

    /// The environment variable `name`, or nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let text = SystemCalls.environment(name), !text.isEmpty else { return nil }
        return text
    }

    /// Writes all of `bytes` to the open descriptor `descriptor` (1: standard output, 2:
    /// standard error), retrying short writes: for a program's own output.
    public static func write(_ bytes: [UInt8], toDescriptor descriptor: Int32) throws(SystemCallError) {
        try SystemCalls.write(descriptor, bytes)
    }

    /// The names in `directory` (without `.` and `..`), or nil if it cannot be read.
    public static func directoryEntries(_ directory: String) -> [String]? {
        SystemCalls.directoryEntries(directory)
    }

    /// Free space in `directory`'s file system, in KiB: what unprivileged users may use
    /// (`f_bavail`) and all of it (`f_bfree`), as savecore's `check_space()` reads them.
    public static func freeSpace(_ directory: String) -> (available: UInt64, total: UInt64)? {
        guard let blocks = SystemCalls.freeBlocks(directory) else { return nil }
        return (blocks.available * blocks.blockSize / 1024, blocks.free * blocks.blockSize / 1024)
    }

    /// The first `limit` bytes of the regular file at `path`, or nil if it cannot be read.
    public static func readSmallFile(_ path: String, limit: Int = 4096) -> [UInt8]? {
        guard let fd = try? SystemCalls.open(path, for: .read, .noFollow) else { return nil }
        defer { SystemCalls.close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        let (n, failure) = SystemCalls.read(fd, into: &buffer, bufferOffset: 0, count: limit, at: 0)
        return failure == 0 ? Array(buffer.prefix(n)) : nil
    }

    /// Removes the file or link at `path` if it is there.
    public static func remove(_ path: String) throws(VMCoreError) {
        do {
            try SystemCalls.unlink(path)
        } catch where error.code != SystemCallError.Code.noSuchEntry {
            throw VMCoreError(.io, file: path, "cannot remove", error.description)
        } catch {}
    }

    /// Removes the file or link `directory/name` if it is there.
    public static func remove(directory: String, name: String) throws(VMCoreError) {
        try remove(directory + "/" + name)
    }

    /// Makes `directory/name` a symbolic link to `target`, replacing what was there in one step
    /// (a link made under a temporary name, then renamed over it).
    public static func replaceSymlink(directory: String, name: String, target: String) throws(VMCoreError) {
        let temporary = directory + "/." + name + ".tmp-\(SystemCalls.processID)"
        try? SystemCalls.unlink(temporary)
        do {
            try SystemCalls.symlink(temporary, to: target)
        } catch {
            throw VMCoreError(.io, file: directory + "/" + name, "cannot create a symbolic link", error.description)
        }
        do {
            try SystemCalls.rename(temporary, to: directory + "/" + name)
        } catch {
            try? SystemCalls.unlink(temporary)
            throw VMCoreError(.io, file: directory + "/" + name, "cannot put the symbolic link in place", error.description)
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
        let fd: Int32
        do {
            fd = try SystemCalls.open(path, for: .write)
        } catch {
            throw VMCoreError(.io, file: path, "cannot open for writing", error.description)
        }
        defer { SystemCalls.close(fd) }
        do {
            try SystemCalls.write(fd, bytes, 0..<bytes.count, at: offset)
        } catch {
            throw VMCoreError(.io, file: path, offset: offset, "write failed", error.description)
        }
        do {
            try SystemCalls.sync(fd)
        } catch {
            throw VMCoreError(.io, file: path, "cannot flush to the device", error.description)
        }
    }
}
