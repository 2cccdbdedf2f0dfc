/// Random access to the bytes of a dump file as its format defines them.
///
/// A plain file is its own byte source; a makedumpfile flattened stream is a byte source
/// too, once its records are indexed (`FlattenedSource`), so every container reader works on
/// both without a rewriting step.
public protocol ByteSource: Sendable {
    /// The name errors use: the path as the user gave it.
    var name: String { get }
    /// The number of bytes the source holds.
    var size: UInt64 { get }
    /// Copies `count` bytes at `offset` into `buffer[bufferOffset...]`.
    /// Throws `truncated` if the source ends first.
    func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError)
    /// The bytes the source really holds: `size`, except for a flattened stream, whose records
    /// can place a few bytes at a huge offset and leave the rest a hole that reads as zero.
    /// Readers bound what a header makes them allocate by this, not by `size`.
    var storedBytes: UInt64 { get }
}

extension ByteSource {
    public var storedBytes: UInt64 { size }

    /// `count` bytes at `offset`; `what` names the structure for the error if the source is short.
    public func bytes(at offset: UInt64, count: Int, what: String) throws(VMCoreError) -> [UInt8] {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset,
                              "\(what) (\(count) bytes) runs past the end of the file",
                              "the file has \(size) bytes")
        }
        var buffer = [UInt8](repeating: 0, count: count)
        try read(into: &buffer, bufferOffset: 0, at: offset, count: count)
        return buffer
    }

    /// A bounds-checked reader over `count` bytes at `offset`.
    public func reader(at offset: UInt64, count: Int, order: ByteOrder, what: String) throws(VMCoreError) -> ByteReader {
        ByteReader(try bytes(at: offset, count: count, what: what), file: name, base: offset, order: order)
    }
}

/// The byte order of a file's integers; decided once per file (ELF `EI_DATA`, kdump probed).
public enum ByteOrder: String, Sendable, Codable {
    case little
    case big

    public var description: String { self == .little ? "little-endian" : "big-endian" }
}
