import NIOCore
import NIOPosix

/// A UDP relay between netdump clients and a netdump server that loses, duplicates and
/// reorders datagrams in both directions, for tests and the benchmark.
///
/// Clients send to `address`; each client gets its own upstream socket, so the server sees
/// one client per client. Heralds (type 1) go to the server's herald port; everything else to
/// the port the server last answered that client from (its session port). Answers come back
/// to the client from the relay's own port, which the client then takes for the server's.
public final class LossyUDPRelay: Sendable {
    public struct Impairment: Sendable {
        /// Probability that a datagram is dropped.
        public var loss: Double
        /// Probability that a datagram is sent twice.
        public var duplication: Double
        /// Probability that a datagram is held back and sent after `reorderDelay`, behind later ones.
        public var reordering: Double
        public var reorderDelay: TimeAmount
        public var seed: UInt64
        /// After this many datagrams in either direction, drop everything: a client or
        /// network that goes silent midway.
        public var silenceAfter: Int?

        public init(loss: Double = 0, duplication: Double = 0, reordering: Double = 0,
                    reorderDelay: TimeAmount = .milliseconds(2), seed: UInt64 = 0x5eed, silenceAfter: Int? = nil) {
            self.loss = loss
            self.duplication = duplication
            self.reordering = reordering
            self.reorderDelay = reorderDelay
            self.seed = seed
            self.silenceAfter = silenceAfter
        }

        /// The acceptance network: 5 % loss, 5 % duplication, 5 % reordering.
        public static let hostile = Impairment(loss: 0.05, duplication: 0.05, reordering: 0.05)
    }

    public struct Counters: Sendable, Equatable {
        public var forwarded = 0
        public var dropped = 0
        public var duplicated = 0
        public var reordered = 0
    }

    public let address: SocketAddress
    private let front: any Channel
    private let state: NIOLoopBound<RelayState>

    private init(address: SocketAddress, front: any Channel, state: NIOLoopBound<RelayState>) {
        self.address = address
        self.front = front
        self.state = state
    }

    /// Listens on `host` (any free port) and relays to the netdump server at `server`.
    public static func start(host: String, server: SocketAddress, impairment: Impairment,
                             group: any EventLoopGroup) -> EventLoopFuture<LossyUDPRelay> {
        let loop = group.next()
        return loop.flatSubmit {
            let state = NIOLoopBound(RelayState(server: server, impairment: impairment, loop: loop), eventLoop: loop)
            return DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
                .channelOption(.datagramVectorReadMessageCount, value: 32)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 32 * 4200))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FrontHandler(state: state.value))
                    }
                }
                .bind(host: host, port: 0)
                .map { channel in
                    state.value.front = channel
                    return LossyUDPRelay(address: channel.localAddress!, front: channel, state: state)
                }
        }
    }

    public var counters: EventLoopFuture<Counters> {
        let state = self.state
        return front.eventLoop.submit { state.value.counters }
    }

    public func close() -> EventLoopFuture<Void> {
        let state = self.state
        return front.eventLoop.flatSubmit {
            let all = [state.value.front].compactMap { $0 } + state.value.upstreams.values.compactMap { $0.channel }
            return EventLoopFuture.andAllComplete(all.map { $0.close().recover { _ in } }, on: state.value.loop)
        }
    }
}

/// The relay's state, confined to its event loop.
final class RelayState {
    final class Upstream {
        var channel: (any Channel)?
        var session: SocketAddress?
        var queued: [ByteBuffer] = []
    }

    let server: SocketAddress
    let impairment: LossyUDPRelay.Impairment
    let loop: any EventLoop
    var front: (any Channel)?
    var upstreams: [SocketAddress: Upstream] = [:]
    var counters = LossyUDPRelay.Counters()
    private var random: SplitMix64

    init(server: SocketAddress, impairment: LossyUDPRelay.Impairment, loop: any EventLoop) {
        self.server = server
        self.impairment = impairment
        self.loop = loop
        random = SplitMix64(seed: impairment.seed)
    }

    /// Sends `data` to `to` on `channel`, subject to the impairment.
    func impairedSend(_ data: ByteBuffer, to: SocketAddress, on channel: any Channel) {
        if let limit = impairment.silenceAfter, counters.forwarded >= limit {
            counters.dropped += 1
            return
        }
        if random.chance(impairment.loss) {
            counters.dropped += 1
            return
        }
        let copies = random.chance(impairment.duplication) ? 2 : 1
        if copies == 2 { counters.duplicated += 1 }
        for _ in 0..<copies {
            let envelope = AddressedEnvelope(remoteAddress: to, data: data)
            counters.forwarded += 1
            if random.chance(impairment.reordering) {
                counters.reordered += 1
                let bound = NIOLoopBound(channel, eventLoop: loop)
                loop.scheduleTask(in: impairment.reorderDelay) {
                    bound.value.writeAndFlush(envelope, promise: nil)
                }
            } else {
                channel.write(envelope, promise: nil)
            }
        }
    }

    func fromClient(_ data: ByteBuffer, client: SocketAddress) {
        let upstream: Upstream
        if let existing = upstreams[client] {
            upstream = existing
        } else {
            upstream = Upstream()
            upstreams[client] = upstream
            let state = NIOLoopBound(self, eventLoop: loop)
            let wildcard = client.protocol == .inet6 ? "::" : "0.0.0.0"
            DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
                .channelOption(.datagramVectorReadMessageCount, value: 32)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 32 * 4200))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UpstreamHandler(state: state.value, client: client))
                    }
                }
                .bind(host: wildcard, port: 0)
                .assumeIsolated()
                .whenSuccess { channel in
                    upstream.channel = channel
                    for queued in upstream.queued { self.toServer(queued, upstream: upstream, channel: channel) }
                    upstream.queued = []
                    channel.flush()
                }
        }
        guard let channel = upstream.channel else {
            upstream.queued.append(data)
            return
        }
        toServer(data, upstream: upstream, channel: channel)
    }

    private func toServer(_ data: ByteBuffer, upstream: Upstream, channel: any Channel) {
        let isHerald = data.readableBytes >= 24 && data.getInteger(at: data.readerIndex, as: UInt32.self) == 1
        let to = isHerald ? server : (upstream.session ?? server)
        impairedSend(data, to: to, on: channel)
    }

    func fromServer(_ data: ByteBuffer, from: SocketAddress, client: SocketAddress) {
        guard let upstream = upstreams[client], let front else { return }
        if from.port != server.port { upstream.session = from }
        impairedSend(data, to: client, on: front)
    }
}

private final class FrontHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let state: RelayState
    init(state: RelayState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        state.fromClient(envelope.data, client: envelope.remoteAddress)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        for upstream in state.upstreams.values { upstream.channel?.flush() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

private final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let state: RelayState
    let client: SocketAddress
    init(state: RelayState, client: SocketAddress) {
        self.state = state
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        state.fromServer(envelope.data, from: envelope.remoteAddress, client: client)
    }

    func channelReadComplete(context: ChannelHandlerContext) { state.front?.flush() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

/// A small deterministic generator (SplitMix64), so a lossy run can be repeated exactly.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        p > 0 && Double(next() >> 11) / Double(1 << 53) < p
    }
}
