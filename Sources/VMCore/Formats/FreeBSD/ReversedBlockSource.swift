/// A textdump still on its dump device, read forward: the 512-byte blocks the kernel wrote
/// backwards, presented in the order savecore reassembles them.
///
/// `textdump_dumpsys()` (FreeBSD `sys/ddb/db_textdump.c`) starts at the device's last block
/// and writes each next block one block lower (`textdump_writenextblock`), so stream block 0
/// is the block just below the trailing header, block 1 the one below that, and so on.
/// savecore's `DoTextdumpFile()` (`sbin/savecore/savecore.c`) copies block k from
/// `lasthd − (k + 1) × 512` and requires the length to be a multiple of 512; so does this.
public final class ReversedBlockSource: ByteSource, Sendable {
    public let base: any ByteSource
    public let name: String
    public let size: UInt64
    /// The offset in `base` of the trailing kernel dump header; stream block 0 ends there.
    public let trailerOffset: UInt64

    /// `TEXTDUMP_BLOCKSIZE`.
    public static let blockSize: UInt64 = 512

    /// The `length` bytes (the header's `dumplength`) below the trailing header at
    /// `trailerOffset` of `base`. Errors name the source `name` (by default
    /// "<base> (textdump reassembled)", since their offsets are in the reassembled stream).
    public init(base: any ByteSource, trailerOffset: UInt64, length: UInt64, name: String? = nil) throws(VMCoreError) {
        guard length % Self.blockSize == 0 else {
            throw VMCoreError(.corrupt, file: base.name, offset: trailerOffset, "textdump length \(length) is not a multiple of 512",
                              "textdumps are written in whole 512-byte blocks")
        }
        guard trailerOffset <= base.size, length <= trailerOffset else {
            throw VMCoreError(.corrupt, file: base.name, offset: trailerOffset,
                              "a textdump of \(length) bytes does not fit below its trailing header",
                              "the header is at \(hex(trailerOffset)) of \(base.size) bytes")
        }
        self.base = base
        self.trailerOffset = trailerOffset
        self.size = length
        self.name = name ?? "\(base.name) (textdump reassembled)"
    }

    /// The offset in `base` of stream offset `offset`.
    public func baseOffset(of offset: UInt64) -> UInt64 {
        trailerOffset - (offset / Self.blockSize + 1) * Self.blockSize + offset % Self.blockSize
    }

    public func read(into buffer: inout [UInt8], bufferOffset: Int, at offset: UInt64, count: Int) throws(VMCoreError) {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw VMCoreError(.truncated, file: name, offset: offset, "read of \(count) bytes runs past the end of the textdump",
                              "it has \(size) bytes")
        }
        var done = 0
        while done < count {
            let at = offset + UInt64(done)
            // Contiguous only within a block: the next stream block lies below this one.
            let n = min(count - done, Int(Self.blockSize - at % Self.blockSize))
            try base.read(into: &buffer, bufferOffset: bufferOffset + done, at: baseOffset(of: at), count: n)
            done += n
        }
    }
}
