import Foundation
import NIOCore
import NIOEmbedded
import Testing
import VMCore
import VMCoreNet

/// The server's protocol, on embedded channels: no sockets, a fake clock.
@Suite("netdumpd session state machine")
struct NetdumpServerTests {
    let client = EmbeddedNetdumpServer.client()

    /// Herald, data in packets of 1448 bytes, header, FINISHED; returns the acks per step.
    func sendDump(_ s: EmbeddedNetdumpServer, from client: SocketAddress, payload: [UInt8], header: [UInt8]? = nil,
                  key: [UInt8] = [], firstSeqno: UInt32 = 1) throws {
        var seqno = firstSeqno
        #expect(try s.herald(from: client, seqno: seqno) == [seqno])
        seqno += 1
        if !key.isEmpty {
            #expect(try s.send(netdumpPacket(.ekcdKey, seqno: seqno, key), from: client) == [seqno])
            seqno += 1
        }
        for start in stride(from: 0, to: payload.count, by: 1448) {
            let chunk = Array(payload[start..<min(payload.count, start + 1448)])
            #expect(try s.send(netdumpPacket(.vmcore, seqno: seqno, offset: UInt64(start), chunk), from: client) == [seqno])
            seqno += 1
        }
        #expect(try s.send(netdumpPacket(.kernelDumpHeader, seqno: seqno, header ?? testHeader(length: UInt64(payload.count))), from: client) == [seqno])
        seqno += 1
        #expect(try s.send(netdumpPacket(.finished, seqno: seqno), from: client) == [seqno])
    }

