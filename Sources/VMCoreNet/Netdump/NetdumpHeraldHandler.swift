import NIOCore

/// The herald socket's handler: every datagram goes to the server core, which opens, re-acks
/// or refuses a session. It never answers from this socket: replies come from each session's
/// own port (netdumpd `cap_herald.c`).
public final class NetdumpHeraldHandler: ChannelInboundHandler {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let core: NetdumpServerCore

    public init(core: NetdumpServerCore) {
        self.core = core
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.receiveHerald(unwrapInboundIn(data), heraldLocal: context.channel.localAddress)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.logger.log(.debug, "herald.socket_error", ("error", "\(error)"))
    }
}
