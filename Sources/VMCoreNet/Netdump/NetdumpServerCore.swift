import NIOCore
import VMCore

/// Makes the socket of a new session: bound to `local` (the address the herald was sent to,
/// port 0) and connected to `client`, with `handler` in its pipeline. The server uses
/// `DatagramBootstrap`; tests hand back an `EmbeddedChannel`.
public protocol NetdumpSessionChannelFactory {
    func makeSessionChannel(local: SocketAddress, client: SocketAddress, handler: NetdumpSessionHandler) -> EventLoopFuture<any Channel>
}

/// The server's shared state: the sessions by client, the herald rules, the limits, the drop
/// counters, the timers. Everything runs on one event loop (as netdumpd runs one kqueue loop),
/// so nothing here needs a lock.
///
/// Heralds follow netdumpd's `server_event()` (freebsd.md §7.3): a herald from a client with
/// a session that has received no data yet is a retransmission and is acked again from the
/// session's socket; after data it starts a new dump and the old one is closed as incomplete.
/// A client here is an address *and* port (netdumpd: the address), so several senders on one
/// host each get their own dump; a FreeBSD kernel always sends from 20024, which makes the two
/// rules the same for it.
public final class NetdumpServerCore {
    public let configuration: NetdumpServerConfiguration
    public let eventLoop: any EventLoop
    public let logger: NetdumpLogger
    let root: DumpDirectory
    let blockingWork: NetdumpBlockingWork
    private let factory: any NetdumpSessionChannelFactory

    private var sessions: [SocketAddress: NetdumpSessionHandler] = [:]
    public private(set) var drops = NetdumpDropCounters()
    private var heraldTokens: TokenBucket
    private var checkTask: RepeatedTask?
    private var outstandingWork = 0
    private var idlePromises: [EventLoopPromise<Void>] = []
    /// Dumps that ended complete, and ended any other way.
    public private(set) var completeDumps = 0
    public private(set) var incompleteDumps = 0

