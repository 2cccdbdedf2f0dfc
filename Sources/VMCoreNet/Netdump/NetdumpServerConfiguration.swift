import NIOCore
import NIOPosix

/// Everything `vmcore netdumpd` can be told, with netdumpd's defaults where it has them and
/// bounds of our own where it has none.
public struct NetdumpServerConfiguration: Sendable {
    /// Where dumps are written (netdumpd `-d`; it defaults to /var/crash).
    public var dumpDirectory: String
    /// Addresses to receive heralds on (netdumpd `-a`, IPv4 only, default INADDR_ANY). Ours
    /// default to both wildcards, IPv4 and IPv6 (`IPV6_V6ONLY`, so the two never overlap).
    public var bindAddresses: [String] = ["0.0.0.0", "::"]
    /// The herald port, `NETDUMP_PORT` (20023); 0 picks a free one (tests).
    public var heraldPort: Int = Netdump.heraldPort
    /// Run after each dump with `reason ip hostname infofile corefile` (netdumpd `-i`).
    public var script: String?
    /// Silence after which a dump is abandoned as incomplete (netdumpd's `CLIENT_TIMEOUT`).
    public var clientTimeout: TimeAmount = .seconds(Netdump.clientTimeoutSeconds)
    /// How often silent clients are looked for (netdumpd's `CLIENT_TPASS`), and drops summed up.
    public var checkInterval: TimeAmount = .seconds(Netdump.timeoutCheckSeconds)
    /// How long a finished session stays to re-ack a retransmitted FINISHED (its ack may be
    /// lost; netdumpd closes at once, leaving such a client to fail after its retries).
    public var lingerAfterFinish: TimeAmount = .seconds(30)
    /// What one client may store.
    public var limits = NetdumpSession.Limits()
    /// Sessions at once; when full, a new herald displaces the oldest finished or data-less one.
    public var maxSessions = 32
    /// Heralds that may open (or restart) sessions, per second, and the burst allowed.
    public var heraldsPerSecond = 10.0
    public var heraldBurst = 20
    /// The per-session buffer that gathers contiguous data for one `pwrite` (netdumpd: 128 KiB).
    public var writeBufferSize = 256 * 1024
    /// `SO_RCVBUF` of each session socket (netdumpd asks for 128 KiB).
    public var receiveBufferSize = 1 << 20
    /// How a client's address becomes the `<host>` of its file names; the result is made safe
    /// with `NetdumpHostName.fileComponent` whatever it is.
    public var hostName: @Sendable (SocketAddress) -> String = { NetdumpHostName.numeric($0) }

    public init(dumpDirectory: String) {
        self.dumpDirectory = dumpDirectory
    }
}

/// Work that may block the thread it runs on (`fsync`, waiting for the script): a thread
/// pool in the server, the calling thread in tests.
public struct NetdumpBlockingWork: Sendable {
    private let body: @Sendable (any EventLoop, @escaping @Sendable () -> Int32) -> EventLoopFuture<Int32>

    public init(_ body: @escaping @Sendable (any EventLoop, @escaping @Sendable () -> Int32) -> EventLoopFuture<Int32>) {
        self.body = body
    }

    /// Runs `work` on `pool`; the future completes on `eventLoop`.
    public static func threadPool(_ pool: NIOThreadPool) -> NetdumpBlockingWork {
        NetdumpBlockingWork { loop, work in pool.runIfActive(eventLoop: loop, work) }
    }

    /// Runs `work` at once on the event loop's thread.
    public static let inline = NetdumpBlockingWork { loop, work in loop.makeSucceededFuture(work()) }

    func run(on eventLoop: any EventLoop, _ work: @escaping @Sendable () -> Int32) -> EventLoopFuture<Int32> {
        body(eventLoop, work)
    }
}
