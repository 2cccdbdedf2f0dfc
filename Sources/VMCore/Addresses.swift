/// Parses an address or size as users type them: `0x…` hex, or decimal; `_` separators allowed.
/// Returns nil for anything else.
public func parseAddress(_ text: String) -> UInt64? {
    let t = text.replacingOccurrences(of: "_", with: "")
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
    return UInt64(t)
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
