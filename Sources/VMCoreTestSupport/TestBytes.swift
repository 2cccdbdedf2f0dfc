import VMCore

/// A byte source over bytes in memory, for tests.
public final class MemorySource: ByteSource, Sendable {
    public let name: String
    public let data: [UInt8]
    public var size: UInt64 { UInt64(data.count) }

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.data = bytes
    }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        guard offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset, "read of \(count) bytes runs past the end of the file",
                              "the file has \(size) bytes")
        }
        buffer.replaceSubrange(bufferOffset..<bufferOffset + count, with: data[Int(offset)..<Int(offset) + count])
    }
}

/// Serialises ELF notes as the kernel's `append_elf_note()` does (see `ELFNote.encoded`).
public func encodeNotes(_ notes: [ELFNote], order: ByteOrder) -> [UInt8] {
    ELFNote.encoded(notes, order: order)
}

/// A deterministic page of recognisable bytes: every 8-byte word holds `pfn` and its index.
public func patternPage(_ pfn: UInt64, size: Int = 4096) -> [UInt8] {
    var page = [UInt8](repeating: 0, count: size)
    for i in stride(from: 0, to: size, by: 8) {
        let v = pfn << 20 | UInt64(i / 8)
        for b in 0..<8 { page[i + b] = UInt8(truncatingIfNeeded: v >> UInt64(8 * b)) }
    }
    return page
}

/// An `NT_PRSTATUS` descriptor for x86-64 (336 bytes) with `pid`, `rip` and `rsp` set.
public func x86_64PRStatus(pid: UInt32, rip: UInt64, rsp: UInt64, order: ByteOrder = .little) -> [UInt8] {
    var w = ByteWriter(count: 336, order: order)
    w.u32(pid, at: 32)
    w.u64(rip, at: 112 + 16 * 8)
    w.u64(rsp, at: 112 + 19 * 8)
    return w.bytes
}

extension Array where Element == UInt8 {
    /// The little-endian 64-bit word at `offset` (a page-table entry).
    public func littleEndian64(at offset: Int) -> UInt64 {
        var v: UInt64 = 0
        for b in (0..<8).reversed() { v = v << 8 | UInt64(self[offset + b]) }
        return v
    }

    /// Writes `value` as a little-endian 64-bit word at `offset`.
    public mutating func setLittleEndian64(_ value: UInt64, at offset: Int) {
        for b in 0..<8 { self[offset + b] = UInt8(truncatingIfNeeded: value >> UInt64(8 * b)) }
    }
}
