/// Arithmetic on values that come from a file, a packet or dumped memory.
///
/// Swift traps on overflow, and a trap is the worst answer a crash-dump tool can give a
/// damaged dump: no message, no file, no offset. Sums, products and roundings of file-supplied
/// offsets, sizes, counts, PFNs and addresses that could overflow go through these helpers,
/// which give nil instead of trapping; the caller turns that into its own error (naming the
/// file, the offset and the field) or treats the value as "not there".
public enum Checked {
    /// `value` divided by `unit`, rounded up, without forming `value + unit - 1`.
    @inline(__always)
    public static func divideRoundingUp(_ value: UInt64, _ unit: UInt64) -> UInt64 {
        value / unit + (value % unit == 0 ? 0 : 1)
    }

    /// `a + b` when it fits, else nil.
    @inline(__always)
    public static func sum(_ a: UInt64, _ b: UInt64) -> UInt64? {
        let (v, o) = a.addingReportingOverflow(b)
        return o ? nil : v
    }

    /// `a * b` when it fits, else nil.
    @inline(__always)
    public static func product(_ a: UInt64, _ b: UInt64) -> UInt64? {
        let (v, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : v
    }
}
