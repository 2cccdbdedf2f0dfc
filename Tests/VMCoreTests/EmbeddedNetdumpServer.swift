import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import VMCore
import VMCoreNet

/// Log lines collected from a `NetdumpLogger`.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var logger: NetdumpLogger {
        NetdumpLogger(minimumLevel: .debug) { line in self.lines.withLock { $0.append(line) } }
    }
    func count(_ event: String) -> Int { all.filter { $0.contains("event=\(event) ") || $0.hasSuffix("event=\(event)") }.count }
}

/// The server core on an `EmbeddedEventLoop`: a herald channel and one embedded channel per
/// session, no sockets; files go to a temporary directory.
final class EmbeddedNetdumpServer {
    final class Factory: NetdumpSessionChannelFactory {
        let loop: EmbeddedEventLoop
        var channels: [SocketAddress: EmbeddedChannel] = [:]
        var locals: [SocketAddress: SocketAddress] = [:]
        var fail = false
        init(loop: EmbeddedEventLoop) { self.loop = loop }

        func makeSessionChannel(local: SocketAddress, client: SocketAddress, handler: NetdumpSessionHandler) -> EventLoopFuture<any Channel> {
            if fail { return loop.makeFailedFuture(VMCoreNetError(.io, "test", "no sockets today")) }
            let channel = EmbeddedChannel(handler: handler, loop: loop)
            channel.localAddress = local
            channel.remoteAddress = client
            try! channel.connect(to: client).wait()
            channels[client] = channel
            locals[client] = local
            return loop.makeSucceededFuture(channel)
        }
    }

    let loop = EmbeddedEventLoop()
    let directory: URL
    let logs = LogLines()
    let factory: Factory
    let core: NetdumpServerCore
    let herald: EmbeddedChannel
    static let heraldAddress = try! SocketAddress(ipAddress: "192.0.2.1", port: Netdump.heraldPort)

    init(directory: URL? = nil, _ configure: (inout NetdumpServerConfiguration) -> Void = { _ in }) throws {
        self.directory = try directory ?? temporaryDirectory()
        var configuration = NetdumpServerConfiguration(dumpDirectory: self.directory.path)
        configure(&configuration)
        factory = Factory(loop: loop)
        core = try NetdumpServerCore(configuration: configuration, eventLoop: loop, factory: factory,
                                     blockingWork: .inline, logger: logs.logger)
        core.start()
        herald = EmbeddedChannel(handler: NetdumpHeraldHandler(core: core), loop: loop)
        herald.localAddress = Self.heraldAddress
        try herald.connect(to: try SocketAddress(ipAddress: "0.0.0.0", port: 0)).wait()
    }

    static func client(_ ip: String = "198.51.100.7", port: Int = Netdump.clientPort) -> SocketAddress {
        try! SocketAddress(ipAddress: ip, port: port)
    }

    /// Sends a herald from `client`; the acks its session channel sends back.
    @discardableResult
    func herald(from client: SocketAddress, seqno: UInt32 = 1, path: [UInt8] = []) throws -> [UInt32] {
        try herald.writeInbound(AddressedEnvelope(remoteAddress: client, data: netdumpPacket(.herald, seqno: seqno, path)))
        return try acks(client)
    }

    /// Sends `datagram` to `client`'s session; the acks that come back.
    @discardableResult
    func send(_ datagram: ByteBuffer, from client: SocketAddress) throws -> [UInt32] {
        guard let channel = factory.channels[client] else { return [] }
        try channel.writeInbound(AddressedEnvelope(remoteAddress: client, data: datagram))
        return try acks(client)
    }

    func acks(_ client: SocketAddress) throws -> [UInt32] {
        guard let channel = factory.channels[client] else { return [] }
        var seqnos: [UInt32] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            guard let ack = NetdumpAck(datagram: buffer) else { throw VMCoreNetError(.unexpected, "test", "non-ack reply") }
            seqnos.append(ack.seqno)
        }
        return seqnos
    }

    func file(_ name: String) -> Data? { FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) }
    func text(_ name: String) -> String? { file(name).map { String(decoding: $0, as: UTF8.self) } }
    func link(_ name: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent(name).path) }
    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted() }
}
