/// The netdump wire protocol's constants (freebsd.md §7.1).
///
/// FreeBSD kernels without a local dump device send their dump over UDP: `netdump(4)` on top of
/// `debugnet(4)`. Sources: `sys/netinet/netdump/netdump.h` and `sys/net/debugnet.h`,
/// `debugnet_int.h` in FreeBSD; `netdumpd.h` in netdumpd (markjdb/netdumpd), which carries its
/// own copy of the same definitions.
public enum Netdump {
    /// `NETDUMP_PORT`: where the server listens for heralds.
    public static let heraldPort = 20023
    /// `NETDUMP_ACKPORT`: the port the kernel sends from and expects every ack on.
    public static let clientPort = 20024
    /// `NETDUMP_DATASIZE`: the largest payload netdumpd accepts in one packet (its receive
    /// buffer is a 24-byte header plus 4096 bytes, so anything longer fails its size check).
    public static let maxPayload = 4096
    /// `DEBUGNET_MAX_IN_FLIGHT`: the kernel tracks acks in a 64-bit bitmap.
    public static let maxInFlight = 64
    /// `sizeof(struct udpiphdr)`: the IPv4 and UDP headers `debugnet_send()` takes off the MTU.
    public static let ipv4Overhead = 28
    /// The IPv6 and UDP headers (40 + 8), the same subtraction for an IPv6 path.
    public static let ipv6Overhead = 48
    /// The kernel's MTU-based payload: `if_mtu − sizeof(struct udpiphdr) − sizeof(struct
    /// debugnet_msg_hdr)`, 1448 bytes at an MTU of 1500 (`debugnet_send()`).
    public static func payloadSize(mtu: Int, ipv6: Bool = false) -> Int {
        mtu - (ipv6 ? ipv6Overhead : ipv4Overhead) - NetdumpMessageHeader.size
    }
    /// `npolls` × 0.5 ms: how long the kernel waits for acks before retransmitting (about 1 s,
    /// `net.debugnet.npolls` = 2000).
    public static let retransmitSeconds: Int64 = 1
    /// `net.debugnet.nretries`: retransmissions before the kernel gives up with `ETIMEDOUT`.
    public static let retries = 10
    /// netdumpd's `CLIENT_TIMEOUT`: seconds without a packet before a dump is abandoned.
    public static let clientTimeoutSeconds: Int64 = 600
    /// netdumpd's `CLIENT_TPASS`: how often it looks for silent clients.
    public static let timeoutCheckSeconds: Int64 = 10
    /// netdumpd's `MAX_DUMPS`: indexes tried per host when `bounds.<host>` does not help.
    public static let maxDumpsPerHost = 1024
    /// `MAXPATHLEN`: the longest herald path netdumpd honours (`cap_herald.c`).
    public static let maxPathLength = 1024
    /// `MAXDUMPPGS * PAGE_SIZE` (64 KiB on amd64): the kernel's `nd_buf`, which bounds the
    /// EKCD key it will send (`netdump_start()` refuses larger keys).
    public static let maxKeySize = 65536
}

/// `mh_type`: the five messages of a netdump (`NETDUMP_HERALD` … `NETDUMP_EKCD_KEY`;
/// debugnet calls 1–3 `DEBUGNET_HERALD`, `DEBUGNET_FINISHED`, `DEBUGNET_DATA`).
public enum NetdumpMessageType: UInt32, Sendable, CaseIterable {
    /// Opens a dump; its payload is the optional path (`net.netdump.path`) with its NUL.
    case herald = 1
    /// Closes a dump; no payload. Sent by the server, it tells the client to stop.
    case finished = 2
    /// Dump bytes, to be written at `mh_offset` of the core file.
    case vmcore = 3
    /// The 512-byte `struct kerneldumpheader`, sent once after all the data.
    case kernelDumpHeader = 4
    /// The EKCD key block (`struct kerneldumpkey`, padded), sent before the data.
    case ekcdKey = 5

    /// The name FreeBSD's headers give the type.
    public var name: String {
        switch self {
        case .herald: "HERALD"
        case .finished: "FINISHED"
        case .vmcore: "VMCORE"
        case .kernelDumpHeader: "KDH"
        case .ekcdKey: "EKCD_KEY"
        }
    }
}
