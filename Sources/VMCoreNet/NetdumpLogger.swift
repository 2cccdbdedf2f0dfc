import VMCore

/// Structured logs: one line per event, `key=value` pairs (logfmt) or one JSON object.
///
///     time=2025-01-02T03:04:05.678Z level=info event=dump.started client=192.0.2.7:20024 file=vmcore.192.0.2.7.0
public struct NetdumpLogger: Sendable {
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }
    }

    public enum Format: String, Sendable { case keyValue = "text", json }

    public var minimumLevel: Level
    public var format: Format
    /// Receives each finished line (without its newline). The library never writes the lines
    /// anywhere itself: the program decides (the `vmcore netdumpd` command, standard error).
    public var sink: @Sendable (String) -> Void

    public init(minimumLevel: Level = .info, format: Format = .keyValue, sink: @escaping @Sendable (String) -> Void) {
        self.minimumLevel = minimumLevel
        self.format = format
        self.sink = sink
    }

    /// Discards everything.
    public static let silent = NetdumpLogger(minimumLevel: .error, sink: { _ in })

    public func log(_ level: Level, _ event: String, _ fields: (String, String)...) {
        log(level, event, fields)
    }

    public func log(_ level: Level, _ event: String, _ fields: [(String, String)]) {
        guard level >= minimumLevel else { return }
        let all = [("time", Self.timestamp()), ("level", level.description), ("event", event)] + fields
        switch format {
        case .keyValue:
            sink(all.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " "))
        case .json:
            sink("{" + all.map { "\"\(Self.jsonEscaped($0.0))\":\"\(Self.jsonEscaped($0.1))\"" }.joined(separator: ",") + "}")
        }
    }

    static func logfmtValue(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "=" && $0 != "\\" }
        return plain ? value : "\"" + jsonEscaped(value) + "\""
    }

    static func jsonEscaped(_ value: String) -> String {
        var out = ""
        for s in value.unicodeScalars {
            switch s {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if s.value < 0x20 || s.value == 0x7f {
                    let hex = String(s.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out
    }

    /// Now, in UTC, to the millisecond: `2025-01-02T03:04:05.678Z`.
    static func timestamp() -> String {
        let now = WallClock.now()
        let t = WallClock.utc(now.seconds)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2))T"
            + "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2)).\(pad(Int(now.nanoseconds / 1_000_000), 3))Z"
    }
}

/// Dropped packets counted by kind, so a flood costs a few log lines, not one per packet.
///
/// The first drop of each kind in a reporting interval is logged in full; the rest are only
/// counted, and `report()` sums them up at the end of the interval. The table has one entry
/// per `VMCoreNetError.Kind`: it cannot grow.
public struct NetdumpDropCounters: Sendable {
    public private(set) var totals: [VMCoreNetError.Kind: UInt64] = [:]
    private var sinceReport: [VMCoreNetError.Kind: UInt64] = [:]

    public init() {}

    /// Counts one drop; true if it is the first of its kind since the last report.
    public mutating func count(_ kind: VMCoreNetError.Kind) -> Bool {
        totals[kind, default: 0] += 1
        sinceReport[kind, default: 0] += 1
        return sinceReport[kind] == 1
    }

    /// The kinds with drops not logged in full since the last report, and how many; resets.
    public mutating func report() -> [(kind: VMCoreNetError.Kind, suppressed: UInt64, total: UInt64)] {
        defer { sinceReport.removeAll(keepingCapacity: true) }
        return VMCoreNetError.Kind.allCases.compactMap { kind in
            guard let n = sinceReport[kind], n > 1 else { return nil }
            return (kind, n - 1, totals[kind] ?? 0)
        }
    }

    /// All drops so far.
    public var total: UInt64 { totals.values.reduce(0, +) }
}
