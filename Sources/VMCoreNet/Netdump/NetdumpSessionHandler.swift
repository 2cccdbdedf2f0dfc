import NIOCore
import VMCore

/// One client's session socket: decodes each datagram, asks the `NetdumpSession` state
/// machine what it means, writes the files, and acks (freebsd.md §7.3).
///
/// The socket is connected to the client, so only its packets arrive here and every ack
/// leaves from the session's own port, the port the client learns from the herald's ack.
/// Acks are written as packets are handled and flushed every 16 and at the end of each batch
/// of reads; the data acked in a batch is written (`pwrite`) at its end too.
public final class NetdumpSessionHandler: ChannelInboundHandler {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = ByteBuffer

    /// Why a session ends other than by FINISHED.
    enum EndReason {
        case timedOut, superseded, shutdown, evicted, lingerOver, storageFailed, socketClosed
        case failed(VMCoreNetError)

        /// The info file's last line (netdumpd: "Dump incomplete: client timed out",
        /// "Dump unsuccessful: write error @ offset …").
        var infoLine: String {
            switch self {
            case .timedOut: "Dump incomplete: client timed out"
            case .superseded: "Dump incomplete: client started a new dump"
            case .shutdown: "Dump incomplete: server shut down"
            case .evicted: "Dump incomplete: session closed to make room for another client"
            case .socketClosed: "Dump incomplete: the session's socket closed"
            case .lingerOver, .storageFailed: ""
            case .failed(let error): "Dump unsuccessful: \(error.message)" + (error.detail.map { ": " + $0 } ?? "")
            }
        }

        /// The script's first argument: netdumpd's `timeout`, `error` (or `success`).
        var scriptReason: String {
            if case .failed = self { return "error" }
            return "timeout"
        }

        var name: String {
            switch self {
            case .timedOut: "timed_out"
            case .superseded: "superseded"
            case .shutdown: "shutdown"
            case .evicted: "evicted"
            case .lingerOver: "closed"
            case .storageFailed: "storage_failed"
            case .socketClosed: "socket_closed"
            case .failed: "failed"
            }
        }
    }

    let core: NetdumpServerCore
    public let client: SocketAddress
    let clientText: String
    let ip: String
    let host: String
    private var directory: DumpDirectory
    private var pathLabel: String
    public private(set) var session: NetdumpSession
    private(set) var files: NetdumpDumpFiles?
    private var context: ChannelHandlerContext?
    /// Set once the socket is bound and connected.
    private(set) var isReady = false
    private var unflushedAcks = 0
    /// Acks are flushed at the end of each batch of reads, and every this many within one, so
    /// the client can send again while the rest of the batch is handled.
    static let acksPerFlush = 16
    /// After FINISHED: until when the session stays to re-ack a retransmitted FINISHED.
    private(set) var lingerUntil: NIODeadline?
    private var ended = false
    private let started: NIODeadline
    public private(set) var packetsReceived: UInt64 = 0
    public private(set) var bytesReceived: UInt64 = 0

    init(core: NetdumpServerCore, client: SocketAddress, ip: String, host: String, directory: DumpDirectory,
         pathLabel: String, now: NIODeadline) {
        self.core = core
        self.client = client
        clientText = NetdumpHostName.display(client)
        self.ip = ip
        self.host = host
        self.directory = directory
        self.pathLabel = pathLabel
        session = NetdumpSession(limits: core.configuration.limits, now: now)
        started = now
    }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func handlerRemoved(context: ChannelHandlerContext) {
        end(.socketClosed)
        self.context = nil
    }

    /// The socket closed under the session (an error NIO does not recover from): whatever
    /// was received is labelled incomplete, as for a timeout.
    public func channelInactive(context: ChannelHandlerContext) {
        end(.socketClosed)
        context.fireChannelInactive()
    }

    func becomeReady() { isReady = true }

