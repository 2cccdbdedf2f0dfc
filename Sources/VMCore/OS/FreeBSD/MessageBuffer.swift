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

    /// Searches `memory`'s stored pages, highest first, for the kernel's `struct msgbuf` (`sys/sys/msgbuf.h`):
    /// `char *msg_ptr` (`pointerSize` bytes: 8 on LP64 kernels, 4 on i386), then `u_int`
    /// `msg_magic` == `MSG_MAGIC`, `msg_size` == `size` and `msg_wseq`, which is returned.
    /// `isKernelPointer` says whether a `msg_ptr` value is a plausible kernel address.
    public static func findWriteSequence(in memory: any PhysicalMemory, size: UInt32, pointerSize: Int,
                                         isKernelPointer: (UInt64) -> Bool) -> UInt32? {
        let ps = UInt64(memory.pageSize)
        var page = [UInt8](repeating: 0, count: Int(ps))
        let m: [UInt8] = [0x62, 0x30, 0x06, 0x00]
        // msgbufinit() (sys/kern/subr_msgbuf.c) puts struct msgbuf at the end of the buffer's
        // memory, which the kernel takes from the top of physical memory: search from the top.
        for run in memory.storedPageRuns().reversed() {
            for pfn in run.reversed() {
                guard (try? memory.read(physical: pfn * ps, into: &page, bufferOffset: 0, count: Int(ps))) != nil else { continue }
                var from = 0
                while let i = ByteSearch.firstIndex(of: m, in: page, range: from..<page.count) {
                    from = i + 1
                    // msg_magic follows msg_ptr, so it sits at the pointer's alignment.
                    guard i % pointerSize == 0, i >= pointerSize, i + 12 <= page.count else { continue }
                    let r = ByteReader(page, file: "", base: 0, order: .little)
                    guard let sz = try? r.u32(i + 4, "msg_size"), sz == size,
                          let ptr = try? r.uint(i - pointerSize, width: pointerSize, "msg_ptr"), isKernelPointer(ptr),
                          let wseq = try? r.u32(i + 8, "msg_wseq") else { continue }
                    return wseq
                }
            }
        }
        return nil
    }
}

extension FreeBSDMessageBuffer {
    /// The message buffer of `minidump`, ordered by the kernel's `struct msgbuf` when a dumped
    /// page holds it: `msg_ptr` as wide as the architecture's pointers, pointing into the
    /// direct map or KVA from `kernbase`.
    public init(minidump m: FreeBSDMinidump) throws(VMCoreError) {
        let sequence = Self.findWriteSequence(in: m, size: m.messageBufferSize, pointerSize: m.header.machine.pointerSize,
                                              isKernelPointer: m.isKernelAddress)
        self.init(ring: try m.messageBuffer(), writeSequence: sequence)
    }
}
