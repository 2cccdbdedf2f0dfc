import VMCore

/// A growable byte buffer that writes integers in a chosen byte order at any offset.
public struct ByteWriter {
    public var bytes: [UInt8]
    public var order: ByteOrder

    public init(count: Int = 0, order: ByteOrder) {
        bytes = [UInt8](repeating: 0, count: count)
        self.order = order
    }

    public mutating func grow(to n: Int) {
        if bytes.count < n { bytes += [UInt8](repeating: 0, count: n - bytes.count) }
    }

    public mutating func put(_ value: UInt64, at offset: Int, width: Int) {
        grow(to: offset + width)
        for i in 0..<width {
            let shift = order == .little ? i * 8 : (width - 1 - i) * 8
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(shift))
        }
    }

    public mutating func u16(_ v: UInt16, at o: Int) { put(UInt64(v), at: o, width: 2) }
    public mutating func u32(_ v: UInt32, at o: Int) { put(UInt64(v), at: o, width: 4) }
    public mutating func u64(_ v: UInt64, at o: Int) { put(v, at: o, width: 8) }
    public mutating func i32(_ v: Int32, at o: Int) { put(UInt64(UInt32(bitPattern: v)), at: o, width: 4) }
    public mutating func word(_ v: UInt64, at o: Int, is64: Bool) { put(v, at: o, width: is64 ? 8 : 4) }

    public mutating func raw(_ data: [UInt8], at offset: Int) {
        grow(to: offset + data.count)
        bytes.replaceSubrange(offset..<offset + data.count, with: data)
    }

    /// A C string in a fixed-size field (NUL-padded, truncated to fit).
    public mutating func cString(_ s: String, at offset: Int, size: Int) {
        var data = Array(s.utf8.prefix(size - 1))
        data += [UInt8](repeating: 0, count: size - data.count)
        raw(data, at: offset)
    }

    public mutating func append(_ data: [UInt8]) { bytes += data }

    public mutating func pad(toMultipleOf n: Int) {
        grow(to: (bytes.count + n - 1) / n * n)
    }
}

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

/// Serialises ELF notes as the kernel's `append_elf_note()` does (name and descriptor padded to 4).
public func encodeNotes(_ notes: [ELFNote], order: ByteOrder) -> [UInt8] {
    var w = ByteWriter(order: order)
    for note in notes {
        let name = Array(note.name.utf8) + [0]
        let o = w.bytes.count
        w.u32(UInt32(name.count), at: o)
        w.u32(UInt32(note.descriptor.count), at: o + 4)
        w.u32(note.type, at: o + 8)
        w.raw(name, at: o + 12)
        w.pad(toMultipleOf: 4)
        w.append(note.descriptor)
        w.pad(toMultipleOf: 4)
    }
    return w.bytes
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
