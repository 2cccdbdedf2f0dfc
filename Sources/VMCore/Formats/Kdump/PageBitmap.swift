/// A kdump page bitmap: bit `n & 7` of byte `n >> 3` is page frame `n` (LSB first; linux.md
/// A1.4), with a rank index so "how many set bits below PFN p" costs at most eight word
/// popcounts, never a linear count.
public struct PageBitmap: Sendable {
    /// The bits, as 64-bit words assembled little-endian from the file's bytes.
    let words: [UInt64]
    /// `ranks[i]` is the number of set bits in words `0..<8*i`.
    let ranks: [UInt64]
    /// How many bits are meaningful (the dump's `max_mapnr`).
    public let bitCount: UInt64

    /// Builds a bitmap over the first `bitCount` bits of `bytes`.
    public init(bytes: [UInt8], bitCount: UInt64) {
        precondition(UInt64(bytes.count) * 8 >= bitCount)
        let wordCount = Int((bitCount + 63) / 64)
        var words = [UInt64](repeating: 0, count: wordCount)
        for w in 0..<wordCount {
            var v: UInt64 = 0
            let base = w * 8
            for b in stride(from: min(7, bytes.count - base - 1), through: 0, by: -1) {
                v = v << 8 | UInt64(bytes[base + b])
            }
            words[w] = v
        }
        // Bits past bitCount are not pages of the dump.
        if bitCount % 64 != 0, wordCount > 0 {
            words[wordCount - 1] &= (1 << (bitCount % 64)) - 1
        }
        var ranks = [UInt64](repeating: 0, count: wordCount / 8 + 1)
        var total: UInt64 = 0
        for w in 0..<wordCount {
            if w % 8 == 0 { ranks[w / 8] = total }
            total += UInt64(words[w].nonzeroBitCount)
        }
        ranks[wordCount / 8] = wordCount % 8 == 0 ? total : ranks[wordCount / 8]
        self.words = words
        self.ranks = ranks
        self.bitCount = bitCount
    }

    @inline(__always)
    public func isSet(_ pfn: UInt64) -> Bool {
        pfn < bitCount && words[Int(pfn >> 6)] >> (pfn & 63) & 1 != 0
    }

    /// The number of set bits below `pfn` (for `pfn` up to `bitCount`).
    public func rank(_ pfn: UInt64) -> UInt64 {
        let p = min(pfn, bitCount)
        let word = Int(p >> 6)
        let block = word / 8
        var count = ranks[block]
        for w in (block * 8)..<word { count += UInt64(words[w].nonzeroBitCount) }
        if p & 63 != 0 { count += UInt64((words[word] & ((1 << (p & 63)) - 1)).nonzeroBitCount) }
        return count
    }

    /// The number of set bits.
    public var population: UInt64 { rank(bitCount) }

    /// The number of runs of set bits (`runs().count`), without building them.
    public var runCount: UInt64 {
        var count: UInt64 = 0
        var carry: UInt64 = 0
        for word in words {
            count += UInt64((word & ~(word << 1 | carry)).nonzeroBitCount)
            carry = word >> 63
        }
        return count
    }

    /// Runs of set bits as half-open PFN ranges; jumps from edge to edge a word at a time.
    public func runs() -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        var start: UInt64?
        for (w, word) in words.enumerated() {
            let base = UInt64(w) * 64
            var bit: UInt64 = 0
            while bit < 64 {
                // Inside a run look for the next clear bit, outside it for the next set bit.
                let pending = (start == nil ? word : ~word) >> bit
                if pending == 0 { break }
                bit += UInt64(pending.trailingZeroBitCount)
                if let s = start {
                    result.append(s..<base + bit)
                    start = nil
                } else {
                    start = base + bit
                }
            }
        }
        if let s = start { result.append(s..<bitCount) }
        return result
    }
}
