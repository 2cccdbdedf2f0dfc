/// Small text formatting for the CLI (without Foundation's `String(format:)`, whose ICU start-up
/// would double the run time of a quick command; numbers go through VMCore's `formatDecimal`).

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
