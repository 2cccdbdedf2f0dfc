import Crypto

/// SHA-256 over a stream of pieces, through swift-crypto.
public struct StreamSHA256 {
    private var hasher = SHA256()

    public init() {}

    /// Adds `bytes[0..<count]`.
    public mutating func update(_ bytes: [UInt8], count: Int) {
        hasher.update(data: bytes[0..<count])
    }

    /// The digest in lower-case hex.
    public func hex() -> String {
        hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// CRC-32 (zlib's) over a stream of pieces.
public struct StreamCRC32: Equatable {
    public private(set) var value: UInt = 0

    public init() {}

    /// Adds `bytes[0..<count]`.
    public mutating func update(_ bytes: [UInt8], count: Int) {
        value = CompressionLibraries.crc32(value, bytes, count: count)
    }
}
