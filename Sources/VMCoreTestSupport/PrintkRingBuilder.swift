import VMCore

/// The VMCOREINFO printk keys of a 6.1 x86-64 kernel (the shared dumps' values).
public let locklessKeys = """
    SIZE(printk_ringbuffer)=88
    OFFSET(printk_ringbuffer.desc_ring)=0
    OFFSET(printk_ringbuffer.text_data_ring)=48
    OFFSET(printk_ringbuffer.fail)=80
    SIZE(prb_desc_ring)=48
    OFFSET(prb_desc_ring.count_bits)=0
    OFFSET(prb_desc_ring.descs)=8
    OFFSET(prb_desc_ring.infos)=16
    OFFSET(prb_desc_ring.head_id)=24
    OFFSET(prb_desc_ring.tail_id)=32
    SIZE(prb_desc)=24
    OFFSET(prb_desc.state_var)=0
    OFFSET(prb_desc.text_blk_lpos)=8
    SIZE(prb_data_blk_lpos)=16
    OFFSET(prb_data_blk_lpos.begin)=0
    OFFSET(prb_data_blk_lpos.next)=8
    SIZE(printk_info)=88
    OFFSET(printk_info.seq)=0
    OFFSET(printk_info.ts_nsec)=8
    OFFSET(printk_info.text_len)=16
    OFFSET(printk_info.caller_id)=20
    OFFSET(printk_info.dev_info)=24
    SIZE(dev_printk_info)=64
    OFFSET(dev_printk_info.subsystem)=0
    LENGTH(printk_info_subsystem)=16
    OFFSET(dev_printk_info.device)=16
    LENGTH(printk_info_device)=48
    SIZE(prb_data_ring)=32
    OFFSET(prb_data_ring.size_bits)=0
    OFFSET(prb_data_ring.data)=8
    OFFSET(prb_data_ring.head_lpos)=16
    OFFSET(prb_data_ring.tail_lpos)=24
    SIZE(atomic_long_t)=8
    OFFSET(atomic_long_t.counter)=0
    """.split(separator: "\n").map(String.init)

/// `v` as `width` little-endian bytes.
public func le(_ v: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) } }

/// The ELF core bytes of a small kernel whose lockless printk ring holds `texts`.
public func locklessDumpBytes(_ texts: [String]) -> [UInt8] { locklessMemory(texts, countBits: 4, sizeBits: 10, reserveLast: false).0 }

public func locklessMemory(_ texts: [String], countBits: Int, sizeBits: Int, reserveLast: Bool) -> ([UInt8], [(UInt64, String)]) {
    let (kernel, survivors) = locklessKernel(texts, countBits: countBits, sizeBits: sizeBits, reserveLast: reserveLast)
    return (kernel.build(), survivors)
}

/// The kernel memory of `locklessMemory`, before it is written out.
public func locklessKernel(_ texts: [String], countBits: Int, sizeBits: Int, reserveLast: Bool) -> (KernelMemoryBuilder, [(UInt64, String)]) {
    var k = KernelMemoryBuilder()
    let count = 1 << countBits, size = UInt64(1) << sizeBits
    var descs = [UInt8](repeating: 0, count: count * 24)
    var infos = [UInt8](repeating: 0, count: count * 88)
    var data = [UInt8](repeating: 0, count: Int(size))
    var lpos: UInt64 = 0
    var blocks: [(id: UInt64, begin: UInt64, next: UInt64)] = []
    let firstID: UInt64 = 1000  // ids need not start at 0
    for (i, text) in texts.enumerated() {
        let id = firstID + UInt64(i)
        let blockSize = (8 + UInt64(text.utf8.count) + 7) / 8 * 8
        var begin = lpos
        // A block never wraps, nor ends exactly at the ring's end (get_next_lpos()): then its
        // data starts at the beginning of the next wrap.
        if begin % size + blockSize >= size { begin = (begin / size + 1) * size }
        let next = begin + blockSize
        let at = Int(begin % size)
        data.replaceSubrange(at..<at + 8, with: le(id, 8))
        data.replaceSubrange(at + 8..<at + 8 + text.utf8.count, with: Array(text.utf8))
        // The block as prb_desc records it: begin is where the previous block ended.
        blocks.append((id, lpos, next))
        lpos = next
        let slot = Int(id % UInt64(count))
        let state: UInt64 = reserveLast && i == texts.count - 1 ? 0 : 2  // reserved, or finalized
        descs.replaceSubrange(slot * 24..<slot * 24 + 24, with: le(state << 62 | id, 8) + le(lpos - blockSize == begin ? blocks.last!.begin : begin, 8) + le(next, 8))
        infos.replaceSubrange(slot * 88..<slot * 88 + 24, with: le(UInt64(i), 8) + le(UInt64(i) * 1_500_000, 8) + le(UInt64(text.utf8.count), 2) + [0, 6 << 5] + le(UInt64(100 + i), 4))
    }
    // Surviving records: the last `count` ids whose data was not overwritten.
    let headID = firstID + UInt64(texts.count - 1)
    var tailID = headID
    while tailID > firstID, headID - (tailID - 1) < UInt64(count), blocks[Int(tailID - 1 - firstID)].begin + size >= lpos { tailID -= 1 }
    let descsVA = k.place(descs), infosVA = k.place(infos), dataVA = k.place(data, align: 4096)
    var rb = [UInt8](repeating: 0, count: 88)
    rb.replaceSubrange(0..<4, with: le(UInt64(countBits), 4))
    rb.replaceSubrange(8..<16, with: le(descsVA, 8))
    rb.replaceSubrange(16..<24, with: le(infosVA, 8))
    rb.replaceSubrange(24..<32, with: le(headID, 8))
    rb.replaceSubrange(32..<40, with: le(tailID, 8))
    rb.replaceSubrange(48..<52, with: le(UInt64(sizeBits), 4))
    rb.replaceSubrange(56..<64, with: le(dataVA, 8))
    let rbVA = k.place(rb)
    let prb = k.placeWord(rbVA)
    k.vmcoreinfo = ["SYMBOL(prb)=" + String(prb, radix: 16)] + locklessKeys
    let survivors = (tailID...headID).filter { !(reserveLast && $0 == headID) }.map { ($0 - firstID, texts[Int($0 - firstID)]) }
    return (k, survivors)
}
