import ArgumentParser
import Dispatch
import NIOCore
import NIOPosix
import VMCore
import VMCoreNet

#if canImport(Glibc)
import Glibc
#endif

/// `vmcore netdumpd`: netdumpd(8)'s options where they mean the same; `-p` is the port here
/// (netdumpd's `-p` names a default subdirectory, which the herald's path covers).
struct NetdumpdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netdumpd",
        abstract: "Receive FreeBSD kernel dumps sent over the network (a netdumpd(8) server).",
        discussion: """
        Listens for netdump heralds on UDP port 20023 (IPv4 and IPv6), gives each client its own \
        socket, acks every packet and writes vmcore.<host>.N (vmcore_encrypted.<host>.N and \
        key.<host>.N for encrypted dumps, .gz/.zst for compressed ones), info.<host>.N, \
        bounds.<host> and the vmcore.<host>.last/info.<host>.last links in the dump directory, \
        as netdumpd does. <host> is the client's numeric address (IPv6 colons as '-'). A dump \
        that ends without everything its header announces, or whose client goes silent, is \
        kept and labelled "Dump incomplete" in its info file, and gets no .last link.

        Runs in the foreground and logs one line per event to standard error; leave \
        daemonizing to the service manager. SIGINT or SIGTERM ends the server: dumps in \
        progress are labelled incomplete and the script runs for them.
        """)

    @Option(name: [.customShort("d"), .customLong("dump-dir")], help: ArgumentHelp("Where to write dumps.", valueName: "dir"))
    var dumpDirectory: String

    @Option(name: [.customShort("a"), .customLong("address")],
            help: ArgumentHelp("Address to listen on; repeat for several (default: 0.0.0.0 and ::).", valueName: "addr"))
    var addresses: [String] = []

    @Option(name: [.customShort("p"), .customLong("port")], help: ArgumentHelp("Herald port.", valueName: "port"))
    var port: Int = Netdump.heraldPort

    @Option(name: [.customShort("i"), .customLong("script")],
            help: ArgumentHelp("Run after each dump with: reason ip hostname infofile corefile (reason: success, timeout or error).", valueName: "script"))
    var script: String?

    @Option(name: [.customShort("P"), .customLong("pidfile")], help: ArgumentHelp("Write the process ID here, locked.", valueName: "pidfile"))
    var pidFile: String?

    @Flag(name: [.customShort("D"), .customLong("debug")], help: "Log debug events too (the server always stays in the foreground).")
    var debug = false

    @Option(help: ArgumentHelp("Seconds of silence before a dump is abandoned as incomplete.", valueName: "seconds"))
    var timeout: Int = Int(Netdump.clientTimeoutSeconds)

    @Option(name: .customLong("max-size"), help: ArgumentHelp("Largest dump accepted (bytes, or with K, M, G, T).", valueName: "size"))
    var maxSize: String = "1T"

    @Option(name: .customLong("max-sessions"), help: ArgumentHelp("Clients at once.", valueName: "n"))
    var maxSessions: Int = 32

    @Option(name: .customLong("herald-rate"), help: ArgumentHelp("Heralds per second that may open sessions (bursts of twice as many).", valueName: "n"))
    var heraldRate: Double = 10

    @Option(name: .customLong("log-format"), help: ArgumentHelp("text (key=value) or json.", valueName: "format"))
    var logFormat: String = "text"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("-p takes a port from 0 to 65535.") }
        guard timeout > 0 else { throw ValidationError("--timeout takes a positive number of seconds.") }
        guard maxSessions > 0 else { throw ValidationError("--max-sessions takes a positive count.") }
        guard heraldRate > 0 else { throw ValidationError("--herald-rate takes a positive rate.") }
        guard parseSize(maxSize) != nil else { throw ValidationError("--max-size takes a size such as 64G, not '\(maxSize)'.") }
        guard NetdumpLogger.Format(rawValue: logFormat) != nil else { throw ValidationError("--log-format is text or json.") }
    }

    func run() throws {
        var configuration = NetdumpServerConfiguration(dumpDirectory: dumpDirectory)
        if !addresses.isEmpty { configuration.bindAddresses = addresses }
        configuration.heraldPort = port
        if let script {
            guard access(script, X_OK) == 0 else {
                throw VMCoreNetError(.usage, script, "cannot run the script", "it is missing or not executable")
            }
            configuration.script = script.hasPrefix("/") ? script : (FileSystem.canonicalPath(script) ?? script)
        }
        configuration.clientTimeout = .seconds(Int64(timeout))
        configuration.limits.maxDumpSize = parseSize(maxSize)!
        configuration.maxSessions = maxSessions
        configuration.heraldsPerSecond = heraldRate
        configuration.heraldBurst = max(1, Int(heraldRate * 2))
        let logger = NetdumpLogger(minimumLevel: debug ? .debug : .info, format: NetdumpLogger.Format(rawValue: logFormat)!) {
            printError($0)
        }

        let pid = try pidFile.map { path throws(VMCoreNetError) in try PidFile(path: path) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let server: NetdumpServer
        do {
            server = try NetdumpServer.start(configuration: configuration, group: group, threadPool: pool, logger: logger).wait()
        } catch {
            pid?.remove()
            throw error
        }

        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        stop.wait()
        logger.log(.info, "server.stopping")
        try? server.shutdown().wait()
        pid?.remove()
        pool.shutdownGracefully { _ in }
        try? group.syncShutdownGracefully()
        _ = sources
    }
}

/// `123`, `64K`, `512M`, `8G`, `1T` (powers of 1024) as bytes.
func parseSize(_ text: String) -> UInt64? {
    let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = Substring(text)
    var scale: UInt64 = 1
    if let last = digits.last?.uppercased().first, let unit = units[last] {
        scale = unit
        digits = digits.dropLast()
    }
    guard let n = UInt64(digits), n > 0 else { return nil }
    let (value, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : value
}
