/// The system's real-time clock and the C library's calendar, for log lines and for dates
/// shown the way C tools show them.
public enum WallClock {
    /// Now (`CLOCK_REALTIME`): seconds since the epoch and nanoseconds within that second.
    public static func now() -> (seconds: Int64, nanoseconds: Int64) {
        SystemCalls.realTime()
    }

    /// `seconds` since the epoch in UTC (`gmtime_r`): month 1–12, day 1–31.
    public static func utc(_ seconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        SystemCalls.utc(seconds)
    }

    /// `ctime(3)` of `seconds` in local time, with its newline: `Tue Nov 14 22:13:20 2023\n`;
    /// nil when the C library cannot show it.
    public static func ctime(_ seconds: Int64) -> String? {
        SystemCalls.ctime(seconds)
    }
}
