// netdump-relay LISTEN_HOST SERVER_HOST SERVER_PORT LOSS DUPLICATION REORDERING [SEED]
//
// Runs LossyUDPRelay until its standard input ends; prints "port N" once listening, and
// the counters at the end.
import NIOCore
import NIOPosix
import VMCoreTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Writes a line to standard output at once (the benchmark reads it through a pipe).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress!, $0.count) }
}

let args = CommandLine.arguments
guard args.count >= 7, let serverPort = Int(args[3]), let loss = Double(args[4]), let dup = Double(args[5]),
      let reorder = Double(args[6]) else {
    print("usage: netdump-relay LISTEN_HOST SERVER_HOST SERVER_PORT LOSS DUPLICATION REORDERING [SEED]")
    exit(2)
}
let seed = args.count > 7 ? UInt64(args[7]) ?? 1 : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try SocketAddress(ipAddress: args[2], port: serverPort)
let impairment = LossyUDPRelay.Impairment(loss: loss, duplication: dup, reordering: reorder, seed: seed)
let relay = try LossyUDPRelay.start(host: args[1], server: server, impairment: impairment, group: group).wait()
say("port \(relay.address.port!)")

// Runs until standard input ends (the benchmark closes it), then prints the counters.
var byte: UInt8 = 0
while read(0, &byte, 1) > 0 {}
let c = try relay.counters.wait()
say("forwarded \(c.forwarded) dropped \(c.dropped) duplicated \(c.duplicated) reordered \(c.reordered)")
exit(0)