    public init(configuration: NetdumpServerConfiguration, eventLoop: any EventLoop, factory: any NetdumpSessionChannelFactory,
                blockingWork: NetdumpBlockingWork, logger: NetdumpLogger) throws(VMCoreNetError) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.factory = factory
        self.blockingWork = blockingWork
        self.logger = logger
        root = try DumpDirectory(path: configuration.dumpDirectory)
        heraldTokens = TokenBucket(perSecond: configuration.heraldsPerSecond, burst: Double(configuration.heraldBurst), now: eventLoop.now)
    }

    /// Starts the periodic check for silent clients (and the drop summary).
    public func start() {
        let interval = configuration.checkInterval
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        checkTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            bound.value.checkSessions()
        }
    }

    public var sessionCount: Int { sessions.count }

    /// The session of `client`, if it has one.
    public func session(for client: SocketAddress) -> NetdumpSessionHandler? { sessions[client] }

    // MARK: Heralds

    /// A datagram that arrived on a herald socket bound to `heraldLocal`.
    public func receiveHerald(_ envelope: AddressedEnvelope<ByteBuffer>, heraldLocal: SocketAddress?) {
        let client = envelope.remoteAddress
        let peer = NetdumpHostName.display(client)
        let message: NetdumpMessage
        do {
            message = try NetdumpMessage(datagram: envelope.data, from: peer)
        } catch {
            return recordDrop(error)
        }
        guard message.type == .herald else {
            return recordDrop(VMCoreNetError(.unexpected, "netdump packet from \(peer)", "\(message.type.name) on the herald port"))
        }
        let now = eventLoop.now
        let existing = sessions[client]
        if let existing {
            if !existing.isReady {
                logger.log(.debug, "herald.repeated", ("client", peer), ("state", "opening"))
                return
            }
            if !existing.session.anyDataReceived && existing.session.outcome == nil {
                // A retransmitted herald: its ack was lost. Ack again, from the session's port.
                logger.log(.debug, "herald.repeated", ("client", peer), ("seqno", "\(message.header.seqno)"))
                existing.sendAck(message.header.seqno)
                existing.flush()
                return
            }
        }
        guard heraldTokens.take(at: now) else {
            return recordDrop(VMCoreNetError(.overloaded, "herald from \(peer)", "herald rate limit exceeded",
                                             "more than \(configuration.heraldsPerSecond) per second"))
        }
        existing?.end(.superseded)
        if sessions.count >= configuration.maxSessions && !evictOne(now: now) {
            return recordDrop(VMCoreNetError(.overloaded, "herald from \(peer)", "too many sessions",
                                             "\(sessions.count) open, every one receiving a dump"))
        }
        let (directory, pathLabel) = directory(forHeraldPath: message.payload, peer: peer)
        let ip = NetdumpHostName.numeric(client)
        let host = NetdumpHostName.fileComponent(configuration.hostName(client))
        let handler = NetdumpSessionHandler(core: self, client: client, ip: ip, host: host,
                                            directory: directory, pathLabel: pathLabel, now: now)
        sessions[client] = handler
        let local = sessionAddress(destination: envelope.metadata?.packetInfo?.destinationAddress, heraldLocal: heraldLocal, client: client)
        let seqno = message.header.seqno
        logger.log(.info, "session.opened", ("client", peer), ("host", host), ("path", pathLabel))
        factory.makeSessionChannel(local: local, client: client, handler: handler).assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                handler.becomeReady()
                handler.sendAck(seqno)
                handler.flush()
            case .failure(let error):
                self.logger.log(.error, "session.socket_failed", ("client", peer), ("local", NetdumpHostName.display(local)), ("error", "\(error)"))
                self.sessionClosed(handler)
            }
        }
    }

    /// The herald's path as a directory inside the dump directory, or the dump directory
    /// itself. netdumpd (`cap_herald.c`) honours a path of 1 to `MAXPATHLEN` bytes that ends
    /// in NUL, and Capsicum keeps it inside the dump directory; we check the same by opening
    /// it one component at a time (`DumpDirectory.subdirectory`).
    private func directory(forHeraldPath payload: ByteBuffer, peer: String) -> (DumpDirectory, String) {
        let bytes = payload.readableBytesView
        guard !bytes.isEmpty else { return (root, ".") }
        guard bytes.count <= Netdump.maxPathLength, bytes.last == 0 else {
            logger.log(.warning, "herald.path_ignored", ("client", peer),
                       ("reason", "not a NUL-terminated path of at most \(Netdump.maxPathLength) bytes"))
            return (root, ".")
        }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        guard !text.isEmpty, text != "." else { return (root, ".") }
        do {
            let directory = try root.subdirectory(text)
            let label = text.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            return (directory, label.isEmpty ? "." : label)
        } catch {
            logger.log(.warning, "herald.path_refused", ("client", peer), ("path", text), ("error", "\(error)"))
            return (root, ".")
        }
    }

    /// Where the session socket binds: the herald's destination address (netdumpd binds to
    /// it, from `IP_RECVDSTADDR`, so the client hears back from the address it called),
    /// else the herald socket's own address, else the wildcard; always port 0.
    private func sessionAddress(destination: SocketAddress?, heraldLocal: SocketAddress?, client: SocketAddress) -> SocketAddress {
        for candidate in [destination, heraldLocal] {
            if let candidate, let ip = candidate.ipAddress, !Self.isWildcard(ip), candidate.protocol == client.protocol,
               let address = try? SocketAddress(ipAddress: ip, port: 0) {
                return address
            }
        }
        let wildcard = client.protocol == .inet6 ? "::" : "0.0.0.0"
        return try! SocketAddress(ipAddress: wildcard, port: 0)
    }

    private static func isWildcard(_ ip: String) -> Bool { ip == "0.0.0.0" || ip == "::" }

    /// Makes room for one more session: closes the oldest finished session, else the oldest
    /// one that has received no data. A dump in progress is never displaced.
    private func evictOne(now: NIODeadline) -> Bool {
        let ready = sessions.values.filter { $0.isReady }
        let victim = ready.filter { $0.lingerUntil != nil }.min { $0.session.lastPacket < $1.session.lastPacket }
            ?? ready.filter { !$0.session.anyDataReceived }.min { $0.session.lastPacket < $1.session.lastPacket }
        guard let victim else { return false }
        logger.log(.info, "session.evicted", ("client", NetdumpHostName.display(victim.client)))
        victim.end(.evicted)
        return true
    }

    // MARK: Session bookkeeping

    /// Counts a dropped packet; the first of its kind per interval is logged in full.
    func recordDrop(_ error: VMCoreNetError) {
        if drops.count(error.kind) {
            logger.log(.warning, "packet.dropped", ("kind", error.kind.rawValue), ("reason", error.description))
        }
    }

    func sessionClosed(_ handler: NetdumpSessionHandler) {
        if sessions[handler.client] === handler { sessions.removeValue(forKey: handler.client) }
    }

    func dumpEnded(complete: Bool) {
        if complete { completeDumps += 1 } else { incompleteDumps += 1 }
    }

    /// Runs `work` where it may block; `shutdown()` waits for whatever is still running.
    func runBlocking(_ work: @escaping @Sendable () -> Int32) -> EventLoopFuture<Int32> {
        outstandingWork += 1
        return blockingWork.run(on: eventLoop, work).assumeIsolated().always { _ in
            self.outstandingWork -= 1
            if self.outstandingWork == 0 {
                let waiting = self.idlePromises
                self.idlePromises = []
                for p in waiting { p.succeed() }
            }
        }.nonisolated()
    }

    /// Starts the script (netdumpd's `exec_handler()`): argv `reason ip hostname infofile
    /// corefile`, run in the dump directory; its exit status is logged when it ends.
    func runScript(reason: String, ip: String, host: String, infoFile: String, coreFile: String) {
        guard let script = configuration.script else { return }
        let pid: Int32
        do {
            pid = try ProcessLauncher.spawn(script, arguments: [reason, ip, host, infoFile, coreFile], environment: [],
                                            directory: configuration.dumpDirectory)
        } catch {
            let failure = VMCoreNetError(.io, script, "cannot run the script", error.description)
            logger.log(.error, "script.failed", ("script", script), ("error", "\(failure)"))
            return
        }
        logger.log(.info, "script.started", ("script", script), ("pid", "\(pid)"), ("reason", reason), ("core", coreFile))
        let logger = self.logger
        // Not counted as outstanding work: a script that never ends must not hold up shutdown.
        blockingWork.run(on: eventLoop) { ProcessLauncher.waitForExit(pid) }.whenSuccess { status in
            logger.log(status == 0 ? .info : .warning, "script.exited", ("pid", "\(pid)"), ("status", "\(status)"))
        }
    }

    // MARK: Timers and shutdown

    /// Ends silent sessions and lingering ones whose time is up; logs the drop summary.
    public func checkSessions() {
        let now = eventLoop.now
        for handler in Array(sessions.values) {
            if let until = handler.lingerUntil {
                if now >= until { handler.end(.lingerOver) }
            } else if handler.isReady && handler.session.isSilent(for: configuration.clientTimeout, at: now) {
                handler.end(.timedOut)
            }
        }
        for entry in drops.report() {
            logger.log(.warning, "packets.dropped", ("kind", entry.kind.rawValue), ("count", "\(entry.suppressed)"),
                       ("total", "\(entry.total)"))
        }
    }

    /// Ends every session (a dump in progress as incomplete: netdumpd calls it a timeout, so
    /// the script runs) and completes when their files are flushed.
    public func shutdown() -> EventLoopFuture<Void> {
        checkTask?.cancel()
        checkTask = nil
        for handler in Array(sessions.values) { handler.end(.shutdown) }
        if outstandingWork == 0 { return eventLoop.makeSucceededFuture(()) }
        let promise = eventLoop.makePromise(of: Void.self)
        idlePromises.append(promise)
        return promise.futureResult
    }
}

/// Tokens refilled at a steady rate up to a burst: how many heralds may open sessions.
struct TokenBucket {
    let perSecond: Double
    let burst: Double
    private var tokens: Double
    private var last: NIODeadline

    init(perSecond: Double, burst: Double, now: NIODeadline) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
        tokens = self.burst
        last = now
    }

    mutating func take(at now: NIODeadline) -> Bool {
        if now > last {
            tokens = min(burst, tokens + Double((now - last).nanoseconds) / 1e9 * perSecond)
            last = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
