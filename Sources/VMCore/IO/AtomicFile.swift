/// A file that appears under its name only when it is complete: written under a temporary
/// name in the same directory, then `fsync`ed and renamed into place by `commit`. A file
/// discarded (or never committed) leaves nothing behind.
///
/// The directory is opened once and every step works relative to it (`Directory`: `openat`,
/// `renameat`), and `name` must be a plain file name, so nothing is written anywhere else. The
/// temporary file is created with `O_EXCL | O_NOFOLLOW`: an existing file or link there is
/// never followed. Renaming over an existing name replaces that entry (a link is replaced, not
/// followed).
public final class AtomicFile {
    /// `directory/name`: how errors refer to the file.
    public let path: String
    private let directory: Directory
    private let file: OutputFile
    private let name: String
    private let temporaryName: String
    private var finished = false

    /// Creates the temporary file for `directory/name` with `permissions`.
    public convenience init(directory: String, name: String, permissions: UInt32 = 0o600) throws(VMCoreError) {
        precondition(Directory.isPlainName(name), "AtomicFile takes a plain file name")
        let opened: Directory
        do {
            opened = try Directory(path: directory)
        } catch {
            throw VMCoreError(.io, file: directory, "cannot open the directory", error.description)
        }
        try self.init(in: opened, name: name, permissions: permissions)
    }

    /// Creates the temporary file for `name` in `directory` with `permissions`.
    public init(in directory: Directory, name: String, permissions: UInt32 = 0o600) throws(VMCoreError) {
        precondition(Directory.isPlainName(name), "AtomicFile takes a plain file name")
        path = Directory.join(directory.path, name)
        self.name = name
        self.directory = directory
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = Self.temporaryPrefix(name) + "\(SystemCalls.processID)-" + random
        do {
            file = try directory.createFile(temporary, permissions: permissions, readable: true)
        } catch {
            throw VMCoreError(.io, file: path, "cannot create a temporary file beside it", error.description)
        }
        temporaryName = temporary
    }

    deinit {
        if !finished { discard() }
    }

    /// Writes `bytes[range]` at `offset` of the file.
    public func write(_ bytes: [UInt8], _ range: Range<Int>, at offset: UInt64) throws(VMCoreError) {
        precondition(!finished && range.lowerBound >= 0 && range.upperBound <= bytes.count)
        do {
            try file.write(bytes, range, at: offset)
        } catch {
            throw VMCoreError(.io, file: path, offset: error.offset ?? offset, "write failed", error.description)
        }
    }

    /// Sets the file's length (a hole where nothing was written).
    public func setLength(_ length: UInt64) throws(VMCoreError) {
        precondition(!finished)
        do {
            try file.truncate(to: length)
        } catch {
            throw VMCoreError(.io, file: path, "cannot set the file's length", error.description)
        }
    }

    /// Reads back `count` bytes at `offset` of what was written, into `buffer[0..<count]`.
    public func read(into buffer: inout [UInt8], at offset: UInt64, count: Int) throws(VMCoreError) {
        precondition(!finished && count <= buffer.count)
        let shorter = "the file is shorter than what was written"
        let done: Int
        do {
            done = try file.read(into: &buffer, at: offset, count: count)
        } catch {
            throw VMCoreError(.io, file: path, offset: error.offset ?? offset, "reading back what was written failed",
                              error.code == SystemCallError.Code.ioError ? shorter : error.description)
        }
        guard done == count else {
            throw VMCoreError(.io, file: path, offset: offset + UInt64(done), "reading back what was written failed", shorter)
        }
    }

    /// Asks the kernel to start writing `count` bytes at `offset` to disk now, without waiting,
    /// so that the flush at `commit` has little left to do (Linux `sync_file_range`).
    public func startWriteback(offset: UInt64, count: UInt64) {
        file.startWriteback(offset: offset, count: count)
    }

    /// Sets the length to `length` (never-written ranges stay holes), the modification time
    /// if given, flushes the data to disk and renames the file into place. Without `durable`,
    /// nothing waits for the disk: the rename is still all or nothing for readers, but after a
    /// crash the name may hold the old contents (or, on some file systems, an empty file).
    public func commit(length: UInt64, modificationTime seconds: Int64? = nil, durable: Bool = true) throws(VMCoreError) {
        precondition(!finished)
        func fail(_ what: String, _ error: SystemCallError) -> VMCoreError {
            discard()
            return VMCoreError(.io, file: path, what, error.description)
        }
        do { try file.truncate(to: length) } catch { throw fail("cannot set the file's length", error) }
        if let seconds {
            do { try file.setModificationTime(seconds: seconds) } catch { throw fail("cannot set the modification time", error) }
        }
        if durable {
            do { try file.sync() } catch { throw fail("cannot flush the file to disk", error) }
        }
        do { try directory.rename(temporaryName, to: name) } catch { throw fail("cannot rename the finished file into place", error) }
        finished = true
        file.close()
        // The rename itself survives a crash once the directory is flushed too.
        if durable { try? directory.sync() }
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
            if SystemCalls.processIsGone(pid) { try? SystemCalls.unlink(directory + "/" + entry) }
        }
    }

    /// Removes the temporary file; the final name is untouched.
    public func discard() {
        guard !finished else { return }
        finished = true
        file.close()
        try? directory.remove(temporaryName)
    }
}
