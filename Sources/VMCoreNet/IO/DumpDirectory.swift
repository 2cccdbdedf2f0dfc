import VMCore

/// The server's dump directory, opened once; every file operation is relative to it, the way
/// netdumpd works relative to `g_dumpdir_fd`. The operations themselves are VMCore's
/// `Directory`; this type adds netdumpd's rules (a herald's path walked one component at a
/// time) and its words for what went wrong.
///
/// Names passed in are single path components; nothing here follows a symbolic link it did
/// not make, so the server never writes outside the directory it was given.
public final class DumpDirectory {
    /// How messages name the directory.
    public let path: String
    let directory: Directory

    /// Opens `path`, which must be a directory.
    public init(path: String) throws(VMCoreNetError) {
        do {
            directory = try Directory(path: path)
        } catch {
            throw VMCoreNetError(.io, path, "cannot open the dump directory", error.description)
        }
        self.path = path
    }

    private init(directory: Directory, path: String) {
        self.directory = directory
        self.path = path
    }

    /// The directory `relative` names below this one, opened one component at a time without
    /// following links: absolute paths, `..` and symbolic links are refused, so the result is
    /// always inside this directory. Nothing is created.
    public func subdirectory(_ relative: String) throws(VMCoreNetError) -> DumpDirectory {
        guard !relative.hasPrefix("/") else {
            throw VMCoreNetError(.unsafePath, relative, "an absolute path is not allowed")
        }
        let components = relative.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.contains("..") else {
            throw VMCoreNetError(.unsafePath, relative, "'..' is not allowed")
        }
        var current = directory
        for component in components {
            do {
                current = try current.subdirectory(String(component))
            } catch {
                let reason = error.code == SystemCallError.Code.symbolicLink || error.code == SystemCallError.Code.notDirectory
                    ? "is not a directory (symbolic links are not followed)" : error.description
                throw VMCoreNetError(.unsafePath, relative, "cannot open '\(component)'", reason)
            }
        }
        let display = components.isEmpty ? path : path + "/" + components.joined(separator: "/")
        return DumpDirectory(directory: current, path: display)
    }

    /// Creates `name` with `permissions`; with `exclusive`, fails with `EEXIST` if it exists
    /// (as netdumpd creates `info.<host>.N`), otherwise replaces whatever was there.
    func create(_ name: String, permissions: UInt32, exclusive: Bool) throws(VMCoreNetError) -> OutputFile {
        precondition(Self.isPlainName(name))
        if !exclusive { try? directory.remove(name) }
        do {
            return try directory.createFile(name, permissions: permissions)
        } catch {
            throw Self.failure(path + "/" + name, "cannot create", error)
        }
    }

    func remove(_ name: String) {
        try? directory.remove(name)
    }

    /// The first `limit` bytes of the regular file `name`, or nil.
    func read(_ name: String, limit: Int) -> [UInt8]? {
        directory.readFile(name, limit: limit)
    }

    /// Replaces `name` with `contents` in one step: written under a temporary name, then
    /// renamed (`AtomicFile`). Like netdumpd, it does not wait for the disk.
    func replace(_ name: String, with contents: [UInt8], permissions: UInt32) throws(VMCoreNetError) {
        do {
            let file = try AtomicFile(in: directory, name: name, permissions: permissions)
            try file.write(contents, 0..<contents.count, at: 0)
            try file.commit(length: UInt64(contents.count), durable: false)
        } catch {
            throw VMCoreNetError(.io, error.file, error.message, error.detail)
        }
    }

    func rename(_ from: String, to: String) throws(VMCoreNetError) {
        do {
            try directory.rename(from, to: to)
        } catch {
            throw Self.failure(path + "/" + from, "cannot rename to \(to)", error)
        }
    }

    /// Points the symbolic link `name` at `target` (a name in this directory), replacing any
    /// old link in one step, so `name` never goes missing.
    func replaceSymlink(_ name: String, target: String) throws(VMCoreNetError) {
        precondition(Self.isPlainName(name) && Self.isPlainName(target))
        let temporary = ".\(name).tmp-\(ProcessLauncher.currentProcessID)"
        try? directory.remove(temporary)
        do {
            try directory.makeSymbolicLink(temporary, target: target)
        } catch {
            throw Self.failure(path + "/" + name, "cannot create the symbolic link", error)
        }
        try rename(temporary, to: name)
    }

    /// A single, ordinary path component: no slash, not empty, not `.` or `..`, no NUL.
    static func isPlainName(_ name: String) -> Bool {
        Directory.isPlainName(name)
    }

    static func failure(_ subject: String, _ message: String, _ error: SystemCallError) -> VMCoreNetError {
        VMCoreNetError(.io, subject, message, error.description)
    }
}

extension OutputFile {
    /// Writes all of `bytes` at `offset`; a failure in netdumpd's words.
    func netdumpWrite<Bytes: Collection<UInt8>>(_ bytes: Bytes, at offset: UInt64) throws(VMCoreNetError) {
        do {
            try write(contentsOf: bytes, at: offset)
        } catch {
            throw writeFailure(error)
        }
    }

    /// netdumpd's words for a failed write: `write error @ offset 0001a000` (`%08jx`), the
    /// offset where the write stopped.
    func writeFailure(_ error: SystemCallError) -> VMCoreNetError {
        VMCoreNetError(.io, name, "write error @ offset \(hex8(error.offset ?? 0))", error.description)
    }

    func netdumpTruncate(to length: UInt64) throws(VMCoreNetError) {
        do {
            try truncate(to: length)
        } catch {
            throw DumpDirectory.failure(name, "cannot truncate", error)
        }
    }
}

/// `%08jx`: how netdumpd prints the offset of a failed write.
func hex8(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
