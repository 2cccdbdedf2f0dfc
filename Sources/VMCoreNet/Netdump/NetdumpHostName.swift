import NIOCore

/// The `<host>` in the server's file names (`vmcore.<host>.N`).
///
/// netdumpd asks reverse DNS (`cap_getnameinfo()` with `NI_NAMEREQD`), keeps the name up to
/// its first dot, and falls back to the numeric address (`alloc_client()`). We use the numeric
/// address: no resolver to block the event loop or to be lied to. Whatever the name's source,
/// it passes through `fileComponent` before it names a file.
public enum NetdumpHostName {
    /// The client's address as text, without the port: `192.0.2.7`, `2001:db8::7`; an
    /// IPv4-mapped IPv6 address is shown as the IPv4 address it maps.
    public static func numeric(_ address: SocketAddress) -> String {
        var text = address.ipAddress ?? "unknown"
        if text.lowercased().hasPrefix("::ffff:") && text.contains(".") { text.removeFirst(7) }
        return text
    }

    /// `192.0.2.7:20024` or `[2001:db8::7]:20024`: how logs and errors name a peer.
    public static func display(_ address: SocketAddress) -> String {
        let ip = numeric(address)
        let port = address.port.map { ":\($0)" } ?? ""
        return ip.contains(":") ? "[\(ip)]\(port)" : ip + port
    }

    /// The name for files: the numeric address made safe as one path component.
    public static func forFiles(_ address: SocketAddress) -> String {
        fileComponent(numeric(address))
    }

    /// `name` made safe to use inside a file name: IPv6 colons become `-`; anything but ASCII
    /// letters, digits, `.`, `-` and `_` becomes `_`; leading dots become `_` (no hidden
    /// files, no `..`); at most 64 characters; never empty. The result has no `/` and cannot
    /// name a parent directory, whatever `name` holds.
    public static func fileComponent(_ name: String) -> String {
        var out: [UInt8] = []
        for byte in name.utf8.prefix(64) {
            switch byte {
            case UInt8(ascii: ":"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                out.append(byte)
            default: out.append(UInt8(ascii: "_"))
            }
        }
        var i = 0
        while i < out.count && out[i] == UInt8(ascii: ".") { out[i] = UInt8(ascii: "_"); i += 1 }
        return out.isEmpty ? "unknown" : String(decoding: out, as: UTF8.self)
    }
}
