/// Finds the kallsyms tables by their structure, for kernels whose VMCOREINFO does not name
/// them (before 6.0, and enterprise kernels without the backport). It reads the layout
/// `scripts/kallsyms.c` wrote up to 6.3 (linux-analysis.md C1.1), every table 8-byte aligned:
///
///     kallsyms_offsets (s32 × n) + kallsyms_relative_base (8)   or   kallsyms_addresses (8 × n)
///     kallsyms_num_syms (4, padded to 8), kallsyms_names, kallsyms_markers (u32 per 256),
///     kallsyms_token_table (256 NUL-terminated strings), kallsyms_token_index (256 × u16)
///
/// The search anchors on the token index — 256 ascending u16 offsets starting at 0 whose
/// gaps are the lengths of the NUL-terminated strings just before it — then walks back:
/// the markers ascend from 0 and number ⌈n/256⌉; `num_syms` is the n that makes the names
/// stream end where the markers start. A pure function of the bytes, so it is tested and
/// fuzzed without a dump; the loader confirms a find by decoding `_stext` to VMCOREINFO's value.
public enum KallsymsFinder {
    /// Where the tables are, as offsets into the searched bytes.
    public struct Found: Sendable, Equatable {
        public var tokenIndex: Int
        public var tokenTable: Int
        public var markers: Int
        public var names: Int
        public var numSyms: Int
        public var count: UInt32
    }

    public static func find(in bytes: [UInt8], littleEndian: Bool, longNames: Bool) -> Found? {
        func u16(_ o: Int) -> Int { littleEndian ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : Int(bytes[o]) << 8 | Int(bytes[o + 1]) }
        func u32(_ o: Int) -> UInt32 {
            let v = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            return littleEndian ? v : v.byteSwapped
        }
        var o = 0
        while o + 512 <= bytes.count {
            defer { o += 8 }
            // A token index: 0, then 255 ascending offsets 2–64 bytes apart.
            guard bytes[o] == 0, bytes[o + 1] == 0 else { continue }
            var index: [Int] = [0]
            var ok = true
            for i in 1..<256 {
                let v = u16(o + 2 * i)
                let gap = v - index[i - 1]
                if gap < 2 || gap > 64 { ok = false; break }
                index.append(v)
            }
            guard ok, let found = walkBack(bytes, indexAt: o, index: index, u32: u32, longNames: longNames) else { continue }
            return found
        }
        return nil
    }

    static func walkBack(_ bytes: [UInt8], indexAt: Int, index: [Int], u32: (Int) -> UInt32, longNames: Bool) -> Found? {
        // The token table ends with token 255's NUL, then padding to 8 bytes.
        var table: Int?
        for pad in 0..<8 {
            for lastLength in 1...63 {
                let size = index[255] + lastLength + 1
                guard (size + pad) % 8 == 0 else { continue }
                let t = indexAt - size - pad
                guard t >= 0 else { continue }
                if validTokens(bytes, table: t, index: index, lastLength: lastLength) { table = t; break }
            }
            if table != nil { break }
        }
        guard let t = table, t >= 8 else { return nil }
        // The markers, backwards from the token table: a zero pad word if their count is odd
        // (the last marker is zero only when there is one, and one is odd), then values
        // falling to markers[0] = 0.
        var p = t - 4
        if u32(p) == 0 { p -= 4 }
        guard p >= 0 else { return nil }
        let markersEnd = p + 4
        var markersAt = p
        var previous = UInt32.max
        while p >= 0 {
            let v = u32(p)
            guard v < previous else { return nil }
            markersAt = p
            if v == 0 { break }
            previous = v
            p -= 4
        }
        guard p >= 0, markersAt % 8 == 0 else { return nil }
        let markerCount = (markersEnd - markersAt) / 4
        // num_syms: the count whose names stream ends where the markers begin (within the
        // alignment padding), searched back at most 16 MiB.
        var c = markersAt - 8
        c -= c % 8
        let limit = max(0, markersAt - (16 << 20))
        while c >= limit {
            let n = u32(c)
            if n > 0, n <= KallsymsTables.maxSymbols, (Int(n) + 255) / 256 == markerCount {
                let namesAt = c + 8
                if let length = KallsymsTables.namesLength(Array(bytes[namesAt..<markersAt]), count: Int(n), longNames: longNames),
                   markersAt - (namesAt + length) < 8,
                   markerCount < 2 || Int(u32(markersAt + 4)) == KallsymsTables.namesLength(Array(bytes[namesAt..<markersAt]), count: 256, longNames: longNames) {
                    return Found(tokenIndex: indexAt, tokenTable: t, markers: markersAt, names: namesAt, numSyms: c, count: n)
                }
            }
            c -= 8
        }
        return nil
    }

    /// True when the 256 tokens are NUL-terminated strings of the lengths the index implies.
    static func validTokens(_ bytes: [UInt8], table t: Int, index: [Int], lastLength: Int) -> Bool {
        for i in 0..<256 {
            let start = t + index[i]
            let end = i < 255 ? t + index[i + 1] - 1 : start + lastLength
            guard end < bytes.count, bytes[end] == 0 else { return false }
            for k in start..<end where bytes[k] == 0 { return false }
        }
        return true
    }
}
