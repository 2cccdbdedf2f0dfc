import ArgumentParser
import NIOCore
import NIOPosix
import VMCore
import VMCoreNet

#if canImport(Glibc)
import Glibc
#endif

/// `vmcore netdump`: the client side of netdump.
struct NetdumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netdump",
        abstract: "Send a dump to a netdump server, as a FreeBSD kernel does.",
        subcommands: [Send.self])

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a saved dump (vmcore.N, vmcore.N.zst, …) to a netdumpd server.",
            discussion: """
            Sends a herald, the EKCD key (with --key), the dump in MTU-sized packets with up to 64 \
            unacknowledged, the 512-byte kernel dump header, then FINISHED; every packet is \
            resent after about a second without an ack, at most 10 times, and (unless \
            --kernel-retransmit) sooner when later packets are acked first or a few round trips \
            pass without its ack. The header comes from \
            --header, or is made up: version 4, dumplength the file's size, the architecture of \
            a minidump (else amd64), gzip or zstd when the file is compressed.

            The kernel always sends from port 20024, and netdumpd always answers there; this \
            client can send from any port (--client-port 0 picks a free one), and vmcore \
            netdumpd answers the port each client sends from.
            """)

        @Option(help: ArgumentHelp("The server: host, host:port, or [IPv6]:port (port 20023 by default).", valueName: "host[:port]"))
        var server: String

        @Option(name: .customLong("client-port"), help: ArgumentHelp("Port to send from (0: any free one).", valueName: "port"))
        var clientPort: Int = Netdump.clientPort

        @Option(help: ArgumentHelp("The EKCD key file (key.N) of an encrypted dump, sent before the data.", valueName: "key.N"))
        var key: String?

        @Option(help: ArgumentHelp("A file whose first 512 bytes are the kernel dump header to send.", valueName: "file"))
        var header: String?

        @Option(help: ArgumentHelp("Directory under the server's dump directory (the kernel's net.netdump.path).", valueName: "path"))
        var path: String?

        @Option(help: ArgumentHelp("Link MTU: each packet carries MTU − 52 bytes of the dump (IPv6: MTU − 72), at most 4096.", valueName: "bytes"))
        var mtu: Int = 1500

        @Option(help: ArgumentHelp("Packets unacknowledged at once (1 to 64).", valueName: "n"))
        var window: Int = Netdump.maxInFlight

        @Option(name: .customLong("retransmit-ms"), help: ArgumentHelp("Milliseconds without an ack before a packet is resent.", valueName: "ms"))
        var retransmitMilliseconds: Int = 1000

        @Option(help: ArgumentHelp("Resends of one packet before giving up.", valueName: "n"))
        var retries: Int = Netdump.retries

        @Flag(name: .customLong("kernel-retransmit"),
              help: "Resend only on the timer, as the kernel does (not as soon as later packets are acked, nor after a few round trips).")
        var kernelRetransmit = false

        @Option(help: ArgumentHelp("MACHINE_ARCH for a made-up header (default: from a minidump, else amd64).", valueName: "arch"))
        var architecture: String?

        @Flag(help: "Print progress to standard error every second.")
        var progress = false

        @Flag(help: "Print JSON.")
        var json = false

        @Argument(help: ArgumentHelp("The dump payload to send.", valueName: "dump"))
        var dump: String

        func validate() throws {
            guard (0...65535).contains(clientPort) else { throw ValidationError("--client-port takes a port from 0 to 65535.") }
            guard (1...Netdump.maxInFlight).contains(window) else { throw ValidationError("--window takes 1 to 64.") }
            guard mtu >= 128 else { throw ValidationError("--mtu takes at least 128.") }
            guard retransmitMilliseconds > 0, retries >= 0 else { throw ValidationError("--retransmit-ms and --retries take positive numbers.") }
            guard serverAddress() != nil else { throw ValidationError("--server takes host, host:port or [IPv6]:port, not '\(server)'.") }
        }

        /// Host and port from `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
        func serverAddress() -> (host: String, port: Int)? {
            if server.hasPrefix("[") {
                guard let close = server.firstIndex(of: "]") else { return nil }
                let host = String(server[server.index(after: server.startIndex)..<close])
                let rest = server[server.index(after: close)...]
                if rest.isEmpty { return (host, Netdump.heraldPort) }
                guard rest.first == ":", let port = Int(rest.dropFirst()), (1...65535).contains(port) else { return nil }
                return (host, port)
            }
            let colons = server.filter { $0 == ":" }.count
            if colons == 1, let i = server.firstIndex(of: ":") {
                guard let port = Int(server[server.index(after: i)...]), (1...65535).contains(port) else { return nil }
                return (String(server[..<i]), port)
            }
            return server.isEmpty ? nil : (server, Netdump.heraldPort)
        }

        func run() throws {
            let (host, port) = serverAddress()!
            let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
            let data = try FileSource(path: dump)
            guard data.size > 0 else { throw VMCoreError(.truncated, file: dump, "the dump is empty") }
            var keyBytes: [UInt8] = []
            if let key {
                let k = try FileSource(path: key)
                keyBytes = try k.bytes(at: 0, count: Int(min(k.size, UInt64(Netdump.maxKeySize) + 1)), what: "key")
            }
            guard keyBytes.count <= Netdump.maxKeySize else {
                throw VMCoreError(.unsupported, file: key!, "key too large", "the kernel sends at most \(Netdump.maxKeySize) bytes")
            }
            let headerBytes: [UInt8]
            if let header {
                headerBytes = try FileSource(path: header).bytes(at: 0, count: KernelDumpHeader.size, what: "kernel dump header")
            } else {
                let prefix = try data.bytes(at: 0, count: Int(min(data.size, 64)), what: "dump")
                headerBytes = NetdumpDumpSource.synthesizedHeader(
                    payloadPrefix: prefix, payloadLength: data.size, keyLength: keyBytes.count, architecture: architecture,
                    hostname: localHostName(), dumpTime: UInt64(max(0, time(nil))),
                    versionString: "sent by vmcore netdump send\n").encoded()
            }
            let source = NetdumpDumpSource(data: data, header: headerBytes, key: keyBytes, path: path)
            let payloadSize = min(Netdump.maxPayload, Netdump.payloadSize(mtu: mtu, ipv6: address.protocol == .inet6))
            let configuration = NetdumpSender.Configuration(
                payloadSize: payloadSize, window: window, retransmitTimeout: .milliseconds(Int64(retransmitMilliseconds)),
                maxRetransmissions: retries, fastRetransmitAfter: kernelRetransmit ? nil : 3, earlyRetransmit: !kernelRetransmit)
            let total = data.size
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { try? group.syncShutdownGracefully() }
            let start = NIODeadline.now()
            var report: (@Sendable (NetdumpSender.Statistics) -> Void)?
            if progress {
                report = { s in
                    let done = min(total, s.payloadBytesSent)
                    let resent = s.timerRetransmissions + s.fastRetransmissions + s.earlyRetransmissions
                    printError("netdump: \(done >> 20) of \(total >> 20) MiB sent, \(resent) resent")
                }
            }
            let statistics = try NetdumpClient.send(source, to: address, clientPort: clientPort, configuration: configuration,
                                                    group: group, progress: report).wait()
            let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
            let result = SendResult(server: NetdumpHostName.display(address), bytes: total, seconds: seconds, statistics: statistics)
            print(json ? try jsonText(result) : result.text)
        }

        func localHostName() -> String {
            var buffer = [CChar](repeating: 0, count: 256)
            guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// What `vmcore netdump send` reports.
struct SendResult: Encodable {
    var server: String
    var bytes: UInt64
    var seconds: Double
    var megabytesPerSecond: Double
    var packets: UInt64
    var packetsPerSecond: Double
    var retransmissions: UInt64
    var fastRetransmissions: UInt64
    var earlyRetransmissions: UInt64

    init(server: String, bytes: UInt64, seconds: Double, statistics s: NetdumpSender.Statistics) {
        self.server = server
        self.bytes = bytes
        self.seconds = seconds
        megabytesPerSecond = seconds > 0 ? Double(bytes) / 1e6 / seconds : 0
        packets = s.packetsSent
        packetsPerSecond = seconds > 0 ? Double(s.packetsSent) / seconds : 0
        retransmissions = s.timerRetransmissions
        fastRetransmissions = s.fastRetransmissions
        earlyRetransmissions = s.earlyRetransmissions
    }

    var text: String {
        "sent \(bytes) bytes to \(server) in \(formatDecimal(seconds, places: 2)) s: \(formatDecimal(megabytesPerSecond, places: 1)) MB/s, "
            + "\(packets) packets (\(formatDecimal(packetsPerSecond, places: 0))/s); resent \(retransmissions) on the timer, "
            + "\(fastRetransmissions) after later acks, \(earlyRetransmissions) after a few round trips"
    }
}
