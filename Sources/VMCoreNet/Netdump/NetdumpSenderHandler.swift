import NIOCore

/// Drives a `NetdumpSender` on a datagram channel: builds the packets it asks for, reads the
/// acks, runs its timer. Like the kernel (`debugnet_handle_ack()`), the first ack fixes the
/// server's port: the herald goes to the herald port, everything after it to the port the
/// herald's ack came from.
public final class NetdumpSenderHandler: ChannelInboundHandler {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    public private(set) var sender: NetdumpSender
    private let source: NetdumpDumpSource
    private let herald: SocketAddress
    private let serverIP: String?
    /// The server's session address, from the herald's ack.
    public private(set) var session: SocketAddress?
    private let promise: EventLoopPromise<NetdumpSender.Statistics>
    private let tickInterval: TimeAmount
    private let progress: (@Sendable (NetdumpSender.Statistics) -> Void)?
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var unflushed = 0
    /// Packets are flushed when a batch of acks has been handled, and every this many before.
    static let packetsPerFlush = 16
    private var lastProgress: NIODeadline = .uptimeNanoseconds(0)
    private var resolved = false

    /// Sends `source` to the server whose herald socket is `herald`; `promise` completes with
    /// the statistics, or fails with a `VMCoreNetError` or the file's `VMCoreError`.
    public init(source: NetdumpDumpSource, herald: SocketAddress, configuration: NetdumpSender.Configuration,
                promise: EventLoopPromise<NetdumpSender.Statistics>, progress: (@Sendable (NetdumpSender.Statistics) -> Void)? = nil) {
        self.source = source
        self.herald = herald
        serverIP = herald.ipAddress
        sender = NetdumpSender(messages: source.messages, configuration: configuration)
        self.promise = promise
        self.progress = progress
        tickInterval = configuration.tickInterval
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard timer == nil, sender.state == .running else { return }
        scheduleTick(context: context)
        pump(context: context)
        flushIfNeeded(context: context)
    }

    private func scheduleTick(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: tickInterval) { [self] in
            guard let context = self.context else { return }
            self.sender.tick(at: context.eventLoop.now)
            self.pump(context: context)
            self.flushIfNeeded(context: context)
            if self.finishIfDone(context: context) { return }
            if let progress, context.eventLoop.now - lastProgress >= .seconds(1) {
                lastProgress = context.eventLoop.now
                progress(sender.statistics)
            }
            self.scheduleTick(context: context)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let from = envelope.remoteAddress
        if let session {
            guard from == session else { return }
        } else {
            guard from.ipAddress == serverIP else { return }
        }
        if let ack = NetdumpAck(datagram: envelope.data) {
            if session == nil && !sender.heraldAcknowledged { session = from }
            sender.acknowledge(ack.seqno, at: context.eventLoop.now)
            pump(context: context)
        } else if let header = NetdumpMessageHeader(peeking: envelope.data), header.type == .finished {
            sender.serverFinished()
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        pump(context: context)
        flushIfNeeded(context: context)
        _ = finishIfDone(context: context)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like: the timer decides when to give up.
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        resolve(.failure(VMCoreNetError(.io, NetdumpHostName.display(herald), "the socket closed before the dump was sent")))
        context.fireChannelInactive()
    }

    /// Sends what the sender has ready.
    private func pump(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        while let packet = sender.nextPacket(at: now) {
            var buffer = context.channel.allocator.buffer(capacity: NetdumpMessageHeader.size + Int(packet.header.length))
            packet.header.write(to: &buffer)
            do {
                try source.write(packet, to: &buffer)
            } catch {
                timer?.cancel()
                resolve(.failure(error))
                context.close(promise: nil)
                return
            }
            let to = packet.header.type == .herald ? herald : (session ?? herald)
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: to, data: buffer)), promise: nil)
            unflushed += 1
            if unflushed >= Self.packetsPerFlush { flushIfNeeded(context: context) }
        }
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        if unflushed > 0 {
            unflushed = 0
            context.flush()
        }
    }

    /// Completes the promise once the sender is done; true if it is.
    private func finishIfDone(context: ChannelHandlerContext) -> Bool {
        switch sender.state {
        case .running:
            return false
        case .completed:
            timer?.cancel()
            progress?(sender.statistics)
            resolve(.success(sender.statistics))
        case .failed(let error):
            timer?.cancel()
            resolve(.failure(error))
        }
        context.close(promise: nil)
        return true
    }

    private func resolve(_ result: Result<NetdumpSender.Statistics, any Error>) {
        guard !resolved else { return }
        resolved = true
        promise.completeWith(result)
    }
}
