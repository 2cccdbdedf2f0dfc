/// Small text formatting for the CLI (without Foundation's `String(format:)`, whose ICU start-up
/// would double the run time of a quick command).

/// `value` with exactly `decimals` digits after the point, rounded half up.
func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let negative = value < 0
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let n = UInt64(scaled)
    let unit = UInt64(scale)
    let whole = String(n / unit)
    let fraction = decimals == 0 ? "" : "." + String(n % unit).leftPadded(decimals)
    return (negative && n > 0 ? "-" : "") + whole + fraction
}

extension String {
    /// Padded on the left with `pad` ("0" by default) to `width` characters.
    func leftPadded(_ width: Int, _ pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    /// Padded with spaces on the right to `width` characters.
    func padRight(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Without leading and trailing spaces.
    var trimmed: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
