/// A directory opened once, in which every operation is relative to its descriptor (`openat`,
/// `renameat`, `symlinkat`, `unlinkat`, `fstatat`): what is done by a name stays in this
/// directory, whatever happens to the path it was opened by.
///
/// Names are single path components (`isPlainName`). Nothing here follows a symbolic link:
/// files are created with `O_EXCL | O_NOFOLLOW`, read and entered with `O_NOFOLLOW`.
///
/// Errors are `SystemCallError`s; the caller, who knows what the directory is for, phrases them.
public final class Directory {
    /// How the directory was named when it was opened; a subdirectory's adds its name.
    public let path: String
    let descriptor: Int32

    /// Opens `path`, which must be a directory (symbolic links on the way are followed).
    public init(path: String) throws(SystemCallError) {
        descriptor = try SystemCalls.open(path, for: .read, .directory)
        self.path = path
    }

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { SystemCalls.close(descriptor) }

    /// A single, ordinary path component: not empty, not `.` or `..`, no slash, no NUL.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0x2f) && !name.utf8.contains(0)
    }

    /// `directory/name`, with one slash between them.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory `name` inside this one. A symbolic link is refused (`ELOOP`, or `ENOTDIR`
    /// on some systems), so the result is always inside this directory.
    public func subdirectory(_ name: String) throws(SystemCallError) -> Directory {
        precondition(Self.isPlainName(name))
        let fd = try SystemCalls.open(name, in: descriptor, for: .read, [.directory, .noFollow])
        return Directory(descriptor: fd, path: Self.join(path, name))
    }

    /// Creates the file `name` with `permissions` for writing (and reading back, with
    /// `readable`). Fails with `SystemCallError.Code.exists` if the name is taken, even by a
    /// symbolic link.
    public func createFile(_ name: String, permissions: UInt32, readable: Bool = false) throws(SystemCallError) -> OutputFile {
        precondition(Self.isPlainName(name))
        let fd = try SystemCalls.open(name, in: descriptor, for: readable ? .readWrite : .write, [.create, .exclusive, .noFollow],
                                      permissions: permissions)
        return OutputFile(descriptor: fd, name: name)
    }

    /// The first `limit` bytes of the regular file `name`, or nil if it is missing, is a
    /// symbolic link or something other than a regular file, or cannot be read.
    public func readFile(_ name: String, limit: Int) -> [UInt8]? {
        precondition(Self.isPlainName(name) && limit >= 0)
        guard let fd = try? SystemCalls.open(name, in: descriptor, for: .read, .noFollow) else { return nil }
        defer { SystemCalls.close(fd) }
        guard (try? SystemCalls.status(fd))?.kind == .regular else { return nil }
        var bytes = [UInt8](repeating: 0, count: limit)
        let (n, failure) = SystemCalls.read(fd, into: &bytes, bufferOffset: 0, count: limit, at: 0)
        return failure == 0 ? Array(bytes.prefix(n)) : nil
    }

    /// Whether something (a file, directory or link, even a dangling one) is called `name`.
    public func exists(_ name: String) -> Bool {
        precondition(Self.isPlainName(name))
        return (try? SystemCalls.status(name, in: descriptor, followLinks: false)) != nil
    }

    /// Removes the file or link `name`.
    public func remove(_ name: String) throws(SystemCallError) {
        precondition(Self.isPlainName(name))
        try SystemCalls.unlink(name, in: descriptor)
    }

    /// Renames `from` to `to` within this directory, replacing what `to` named (a link is
    /// replaced, not followed).
    public func rename(_ from: String, to: String) throws(SystemCallError) {
        precondition(Self.isPlainName(from) && Self.isPlainName(to))
        try SystemCalls.rename(from, to: to, in: descriptor)
    }

    /// Makes `name` a symbolic link to `target`; fails with `SystemCallError.Code.exists` if
    /// the name is taken.
    public func makeSymbolicLink(_ name: String, target: String) throws(SystemCallError) {
        precondition(Self.isPlainName(name))
        try SystemCalls.symlink(name, to: target, in: descriptor)
    }

    /// Flushes the directory's entries to disk (`fsync`), so a rename survives a crash.
    public func sync() throws(SystemCallError) {
        try SystemCalls.sync(descriptor)
    }
}
