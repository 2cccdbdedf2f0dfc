/// Arithmetic on values that come from a file, a packet or dumped memory.
///
/// Swift traps on overflow, and a trap is the worst answer a crash-dump tool can give a
/// damaged dump: no message, no file, no offset. Every sum, product, rounding or conversion of
/// a file-supplied offset, size, count, PFN or address goes through these helpers, which
/// either give the value or throw a `corrupt` error naming the file, the offset and the field:
/// `vmcore: corrupt max_mapnr at offset 0x1b8: 0xfffffffffffffff8 + 7 does not fit in 64 bits`.
public struct FieldSite: Sendable {
    public var file: String
    public var offset: UInt64?
    public var field: String

    public init(file: String, offset: UInt64? = nil, _ field: String) {
        self.file = file
        self.offset = offset
        self.field = field
    }

    /// The error for a value of this field that does not fit.
    public func overflow(_ expression: String) -> VMCoreError {
        VMCoreError(.corrupt, file: file, offset: offset, "corrupt \(field)", "\(expression) does not fit in 64 bits")
    }
}

public enum Checked {
    /// `a + b`, or the site's error.
    @inline(__always)
    public static func sum(_ a: UInt64, _ b: UInt64, _ site: @autoclosure () -> FieldSite) throws(VMCoreError) -> UInt64 {
        let (v, o) = a.addingReportingOverflow(b)
        if o { throw site().overflow("\(hex(a)) + \(hex(b))") }
        return v
    }

    /// `a * b`, or the site's error.
    @inline(__always)
    public static func product(_ a: UInt64, _ b: UInt64, _ site: @autoclosure () -> FieldSite) throws(VMCoreError) -> UInt64 {
        let (v, o) = a.multipliedReportingOverflow(by: b)
        if o { throw site().overflow("\(hex(a)) × \(hex(b))") }
        return v
    }

    /// `value` as an `Int` (a count or a buffer size), or the site's error.
    @inline(__always)
    public static func int(_ value: UInt64, _ site: @autoclosure () -> FieldSite) throws(VMCoreError) -> Int {
        guard let v = Int(exactly: value) else { throw site().overflow(hex(value)) }
        return v
    }

    /// `value` divided by `unit`, rounded up, without forming `value + unit - 1`.
    @inline(__always)
    public static func divideRoundingUp(_ value: UInt64, _ unit: UInt64) -> UInt64 {
        value / unit + (value % unit == 0 ? 0 : 1)
    }

    /// `value` rounded up to a multiple of `unit`, or nil if that does not fit.
    @inline(__always)
    public static func roundUp(_ value: UInt64, to unit: UInt64) -> UInt64? {
        let (v, o) = divideRoundingUp(value, unit).multipliedReportingOverflow(by: unit)
        return o ? nil : v
    }

    /// `a + b` when it fits, else nil (for searches that treat an overflow as "not there").
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
