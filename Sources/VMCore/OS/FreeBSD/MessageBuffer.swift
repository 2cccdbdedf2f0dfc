/// The FreeBSD kernel message buffer (`struct msgbuf`, FreeBSD `sys/sys/msgbuf.h`): a ring of
/// `msg_size` bytes whose write position is `msg_wseq % msg_size`.
public struct FreeBSDMessageBuffer: Sendable {
    /// The messages, oldest first, with unwritten (NUL) bytes dropped.
    public var text: String
    /// How the oldest byte was found: from the kernel's `struct msgbuf`, or by assuming an
    /// unwrapped buffer.
    public var source: String

    /// `MSG_MAGIC`.
    public static let magic: UInt32 = 0x063062

    /// Orders `ring` (the buffer's bytes) from `writeSequence` (`msg_wseq`) when known; without
    /// it, a ring with NUL bytes is taken as never wrapped.
    public init(ring: [UInt8], writeSequence: UInt32?) {
        var ordered = ring
        if let seq = writeSequence, !ring.isEmpty {
            let pos = Int(seq % UInt32(ring.count))
            ordered = Array(ring[pos...] + ring[..<pos])
            source = "struct msgbuf (write position \(pos))"
        } else {
            source = ring.contains(0) ? "buffer not yet wrapped (unwritten bytes are NUL)" : "buffer as stored (write position unknown)"
        }
        text = String(decoding: ordered.filter { $0 != 0 }, as: UTF8.self)
    }

    /// Searches `memory`'s stored pages for `struct msgbuf` of an LP64 kernel: `msg_ptr` (a
    /// kernel pointer), then `msg_magic` and `msg_size` == `size`; returns `msg_wseq`.
    public static func findWriteSequence(in memory: any PhysicalMemory, size: UInt32) -> UInt32? {
        let ps = UInt64(memory.pageSize)
        var page = [UInt8](repeating: 0, count: Int(ps))
        let m: [UInt8] = [0x62, 0x30, 0x06, 0x00]
        for run in memory.storedPageRuns() {
            for pfn in run {
                guard (try? memory.read(physical: pfn * ps, into: &page, bufferOffset: 0, count: Int(ps))) != nil else { continue }
                var from = 0
                while let i = ByteSearch.firstIndex(of: m, in: page, range: from..<page.count) {
                    from = i + 1
                    guard i % 4 == 0, i >= 8, i + 12 <= page.count else { continue }
                    let r = ByteReader(page, file: "", base: 0, order: .little)
                    guard let sz = try? r.u32(i + 4, "msg_size"), sz == size,
                          let ptr = try? r.u64(i - 8, "msg_ptr"), ptr >> 47 == 0x1ffff,
                          let wseq = try? r.u32(i + 8, "msg_wseq") else { continue }
                    return wseq
                }
            }
        }
        return nil
    }
}
