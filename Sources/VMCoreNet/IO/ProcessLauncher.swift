#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if os(Linux)
// glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not define; the
// symbol itself has been there since glibc 2.29.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func posix_spawn_file_actions_addchdir_np(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
                                                  _ path: UnsafePointer<CChar>) -> Int32
#endif

/// Starts the server's handler script the way netdumpd's `netdumpd.handler` service does
/// (`cap_handler.c`): working directory the dump directory, arguments as given, an empty
/// environment; and waits for it on a thread that may block.
enum ProcessLauncher {
    /// Starts `path` with `arguments` (argv[1…]) in `directory`; returns its process ID.
    static func spawn(_ path: String, arguments: [String], directory: String) throws(VMCoreNetError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        _ = posix_spawn_file_actions_addchdir_np(&actions, directory)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else {
            throw VMCoreNetError(.io, path, "cannot run the script", String(cString: strerror(rc)))
        }
        return pid
    }

    /// Blocks until `pid` exits; its exit status, or 128 + the signal that ended it.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Whether `path` exists and may be executed (netdumpd's `access(F_OK | X_OK)`).
    static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }
}

/// A pidfile held with an exclusive lock for the life of the process, like `pidfile_open(3)`:
/// a second server with the same pidfile finds it locked and refuses to start.
public final class PidFile {
    public let path: String
    private var fd: Int32

    public init(path: String) throws(VMCoreNetError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw VMCoreNetError(.io, path, "cannot open the pidfile", String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let held = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            throw VMCoreNetError(.io, path, held ? "another netdumpd holds the pidfile" : "cannot lock the pidfile", held ? nil : reason)
        }
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0, text.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, $0.count, 0) }) == text.count else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw VMCoreNetError(.io, path, "cannot write the pidfile", reason)
        }
        self.path = path
        self.fd = fd
    }

    /// Removes the file and releases the lock.
    public func remove() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    deinit { remove() }
}
