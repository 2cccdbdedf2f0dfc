/// Starts programs and waits for them (`posix_spawn`, `waitpid`): no shell, no inherited
/// descriptors (every descriptor the IO layer opens is close-on-exec).
public enum ProcessLauncher {
    /// This process's ID.
    public static var currentProcessID: Int32 { SystemCalls.processID }

    /// Starts `path` with `arguments` (argv[1…]; argv[0] is `path`) and `environment`
    /// (`NAME=value`; empty by default) in `directory` (nil: this process's working directory).
    /// Returns its process ID; wait for it with `waitForExit`.
    public static func spawn(_ path: String, arguments: [String], environment: [String] = [],
                             directory: String? = nil) throws(SystemCallError) -> Int32 {
        try SystemCalls.spawn(path, arguments: arguments, environment: environment, directory: directory)
    }

    /// Blocks until `pid` exits: its exit status, 128 + the signal that ended it (as a shell
    /// reports it), or -1 if it is not a child of this process.
    public static func waitForExit(_ pid: Int32) -> Int32 {
        SystemCalls.waitForExit(pid)
    }

    /// Whether `path` exists and may be executed by this process (`access(X_OK)`).
    public static func isExecutable(_ path: String) -> Bool {
        SystemCalls.isExecutable(path)
    }
}