    @Test("a whole dump: every packet acked, data at its offsets, info, bounds and .last links")
    func wholeDump() throws {
        let s = try EmbeddedNetdumpServer()
        let payload = patternBytes(10_000)
        try sendDump(s, from: client, payload: payload)
        #expect(s.file("vmcore.198.51.100.7.0") == Data(payload))
        #expect(s.link("vmcore.198.51.100.7.last") == "vmcore.198.51.100.7.0")
        #expect(s.link("info.198.51.100.7.last") == "info.198.51.100.7.0")
        #expect(s.text("bounds.198.51.100.7") == "1\n")
        let info = try #require(s.text("info.198.51.100.7.0"))
        #expect(info.hasPrefix("""
            Dump from 198.51.100.7 [198.51.100.7]
              Architecture: amd64
              Architecture Version: 2
              Dump Length: 10000B (0 MB)
              Blocksize: 4096
              Compression: none
              Dumptime: 
            """))
        #expect(info.hasSuffix("""
              Hostname: crashbox.example.org
              Version String: FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC
              Panic String: page fault while in kernel mode
              Header Parity Check: Pass
            Dump complete

            """))
        #expect(s.core.completeDumps == 1)
        // The session's acks come from its own socket, bound to the herald's destination on port 0.
        #expect(s.factory.locals[client] == (try SocketAddress(ipAddress: "192.0.2.1", port: 0)))
    }

    @Test("the next dump from the host gets the next index; bounds says which")
    func secondDump() throws {
        let s = try EmbeddedNetdumpServer()
        try sendDump(s, from: client, payload: patternBytes(3000))
        s.loop.advanceTime(by: .seconds(40))  // the finished session lingers 30 s, then closes
        try sendDump(s, from: client, payload: patternBytes(5000, seed: 2), firstSeqno: 1)
        #expect(s.file("vmcore.198.51.100.7.1") == Data(patternBytes(5000, seed: 2)))
        #expect(s.link("vmcore.198.51.100.7.last") == "vmcore.198.51.100.7.1")
        #expect(s.text("bounds.198.51.100.7") == "2\n")
    }

    @Test("data arriving out of order and twice lands at its offsets")
    func outOfOrder() throws {
        let s = try EmbeddedNetdumpServer()
        let payload = patternBytes(1448 * 6)
        try s.herald(from: client)
        for (i, chunk) in [3, 0, 5, 1, 1, 4, 2, 3].enumerated() {
            let bytes = Array(payload[chunk * 1448..<(chunk + 1) * 1448])
            #expect(try s.send(netdumpPacket(.vmcore, seqno: UInt32(2 + i), offset: UInt64(chunk * 1448), bytes), from: client) == [UInt32(2 + i)])
        }
        try s.send(netdumpPacket(.kernelDumpHeader, seqno: 20, testHeader(length: UInt64(payload.count))), from: client)
        try s.send(netdumpPacket(.finished, seqno: 21), from: client)
        #expect(s.file("vmcore.198.51.100.7.0") == Data(payload))
        #expect(s.text("info.198.51.100.7.0")?.hasSuffix("Dump complete\n") == true)
    }

    @Test("the EKCD key goes to key.<host>.N (0400) and an encrypted dump is renamed vmcore_encrypted")
    func encrypted() throws {
        let s = try EmbeddedNetdumpServer()
        let key = patternBytes(4096, seed: 9)
        let payload = patternBytes(8192, seed: 3)
        try sendDump(s, from: client, payload: payload, header: testHeader(length: 8192, keySize: 4096), key: key)
        #expect(s.file("key.198.51.100.7.0") == Data(key))
        let mode = try FileManager.default.attributesOfItem(atPath: s.directory.appendingPathComponent("key.198.51.100.7.0").path)[.posixPermissions] as? Int
        #expect(mode == 0o400)
        #expect(s.file("vmcore.198.51.100.7.0") == nil)
        #expect(s.file("vmcore_encrypted.198.51.100.7.0") == Data(payload))
        #expect(s.link("vmcore.198.51.100.7.last") == "vmcore_encrypted.198.51.100.7.0")
    }

    @Test("a compressed dump gets its suffix and is cut to dumplength", arguments: [
        (KernelDumpHeader.Compression.gzip, ".gz", "gzip"), (.zstd, ".zst", "zstd"),
    ])
    func compressed(compression: KernelDumpHeader.Compression, suffix: String, name: String) throws {
        let s = try EmbeddedNetdumpServer()
        // The kernel writes whole 4096-byte blocks; dumplength is the exact compressed size.
        var payload = patternBytes(6000)
        payload += [UInt8](repeating: 0, count: 8192 - payload.count)
        try sendDump(s, from: client, payload: payload, header: testHeader(length: 6000, compression: compression))
        #expect(s.file("vmcore.198.51.100.7.0") == nil)
        #expect(s.file("vmcore.198.51.100.7.0" + suffix) == Data(payload.prefix(6000)))
        #expect(s.link("vmcore.198.51.100.7.last") == "vmcore.198.51.100.7.0" + suffix)
        #expect(s.text("info.198.51.100.7.0")?.contains("  Compression: \(name)\n") == true)
    }

    @Test("encrypted and compressed: vmcore_encrypted.<host>.N.zst, as netdumpd's two renames make it")
    func encryptedCompressed() throws {
        let s = try EmbeddedNetdumpServer()
        let payload = patternBytes(4096, seed: 4)
        try sendDump(s, from: client, payload: payload, header: testHeader(length: 4000, keySize: 4096, compression: .zstd),
                     key: patternBytes(4096, seed: 5))
        #expect(s.file("vmcore_encrypted.198.51.100.7.0.zst") == Data(payload.prefix(4000)))
        #expect(s.link("vmcore.198.51.100.7.last") == "vmcore_encrypted.198.51.100.7.0.zst")
    }

    @Test("a late duplicate of the last block does not grow a compressed dump again")
    func compressedLateDuplicate() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        let payload = patternBytes(4096)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, payload), from: client)
        try s.send(netdumpPacket(.kernelDumpHeader, seqno: 3, testHeader(length: 3000, compression: .zstd)), from: client)
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, payload), from: client) == [2])
        try s.send(netdumpPacket(.finished, seqno: 4), from: client)
        #expect(s.file("vmcore.198.51.100.7.0.zst") == Data(payload.prefix(3000)))
    }

    @Test("a retransmitted herald before any data is acked again from the session port")
    func repeatedHeraldBeforeData() throws {
        let s = try EmbeddedNetdumpServer()
        #expect(try s.herald(from: client, seqno: 1) == [1])
        #expect(try s.herald(from: client, seqno: 1) == [1])
        #expect(s.core.sessionCount == 1 && s.names().isEmpty)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1, 2, 3]), from: client)
        #expect(s.names().contains("vmcore.198.51.100.7.0"))
    }

    @Test("a herald after data starts a new dump; the old one is kept and labelled incomplete")
    func heraldAfterData() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, patternBytes(1000)), from: client)
        #expect(try s.herald(from: client, seqno: 1) == [1])
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, patternBytes(500, seed: 5)), from: client)
        #expect(s.text("info.198.51.100.7.0")?.hasSuffix("Dump incomplete: client started a new dump\n") == true)
        #expect(s.file("vmcore.198.51.100.7.0") == Data(patternBytes(1000)))
        #expect(s.file("vmcore.198.51.100.7.1") == Data(patternBytes(500, seed: 5)))
        #expect(s.link("vmcore.198.51.100.7.last") == nil)
    }

    @Test("a silent client times out after 600 s: partial dump kept, labelled incomplete, no .last link")
    func timeout() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, patternBytes(2000)), from: client)
        s.loop.advanceTime(by: .seconds(590))
        #expect(s.core.sessionCount == 1)
        s.loop.advanceTime(by: .seconds(20))
        #expect(s.core.sessionCount == 0)
        #expect(s.file("vmcore.198.51.100.7.0") == Data(patternBytes(2000)))
        #expect(s.text("info.198.51.100.7.0") == "Dump from 198.51.100.7 [198.51.100.7]\nDump incomplete: client timed out\n")
        #expect(s.link("vmcore.198.51.100.7.last") == nil && s.link("info.198.51.100.7.last") == nil)
        #expect(s.core.incompleteDumps == 1)
        #expect(s.logs.count("dump.incomplete") == 1)
    }

    @Test("a session whose socket closes under it is labelled incomplete")
    func socketClosed() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1, 2, 3]), from: client)
        try s.factory.channels[client]!.close().wait()
        #expect(s.core.sessionCount == 0)
        #expect(s.text("info.198.51.100.7.0")?.hasSuffix("Dump incomplete: the session's socket closed\n") == true)
    }

    @Test("the timeout is configurable")
    func shortTimeout() throws {
        let s = try EmbeddedNetdumpServer { $0.clientTimeout = .seconds(5); $0.checkInterval = .seconds(1) }
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1]), from: client)
        s.loop.advanceTime(by: .seconds(7))
        #expect(s.text("info.198.51.100.7.0")?.hasSuffix("Dump incomplete: client timed out\n") == true)
    }

    @Test("FINISHED without the header, or with bytes missing, is labelled incomplete and not linked")
    func finishedIncomplete() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, patternBytes(100)), from: client)
        #expect(try s.send(netdumpPacket(.finished, seqno: 3), from: client) == [3])
        #expect(s.text("info.198.51.100.7.0")?.hasSuffix("Dump incomplete: no kernel dump header was received\n") == true)
        #expect(s.link("vmcore.198.51.100.7.last") == nil)

        let other = EmbeddedNetdumpServer.client("198.51.100.8")
        try s.herald(from: other)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, patternBytes(100)), from: other)
        try s.send(netdumpPacket(.vmcore, seqno: 3, offset: 200, patternBytes(100)), from: other)
        try s.send(netdumpPacket(.kernelDumpHeader, seqno: 4, testHeader(length: 300)), from: other)
        try s.send(netdumpPacket(.finished, seqno: 5), from: other)
        #expect(s.text("info.198.51.100.8.0")?.hasSuffix("Dump incomplete: received 200 of the 300 bytes the header announces\n") == true)
        #expect(s.link("vmcore.198.51.100.8.last") == nil)
        #expect(s.core.incompleteDumps == 2 && s.core.completeDumps == 0)
    }

    @Test("a retransmitted FINISHED or KDH is acked again and changes nothing")
    func repeatedFinish() throws {
        let s = try EmbeddedNetdumpServer()
        try sendDump(s, from: client, payload: patternBytes(100))
        let info = s.text("info.198.51.100.7.0")
        #expect(try s.send(netdumpPacket(.finished, seqno: 5), from: client) == [5])
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 6, offset: 0, [9]), from: client) == [])
        #expect(s.text("info.198.51.100.7.0") == info)
        s.loop.advanceTime(by: .seconds(31))
        #expect(s.core.sessionCount == 0)

        let other = EmbeddedNetdumpServer.client("198.51.100.8")
        try s.herald(from: other)
        let header = testHeader(length: 0)
        #expect(try s.send(netdumpPacket(.kernelDumpHeader, seqno: 2, header), from: other) == [2])
        #expect(try s.send(netdumpPacket(.kernelDumpHeader, seqno: 2, header), from: other) == [2])
        #expect(s.text("info.198.51.100.8.0")?.components(separatedBy: "Architecture:").count == 2)
    }

    @Test("a KDH shorter than 512 bytes is acked and noted, as netdumpd does")
    func shortHeader() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        #expect(try s.send(netdumpPacket(.kernelDumpHeader, seqno: 2, [UInt8](repeating: 0, count: 100)), from: client) == [2])
        #expect(s.text("info.198.51.100.7.0")?.hasSuffix("Bad KDH: packet too small\n") == true)
        // Only once: more of them are dropped, and the info file does not grow.
        #expect(try s.send(netdumpPacket(.kernelDumpHeader, seqno: 3, [UInt8](repeating: 0, count: 100)), from: client) == [])
        #expect(s.text("info.198.51.100.7.0")?.components(separatedBy: "Bad KDH").count == 2)
    }

    @Test("header strings cannot forge info lines")
    func hostileHeaderStrings() throws {
        let s = try EmbeddedNetdumpServer()
        let header = KernelDumpHeader(architecture: "amd64", architectureVersion: 2, dumpLength: 0, dumpTime: 0, blockSize: 4096,
                                      hostname: "evil\nDump complete", versionString: "FreeBSD\nDump complete\n",
                                      panicString: "x\nDump complete").encoded()
        try s.herald(from: client)
        try s.send(netdumpPacket(.kernelDumpHeader, seqno: 2, header), from: client)
        let lines = try #require(s.text("info.198.51.100.7.0")).split(separator: "\n")
        #expect(!lines.contains("Dump complete"))
        #expect(lines.contains("  Hostname: evil?Dump complete"))
        #expect(lines.contains("    Dump complete"))
    }

    @Test("the script runs with reason, ip, hostname, info and core file, in the dump directory")
    func script() throws {
        let dir = try temporaryDirectory()
        let script = dir.appendingPathComponent("record.sh")
        try "#!/bin/sh\necho \"$PWD $@\" >> \(dir.path)/calls\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let s = try EmbeddedNetdumpServer(directory: dir) { $0.script = script.path }
        try sendDump(s, from: client, payload: patternBytes(100))
        let other = EmbeddedNetdumpServer.client("198.51.100.8")
        try s.herald(from: other)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1]), from: other)
        s.loop.advanceTime(by: .seconds(611))
        var calls: [String] = []
        for _ in 0..<100 {
            calls = (s.text("calls") ?? "").split(separator: "\n").map(String.init)
            if calls.count == 2 { break }
            usleep(20_000)
        }
        let real = FileSystem.canonicalPath(dir.path)!
        #expect(Set(calls) == [
            "\(real) success 198.51.100.7 198.51.100.7 ./info.198.51.100.7.0 ./vmcore.198.51.100.7.0",
            "\(real) timeout 198.51.100.8 198.51.100.8 ./info.198.51.100.8.0 ./vmcore.198.51.100.8.0",
        ])
    }

    @Test("a herald's path is honoured when it is a directory inside the dump directory")
    func heraldPath() throws {
        let s = try EmbeddedNetdumpServer()
        try FileManager.default.createDirectory(at: s.directory.appendingPathComponent("lab/box1"), withIntermediateDirectories: true)
        try s.herald(from: client, path: Array("lab/box1".utf8) + [0])
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [7]), from: client)
        #expect(s.file("lab/box1/vmcore.198.51.100.7.0") == Data([7]))
        #expect(s.file("lab/box1/info.198.51.100.7.0") != nil)
    }
}

/// Hostile and broken input: each is dropped (never acked), counted, logged once, and
/// nothing lands outside the dump directory.
@Suite("netdumpd under hostile input")
struct NetdumpHostileTests {
    let client = EmbeddedNetdumpServer.client()

    @Test("truncated headers are dropped, on the herald port and on a session")
    func truncated() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald.writeInbound(AddressedEnvelope(remoteAddress: client, data: rawDatagram([0, 0, 0, 1, 0, 0])))
        #expect(s.core.sessionCount == 0)
        try s.herald(from: client)
        #expect(try s.send(rawDatagram([0, 0, 0, 3, 0, 0, 0, 2]), from: client) == [])
        #expect(s.core.drops.totals[.truncated] == 2)
        #expect(s.logs.count("packet.dropped") == 1)
    }

    @Test("a length field that lies is dropped")
    func lyingLength() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        var b = netdumpPacket(.vmcore, seqno: 2, offset: 0, [UInt8](repeating: 1, count: 100))
        b.setInteger(UInt32(1448), at: 16)
        #expect(try s.send(b, from: client) == [])
        b.setInteger(UInt32(50), at: 16)
        #expect(try s.send(b, from: client) == [])
        #expect(s.core.drops.totals[.lengthMismatch] == 2)
        #expect(s.names().isEmpty)
    }

    @Test("offsets beyond the size limit are dropped, and offsets that would wrap")
    func offsetBeyondLimit() throws {
        let s = try EmbeddedNetdumpServer { $0.limits.maxDumpSize = 1 << 20 }
        try s.herald(from: client)
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 1 << 20, [1]), from: client) == [])
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 3, offset: (1 << 20) - 1, [1, 2]), from: client) == [])
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 4, offset: UInt64.max, [1]), from: client) == [])
        #expect(try s.send(netdumpPacket(.ekcdKey, seqno: 5, offset: 1 << 40, [1]), from: client) == [])
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 6, offset: (1 << 20) - 1, [1]), from: client) == [6])
        #expect(s.core.drops.totals[.outOfRange] == 4)
        let size = try FileManager.default.attributesOfItem(atPath: s.directory.appendingPathComponent("vmcore.198.51.100.7.0").path)[.size] as? Int
        #expect(size == 1 << 20)
    }

    @Test("unknown types are dropped, and heralds on a session port")
    func unknownType() throws {
        let s = try EmbeddedNetdumpServer()
        try s.herald(from: client)
        var b = netdumpPacket(.vmcore, seqno: 2, offset: 0, [1])
        b.setInteger(UInt32(99), at: 0)
        #expect(try s.send(b, from: client) == [])
        #expect(try s.send(netdumpPacket(.herald, seqno: 3), from: client) == [])
        try s.herald.writeInbound(AddressedEnvelope(remoteAddress: client, data: netdumpPacket(.vmcore, seqno: 4, [1])))
        #expect(s.core.drops.totals[.unknownType] == 1 && s.core.drops.totals[.unexpected] == 2)
    }

    @Test("scattered offsets run into the range limit, not into memory")
    func scattered() throws {
        let s = try EmbeddedNetdumpServer { $0.limits.maxRanges = 16 }
        try s.herald(from: client)
        var acked = 0
        for i in 0..<40 { acked += try s.send(netdumpPacket(.vmcore, seqno: UInt32(2 + i), offset: UInt64(i) * 8192, [1]), from: client).count }
        #expect(acked == 16)
        #expect(s.core.drops.totals[.outOfRange] == 24)
    }

    @Test("a flood of heralds is rate-limited, sessions are capped, and only data-less sessions make room")
    func heraldFlood() throws {
        let s = try EmbeddedNetdumpServer { $0.maxSessions = 8; $0.heraldsPerSecond = 5; $0.heraldBurst = 10 }
        // A real dump in progress.
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, patternBytes(100)), from: client)
        // 1000 heralds from 1000 (spoofed) clients in one instant.
        for i in 0..<1000 {
            try s.herald.writeInbound(AddressedEnvelope(remoteAddress: EmbeddedNetdumpServer.client("203.0.113.\(i % 250)", port: 1000 + i),
                                                        data: netdumpPacket(.herald, seqno: 1)))
        }
        #expect(s.core.sessionCount <= 8)
        #expect(s.core.drops.totals[.overloaded] == 991)
        #expect(s.logs.count("packet.dropped") == 1)
        #expect(s.core.session(for: client) != nil)
        // The dump in progress goes on, and the flood left nothing on disk.
        #expect(try s.send(netdumpPacket(.vmcore, seqno: 3, offset: 100, patternBytes(100, seed: 2)), from: client) == [3])
        #expect(s.names().allSatisfy { $0.contains("198.51.100.7") })
        // The summary comes with the next check.
        s.loop.advanceTime(by: .seconds(10))
        #expect(s.logs.all.contains { $0.contains("event=packets.dropped kind=overloaded count=990 total=991") })
    }

    @Test("a host name cannot lead outside the dump directory")
    func hostNameEscape() throws {
        let outside = try temporaryDirectory()
        let dumps = outside.appendingPathComponent("dumps")
        try FileManager.default.createDirectory(at: dumps, withIntermediateDirectories: true)
        let s = try EmbeddedNetdumpServer(directory: dumps) { $0.hostName = { _ in "../../escaped/../x" } }
        try s.herald(from: client)
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1]), from: client)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["dumps"])
        #expect(s.names().contains("vmcore.___.._escaped_.._x.0"))
    }

    @Test("a herald path that leaves the dump directory is refused and the dump lands in it",
          arguments: ["../outside", "/tmp", "a/../../outside", "link", "link/sub", "missing/dir", "file"])
    func heraldPathEscape(path: String) throws {
        let outside = try temporaryDirectory()
        let dumps = outside.appendingPathComponent("dumps")
        try FileManager.default.createDirectory(at: dumps.appendingPathComponent("a"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside.appendingPathComponent("outside/sub"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dumps.appendingPathComponent("link").path, withDestinationPath: outside.appendingPathComponent("outside").path)
        _ = FileManager.default.createFile(atPath: dumps.appendingPathComponent("file").path, contents: Data())
        let s = try EmbeddedNetdumpServer(directory: dumps)
        try s.herald(from: client, path: Array(path.utf8) + [0])
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1]), from: client)
        #expect(s.file("vmcore.198.51.100.7.0") == Data([1]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.appendingPathComponent("outside").path) == ["sub"])
        #expect(s.logs.count("herald.path_refused") == 1)
    }

    @Test("a herald path without its NUL is ignored, as netdumpd ignores it")
    func heraldPathWithoutNUL() throws {
        let s = try EmbeddedNetdumpServer()
        try FileManager.default.createDirectory(at: s.directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try s.herald(from: client, path: Array("sub".utf8))
        try s.send(netdumpPacket(.vmcore, seqno: 2, offset: 0, [1]), from: client)
        #expect(s.file("vmcore.198.51.100.7.0") == Data([1]))
    }

    @Test("a session socket that cannot be made leaves no session behind")
    func socketFailure() throws {
        let s = try EmbeddedNetdumpServer()
        s.factory.fail = true
        try s.herald.writeInbound(AddressedEnvelope(remoteAddress: client, data: netdumpPacket(.herald, seqno: 1)))
        #expect(s.core.sessionCount == 0)
        #expect(s.logs.count("session.socket_failed") == 1)
    }
}
