/// Parses an address or size as users type them: `0x…` hex, or decimal; `_` separators allowed.
/// Returns nil for anything else.
public func parseAddress(_ text: String) -> UInt64? {
    let t = text.replacingOccurrences(of: "_", with: "")
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
    return UInt64(t)
}

extension String {
    /// `self` with every `target` (non-empty) replaced, left to right.
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while !rest.isEmpty {
            if rest.hasPrefix(target) {
                out += replacement
                rest = rest.dropFirst(target.count)
            } else {
                out.append(rest.removeFirst())
            }
        }
        return out
    }
}
