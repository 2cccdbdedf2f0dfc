import NIOCore
import NIOPosix

/// A running netdump server: the herald sockets and the core, on one event loop, with a
/// thread pool for `fsync` and for waiting on the script.
public final class NetdumpServer: Sendable {
    public let eventLoop: any EventLoop
    /// The addresses the herald sockets are bound to (with the real port when 0 was asked).
    public let heraldAddresses: [SocketAddress]
    private let core: NIOLoopBound<NetdumpServerCore>
    private let heraldChannels: [any Channel]

    private init(eventLoop: any EventLoop, heraldAddresses: [SocketAddress], core: NIOLoopBound<NetdumpServerCore>, heraldChannels: [any Channel]) {
        self.eventLoop = eventLoop
        self.heraldAddresses = heraldAddresses
        self.core = core
        self.heraldChannels = heraldChannels
    }

    /// The largest datagram a session reads whole: a header and `NETDUMP_DATASIZE` bytes.
    static let datagramCapacity = NetdumpMessageHeader.size + Netdump.maxPayload
    /// Datagrams read per `recvmmsg`.
    static let vectorReads = 32

    /// Binds the herald sockets and starts serving. An address that cannot be bound is
    /// logged and skipped (an IPv6 wildcard on a host without IPv6); none at all is an error.
    public static func start(configuration: NetdumpServerConfiguration, group: any EventLoopGroup, threadPool: NIOThreadPool,
                             logger: NetdumpLogger) -> EventLoopFuture<NetdumpServer> {
        let loop = group.next()
        return loop.flatSubmit {
            let core: NetdumpServerCore
            do {
                core = try NetdumpServerCore(configuration: configuration, eventLoop: loop,
                                             factory: DatagramSessionFactory(eventLoop: loop, receiveBufferSize: configuration.receiveBufferSize),
                                             blockingWork: .threadPool(threadPool), logger: logger)
            } catch {
                return loop.makeFailedFuture(error)
            }
            let bound = NIOLoopBound(core, eventLoop: loop)
            let binds = configuration.bindAddresses.map { address in
                heraldBootstrap(loop: loop, core: bound, ipv6: address.contains(":"))
                    .bind(host: address, port: configuration.heraldPort)
                    .map { Optional($0) }
                    .flatMapErrorThrowing { error in
                        logger.log(.warning, "herald.bind_failed", ("address", address), ("port", "\(configuration.heraldPort)"), ("error", "\(error)"))
                        return nil
                    }
            }
            return EventLoopFuture.whenAllSucceed(binds, on: loop).flatMapThrowing { results in
                let channels = results.compactMap { $0 }
                guard !channels.isEmpty else {
                    throw VMCoreNetError(.io, configuration.bindAddresses.joined(separator: ", "), "cannot bind any herald socket",
                                         "port \(configuration.heraldPort)")
                }
                let addresses = channels.compactMap { $0.localAddress }
                for address in addresses { logger.log(.info, "server.listening", ("address", NetdumpHostName.display(address))) }
                bound.value.start()
                return NetdumpServer(eventLoop: loop, heraldAddresses: addresses, core: bound, heraldChannels: channels)
            }
        }
    }

    private static func heraldBootstrap(loop: any EventLoop, core: NIOLoopBound<NetdumpServerCore>, ipv6: Bool) -> DatagramBootstrap {
        // No SO_REUSEADDR: on Linux it would let a second server bind the same UDP port and
        // take some of the heralds.
        var bootstrap = DatagramBootstrap(group: loop)
            .channelOption(.receivePacketInfo, value: true)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: datagramCapacity))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NetdumpHeraldHandler(core: core.value))
                }
            }
        if ipv6 {
            // One socket per family: an IPv4 client never appears as ::ffff:a.b.c.d.
            bootstrap = bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return bootstrap
    }

    /// Runs `body` with the core on its event loop.
    public func withCore<T: Sendable>(_ body: @escaping @Sendable (NetdumpServerCore) -> T) -> EventLoopFuture<T> {
        let core = self.core
        return eventLoop.submit { body(core.value) }
    }

    /// Closes the herald sockets, ends every session (incomplete dumps are labelled so) and
    /// completes when the files are flushed.
    public func shutdown() -> EventLoopFuture<Void> {
        let core = self.core
        let channels = heraldChannels
        return eventLoop.flatSubmit {
            let closes = channels.map { $0.close().recover { _ in } }
            return EventLoopFuture.andAllComplete(closes, on: core.value.eventLoop).flatMap { core.value.shutdown() }
        }
    }
}

/// Session sockets from `DatagramBootstrap`: bound to the herald's destination address on
/// an ephemeral port, then connected to the client.
struct DatagramSessionFactory: NetdumpSessionChannelFactory {
    let eventLoop: any EventLoop
    let receiveBufferSize: Int

    func makeSessionChannel(local: SocketAddress, client: SocketAddress, handler: NetdumpSessionHandler) -> EventLoopFuture<any Channel> {
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        let reads = NetdumpServer.vectorReads
        return DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
            .channelOption(.datagramVectorReadMessageCount, value: reads)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: reads * NetdumpServer.datagramCapacity))
            .channelOption(.maxMessagesPerRead, value: 4)
            .channelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .bind(to: local)
            .flatMap { channel in
                channel.connect(to: client).map { channel }.flatMapError { error in
                    channel.close().flatMapThrowing { throw error }
                }
            }
    }
}