    // MARK: Packets

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ended else { return }
        let datagram = unwrapInboundIn(data).data
        let message: NetdumpMessage
        do {
            message = try NetdumpMessage(datagram: datagram, from: clientText)
        } catch {
            return core.recordDrop(error)
        }
        packetsReceived += 1
        switch session.receive(message, at: context.eventLoop.now) {
        case .drop(let error):
            core.recordDrop(VMCoreNetError(error.kind, "netdump packet from \(clientText)", error.message, error.detail))
        case .data(let offset, let count, let ack):
            guard openFiles() else { return }
            do {
                try files!.writeData(message.payload, count: count, at: offset)
            } catch {
                return end(.failed(error))
            }
            bytesReceived += UInt64(count)
            sendAck(ack)
        case .key(let offset, let ack):
            guard openFiles() else { return }
            do {
                try files!.writeKey(message.payload, at: offset)
            } catch {
                return end(.failed(error))
            }
            if offset == 0 {
                core.logger.log(.info, "dump.key", ("client", clientText), ("file", "key.\(host).\(files!.index)"))
            }
            sendAck(ack)
        case .header(let ack):
            guard openFiles() else { return }
            do {
                try files!.recordHeader(session.header!)
            } catch {
                return end(.failed(error))
            }
            core.logger.log(.info, "dump.header", ("client", clientText), ("file", files!.coreName),
                            ("dumplength", "\(session.header?.header?.dumpLength ?? 0)"))
            sendAck(ack)
        case .badHeader(let ack):
            // netdumpd acks it, then notes the problem in the info file.
            sendAck(ack)
            guard openFiles() else { return }
            try? files!.appendInfo("Bad KDH: packet too small\n")
            core.logger.log(.warning, "dump.bad_header", ("client", clientText), ("bytes", "\(message.payload.readableBytes)"))
        case .finished(let outcome, let ack):
            finish(outcome, ack: ack)
        case .repeated(let ack):
            sendAck(ack)
        }
    }

    /// The end of a batch of reads: the acks go out, and the data acked in the batch is
    /// written (netdumpd writes only when its buffer fills, so a crash loses acked data).
    public func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        if let files {
            do {
                try files.flush()
            } catch {
                end(.failed(error))
            }
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors (ECONNREFUSED from a client that went away) and the like: the session
        // goes on until it finishes or times out.
        core.logger.log(.debug, "session.socket_error", ("client", clientText), ("error", "\(error)"))
    }

    /// Queues the ack of `seqno` (a 4-byte big-endian `struct debugnet_ack`). If the socket
    /// cannot take it, it is dropped rather than queued without bound: the client retransmits.
    func sendAck(_ seqno: UInt32) {
        guard let context else { return }
        guard context.channel.isWritable else {
            return core.recordDrop(VMCoreNetError(.overloaded, "ack to \(clientText)", "socket buffer full; ack not sent"))
        }
        context.write(wrapOutboundOut(NetdumpAck(seqno: seqno).buffer(context.channel.allocator)), promise: nil)
        unflushedAcks += 1
        if unflushedAcks >= Self.acksPerFlush { flush() }
    }

    func flush() {
        guard unflushedAcks > 0, let context else { return }
        unflushedAcks = 0
        context.flush()
    }

    /// The files, created with the first packet that needs them: a herald alone leaves
    /// nothing on disk, so a flood of heralds cannot fill the directory. As netdumpd does, a
    /// failure in the herald's path is retried in the dump directory itself.
    private func openFiles() -> Bool {
        if files != nil { return true }
        let bufferSize = core.configuration.writeBufferSize
        do {
            files = try NetdumpDumpFiles(directory: directory, pathLabel: pathLabel, host: host, ip: ip, bufferSize: bufferSize)
        } catch {
            guard pathLabel != "." else {
                core.logger.log(.error, "dump.refused", ("client", clientText), ("error", "\(error)"))
                end(.storageFailed)
                return false
            }
            core.logger.log(.warning, "dump.path_failed", ("client", clientText), ("path", pathLabel), ("error", "\(error)"))
            directory = core.root
            pathLabel = "."
            return openFiles()
        }
        core.logger.log(.info, "dump.started", ("client", clientText), ("host", host), ("file", files!.corePathForScript),
                        ("info", files!.infoPathForScript))
        return true
    }

    // MARK: Endings

    /// FINISHED: flush, ack at once, then `fsync` off the event loop; after it the `.last`
    /// links and "Dump complete" for a complete dump, or the reason it is not. netdumpd does
    /// the same in `handle_finish()` but acks last; acking before the `fsync` keeps a large
    /// dump's client from retransmitting while the disk catches up.
    private func finish(_ outcome: NetdumpSession.Outcome, ack: UInt32) {
        guard openFiles(), let files else { return }
        do {
            try files.flush()
        } catch {
            return end(.failed(error))
        }
        sendAck(ack)
        lingerUntil = core.eventLoop.now + core.configuration.lingerAfterFinish
        let fd = files.coreDescriptor
        core.runBlocking { OutputFile.sync(descriptor: fd)?.code ?? 0 }.assumeIsolated().whenComplete { result in
            if case .success(let error) = result, error != 0 {
                self.core.logger.log(.warning, "dump.fsync_failed", ("client", self.clientText), ("errno", "\(error)"))
            }
            self.record(outcome, files: files)
        }
    }

    private func record(_ outcome: NetdumpSession.Outcome, files: NetdumpDumpFiles) {
        let seconds = Double((core.eventLoop.now - started).nanoseconds) / 1e9
        let fields: [(String, String)] = [("client", clientText), ("file", files.corePathForScript), ("bytes", "\(bytesReceived)"),
                                          ("packets", "\(packetsReceived)"), ("seconds", String(seconds))]
        switch outcome {
        case .complete:
            do {
                try files.markComplete()
            } catch {
                core.logger.log(.error, "dump.link_failed", ("client", clientText), ("error", "\(error)"))
                try? files.appendInfo("Dump complete\n")
            }
            core.logger.log(.info, "dump.complete", fields)
            core.dumpEnded(complete: true)
            core.runScript(reason: "success", ip: ip, host: host, infoFile: files.infoPathForScript, coreFile: files.corePathForScript)
        case .incomplete(let reason):
            files.markIncomplete("Dump incomplete: \(reason)")
            core.logger.log(.warning, "dump.incomplete", fields + [("reason", reason)])
            core.dumpEnded(complete: false)
            core.runScript(reason: "error", ip: ip, host: host, infoFile: files.infoPathForScript, coreFile: files.corePathForScript)
        }
        files.close()
        if self.files === files { self.files = nil }
    }

    /// Ends the session: a dump in progress is kept and labelled incomplete (never linked as
    /// `.last`), the script runs, the socket closes.
    func end(_ reason: EndReason) {
        guard !ended else { return }
        ended = true
        if lingerUntil == nil, let files {
            try? files.flush()
            files.markIncomplete(reason.infoLine)
            core.logger.log(.warning, "dump.incomplete", ("client", clientText), ("file", files.corePathForScript),
                            ("reason", reason.name), ("bytes", "\(bytesReceived)"))
            core.dumpEnded(complete: false)
            core.runScript(reason: reason.scriptReason, ip: ip, host: host, infoFile: files.infoPathForScript,
                           coreFile: files.corePathForScript)
            files.close()
            self.files = nil
        } else {
            core.logger.log(.info, "session.closed", ("client", clientText), ("reason", reason.name))
        }
        core.sessionClosed(self)
        context?.close(promise: nil)
    }
}
