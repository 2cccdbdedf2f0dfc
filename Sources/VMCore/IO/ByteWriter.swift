/// A growable byte buffer that writes integers in a chosen byte order at any offset: what the
/// encoders of on-disk structs (`Type+Encoding.swift`, beside their readers) write with.
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

