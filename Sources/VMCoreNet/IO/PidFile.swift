import VMCore

/// A pidfile held with an exclusive lock for the life of the process, like `pidfile_open(3)`:
/// a second server with the same pidfile finds it locked and refuses to start.
public final class PidFile {
    public let path: String
    private var file: OutputFile?

    public init(path: String) throws(VMCoreNetError) {
        let file: OutputFile
        do {
            file = try OutputFile(openingOrCreating: path, permissions: 0o600)
        } catch {
            throw VMCoreNetError(.io, path, "cannot open the pidfile", error.description)
        }
        do {
            try file.lockExclusively()
        } catch {
            let held = error.code == SystemCallError.Code.wouldBlock
            throw VMCoreNetError(.io, path, held ? "another netdumpd holds the pidfile" : "cannot lock the pidfile", held ? nil : error.description)
        }
        do {
            try file.truncate(to: 0)
            try file.write(Array("\(ProcessLauncher.currentProcessID)\n".utf8), at: 0)
        } catch {
            throw VMCoreNetError(.io, path, "cannot write the pidfile", error.description)
        }
        self.path = path
        self.file = file
    }

    /// Removes the file and releases the lock.
    public func remove() {
        guard let file else { return }
        try? FileSystem.remove(path)
        file.close()
        self.file = nil
    }

    deinit { remove() }
}
