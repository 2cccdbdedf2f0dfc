import Foundation
import NIOCore
import NIOPosix
import Testing
import VMCore
import VMCoreNet
import VMCoreTestSupport

/// Real sockets on the loopback interface: the server, the client and the lossy relay in
/// this process, each on its own event loop.
@Suite("netdump over loopback", .serialized)
struct NetdumpLoopbackTests {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let pool = NIOThreadPool(numberOfThreads: 1)
    let dir: URL
    let dumps: URL

    init() throws {
        pool.start()
        dir = try temporaryDirectory()
        dumps = dir.appendingPathComponent("dumps")
        try FileManager.default.createDirectory(at: dumps, withIntermediateDirectories: true)
    }

    func startServer(_ host: String, _ configure: (inout NetdumpServerConfiguration) -> Void = { _ in }) throws -> NetdumpServer {
        var configuration = NetdumpServerConfiguration(dumpDirectory: dumps.path)
        configuration.bindAddresses = [host]
        configuration.heraldPort = 0
        configure(&configuration)
        return try NetdumpServer.start(configuration: configuration, group: group, threadPool: pool, logger: .silent).wait()
    }

    /// A payload file of `size` bytes.
    func payload(_ name: String, size: Int, seed: UInt64) throws -> (path: String, bytes: [UInt8]) {
        let bytes = patternBytes(size, seed: seed)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    func source(_ path: String, length: Int) throws -> NetdumpDumpSource {
        NetdumpDumpSource(data: try FileSource(path: path), header: testHeader(length: UInt64(length)))
    }

    /// Waits until the server has recorded `count` dumps (the last steps follow an fsync).
    func waitForDumps(_ server: NetdumpServer, _ count: Int) throws {
        for _ in 0..<3000 {
            if try server.withCore({ $0.completeDumps + $0.incompleteDumps }).wait() >= count { return }
            usleep(10_000)
        }
        Issue.record("the server did not record \(count) dumps")
    }

    func received(_ name: String) -> Data? { FileManager.default.contents(atPath: dumps.appendingPathComponent(name).path) }

    func shutDown(_ server: NetdumpServer) {
        try? server.shutdown().wait()
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }

    @Test("32 MiB over 127.0.0.1 arrive byte-identical")
    func ipv4() throws {
        let server = try startServer("127.0.0.1")
        defer { shutDown(server) }
        let (path, bytes) = try payload("payload", size: 32 << 20, seed: 1)
        let stats = try NetdumpClient.send(try source(path, length: bytes.count), to: server.heraldAddresses[0], clientPort: 0,
                                           group: group).wait()
        try waitForDumps(server, 1)
        #expect(received("vmcore.127.0.0.1.0") == Data(bytes))
        #expect(String(decoding: received("info.127.0.0.1.0") ?? Data(), as: UTF8.self).hasSuffix("Dump complete\n"))
        #expect(stats.packetsSent >= UInt64(bytes.count / 1448))
    }

    @Test("8 MiB over ::1 arrive byte-identical")
    func ipv6() throws {
        let server: NetdumpServer
        do {
            server = try startServer("::1")
        } catch {
            // A host without IPv6 on its loopback interface.
            return
        }
        defer { shutDown(server) }
        let (path, bytes) = try payload("payload6", size: 8 << 20, seed: 2)
        // IPv6 takes 20 more bytes of header from each packet.
        let configuration = NetdumpSender.Configuration(payloadSize: Netdump.payloadSize(mtu: 1500, ipv6: true))
        let stats = try NetdumpClient.send(try source(path, length: bytes.count), to: server.heraldAddresses[0], clientPort: 0,
                                           configuration: configuration, group: group).wait()
        try waitForDumps(server, 1)
        #expect(received("vmcore.--1.0") == Data(bytes))
        #expect(stats.packetsSent >= UInt64(bytes.count / 1428))
    }

    @Test("16 MiB through 5 % loss, duplication and reordering arrive byte-identical")
    func lossy() throws {
        let server = try startServer("127.0.0.1")
        defer { shutDown(server) }
        let relay = try LossyUDPRelay.start(host: "127.0.0.1", server: server.heraldAddresses[0], impairment: .hostile, group: group).wait()
        defer { _ = try? relay.close().wait() }
        let (path, bytes) = try payload("lossy", size: 16 << 20, seed: 3)
        let configuration = NetdumpSender.Configuration(retransmitTimeout: .milliseconds(200), maxRetransmissions: 25)
        let stats = try NetdumpClient.send(try source(path, length: bytes.count), to: relay.address, clientPort: 0,
                                           configuration: configuration, group: group).wait()
        try waitForDumps(server, 1)
        #expect(received("vmcore.127.0.0.1.0") == Data(bytes))
        #expect(String(decoding: received("info.127.0.0.1.0") ?? Data(), as: UTF8.self).hasSuffix("Dump complete\n"))
        let counters = try relay.counters.wait()
        #expect(counters.dropped > 0 && counters.duplicated > 0 && counters.reordered > 0)
        #expect(stats.timerRetransmissions + stats.fastRetransmissions > 0)
    }

    @Test("three clients at once, two of them through the lossy relay, each get their own complete dump")
    func concurrent() throws {
        let server = try startServer("127.0.0.1")
        defer { shutDown(server) }
        let relay = try LossyUDPRelay.start(host: "127.0.0.1", server: server.heraldAddresses[0], impairment: .hostile, group: group).wait()
        defer { _ = try? relay.close().wait() }
        let configuration = NetdumpSender.Configuration(retransmitTimeout: .milliseconds(200), maxRetransmissions: 25)
        var payloads: [[UInt8]] = []
        var sends: [EventLoopFuture<NetdumpSender.Statistics>] = []
        for i in 0..<3 {
            let (path, bytes) = try payload("client\(i)", size: (4 + i) << 20, seed: UInt64(10 + i))
            payloads.append(bytes)
            let to = i == 0 ? server.heraldAddresses[0] : relay.address
            sends.append(NetdumpClient.send(try source(path, length: bytes.count), to: to, clientPort: 0,
                                            configuration: configuration, group: group))
        }
        for send in sends { _ = try send.wait() }
        try waitForDumps(server, 3)
        let files = (0..<3).compactMap { received("vmcore.127.0.0.1.\($0)") }
        #expect(Set(files) == Set(payloads.map { Data($0) }))
        #expect(try server.withCore { $0.completeDumps }.wait() == 3)
    }

    @Test("a second server cannot take the herald port of the first")
    func portTaken() throws {
        let server = try startServer("127.0.0.1")
        defer { shutDown(server) }
        let port = server.heraldAddresses[0].port!
        #expect(throws: VMCoreNetError.self) { _ = try startServer("127.0.0.1") { $0.heraldPort = port } }
    }

    @Test("a client that goes silent midway leaves a dump labelled incomplete after the timeout")
    func silentClient() throws {
        let server = try startServer("127.0.0.1") { $0.clientTimeout = .milliseconds(300); $0.checkInterval = .milliseconds(100) }
        defer { shutDown(server) }
        // The network goes dark after 200 datagrams: the client gives up, the server waits it out.
        let relay = try LossyUDPRelay.start(host: "127.0.0.1", server: server.heraldAddresses[0],
                                            impairment: .init(silenceAfter: 200), group: group).wait()
        defer { _ = try? relay.close().wait() }
        let (path, bytes) = try payload("short", size: 1 << 20, seed: 4)
        let configuration = NetdumpSender.Configuration(retransmitTimeout: .milliseconds(20), maxRetransmissions: 2)
        let send = NetdumpClient.send(try source(path, length: bytes.count), to: relay.address, clientPort: 0,
                                      configuration: configuration, group: group)
        #expect(throws: VMCoreNetError.self) { try send.wait() }
        try waitForDumps(server, 1)
        let info = String(decoding: received("info.127.0.0.1.0") ?? Data(), as: UTF8.self)
        #expect(info.hasSuffix("Dump incomplete: client timed out\n"))
        let partial = received("vmcore.127.0.0.1.0") ?? Data()
        #expect(partial.count > 0 && partial.count < bytes.count)
        #expect(partial == Data(bytes.prefix(partial.count)))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dumps.appendingPathComponent("vmcore.127.0.0.1.last").path)) == nil)
    }
}

/// The two commands, as separate processes.
@Suite("vmcore netdumpd and vmcore netdump send", .serialized, .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct NetdumpCLITests {
    @Test("a minidump sent by the client command arrives whole, and vmcore reads it; SIGTERM stops the server")
    func endToEnd() throws {
        let dir = try temporaryDirectory()
        let dumps = dir.appendingPathComponent("dumps")
        try FileManager.default.createDirectory(at: dumps, withIntermediateDirectories: true)
        let sample = MinidumpSample(MinidumpLayout(machine: .arm64, version: 3))
        let dumpPath = dir.appendingPathComponent("vmcore.0").path
        try Data(sample.bytes).write(to: URL(fileURLWithPath: dumpPath))
        let port = try freeUDPPort()
        let pidfile = dir.appendingPathComponent("netdumpd.pid").path
        let log = dir.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let server = Process()
        server.executableURL = vmcoreBinary!
        server.arguments = ["netdumpd", "-d", dumps.path, "-a", "127.0.0.1", "-p", "\(port)", "-P", pidfile, "--log-format", "json"]
        server.standardError = try FileHandle(forWritingTo: log)
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        for _ in 0..<750 where !(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self).contains("server.listening")) {
            usleep(20_000)
        }
        #expect(try String(contentsOfFile: pidfile, encoding: .utf8) == "\(server.processIdentifier)\n")

        let send = try vmcore(["netdump", "send", "--server", "127.0.0.1:\(port)", "--client-port", "0", "--json", dumpPath])
        #expect(send.status == 0, "\(send.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: send.stdout) as? [String: Any])
        #expect(result["bytes"] as? Int == sample.bytes.count)

        var received: Data?
        for _ in 0..<750 {
            if String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self).contains("dump.complete") {
                received = FileManager.default.contents(atPath: dumps.appendingPathComponent("vmcore.127.0.0.1.0").path)
                break
            }
            usleep(20_000)
        }
        #expect(received == Data(sample.bytes))
        let info = try String(contentsOfFile: dumps.appendingPathComponent("info.127.0.0.1.0").path, encoding: .utf8)
        #expect(info.contains("  Architecture: aarch64\n  Architecture Version: 1\n"))
        #expect(info.hasSuffix("Dump complete\n"))
        let read = try vmcore(["info", dumps.appendingPathComponent("vmcore.127.0.0.1.last").path])
        #expect(read.text.contains("FreeBSD/arm64 minidump v3"))

        server.terminate()
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: pidfile))
        let lines = String(decoding: try Data(contentsOf: log), as: UTF8.self).split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    @Test("bad arguments are refused before anything starts")
    func usage() throws {
        #expect(try vmcore(["netdump", "send", "--server", "[::1", "x"]).status != 0)
        #expect(try vmcore(["netdump", "send", "--server", "127.0.0.1", "--window", "65", "x"]).status != 0)
        #expect(try vmcore(["netdumpd", "-d", "/nonexistent/dir", "-a", "127.0.0.1", "-p", "0"]).stderr.contains("cannot open the dump directory"))
        #expect(try vmcore(["netdumpd", "-d", "/tmp", "--max-size", "lots"]).status != 0)
    }
}

/// A UDP port that was free a moment ago.
func freeUDPPort() throws -> Int {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let channel = try DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
    let port = channel.localAddress!.port!
    try channel.close().wait()
    return port
}
