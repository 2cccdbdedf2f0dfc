import NIOCore
import NIOPosix

/// Sends a dump to a netdump server as a FreeBSD kernel does (freebsd.md §7.2): from UDP
/// port 20024 unless told otherwise, to the server's herald port, then to the port the
/// server answers from.
public enum NetdumpClient {
    /// Binds the client socket to `clientPort` (0: any free port) and sends `source` to
    /// `server`. Completes with the sender's statistics.
    public static func send(_ source: NetdumpDumpSource, to server: SocketAddress, clientPort: Int = Netdump.clientPort,
                            configuration: NetdumpSender.Configuration = .init(), group: any EventLoopGroup,
                            progress: (@Sendable (NetdumpSender.Statistics) -> Void)? = nil) -> EventLoopFuture<NetdumpSender.Statistics> {
        let loop = group.next()
        let promise = loop.makePromise(of: NetdumpSender.Statistics.self)
        let wildcard = server.protocol == .inet6 ? "::" : "0.0.0.0"
        let reads = 64
        DatagramBootstrap(group: loop)
            .channelOption(.datagramVectorReadMessageCount, value: reads)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: reads * 64))
            .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(1 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = NetdumpSenderHandler(source: source, herald: server, configuration: configuration,
                                                       promise: promise, progress: progress)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: wildcard, port: clientPort)
            .whenFailure { error in
                promise.fail(VMCoreNetError(.io, "\(wildcard) port \(clientPort)", "cannot bind the client socket", "\(error)"))
            }
        return promise.futureResult
    }
}
