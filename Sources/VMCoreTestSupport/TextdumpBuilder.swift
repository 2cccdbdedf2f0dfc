import VMCore

/// Writes FreeBSD textdumps as `textdump_dumpsys()` does (`sys/ddb/db_textdump.c`,
/// `sys/ddb/db_capture.c`): ddb.txt, config.txt, msgbuf.txt, panic.txt and version.txt,
/// each optional, as ustar members with no end-of-archive blocks.
///
/// `tar()` is the archive as savecore saves it (`textdump.tar.N`), built member by member;
/// `deviceImage(mediaSize:)` replays the kernel's writes on a dump device — a placeholder
/// trailer, each block one block lower than the last, msgbuf.txt's header rewritten after its
/// data, then the leading header and the final trailer — independently of `tar()`, so a test
/// can compare the two.
public struct TextdumpBuilder {
    /// ddb.txt: the DDB capture buffer (nil when empty: `db_capture_dump` writes nothing).
    public var ddbOutput: [UInt8]?
    /// config.txt (only kernels built with `INCLUDE_CONFIG_FILE`).
    public var configuration: [UInt8]?
    /// msgbuf.txt: the message buffer, whose NUL bytes the kernel drops.
    public var messageBuffer: [UInt8]?
    /// panic.txt: `panicstr`, at most one block (nil when the kernel did not panic).
    public var panicMessage: String?
    /// version.txt: the kernel's `version[]`, at most one block.
    public var version: String?
    /// `time_second` when the members were written (their mtime).
    public var time: UInt64 = 1_717_236_000
    /// The kernel dump header's other fields (hostname, strings, dump time).
    public var header = KernelDumpHeaderBuilder()

    public init() {}

    /// `SIZEOF_METADATA`: the kernel never writes below 64 KiB of the device.
    public static let metadataSize = 64 * 1024

    /// A ustar header as `textdump_mkustar()` fills it: name, mode "0600", uid/gid "0", size
    /// `%o`, mtime `%lo`, typeflag NUL, magic "ustar", uname "root", gname "wheel", and the
    /// checksum as `%6o` after summing with the field as spaces.
    public static func ustarHeader(name: String, size: UInt64, time: UInt64, typeflag: UInt8 = 0) -> [UInt8] {
        var w = ByteWriter(count: 512, order: .big)
        w.cString(name, at: 0, size: 100)
        w.cString("0600", at: 100, size: 8)
        w.cString("0", at: 108, size: 8)
        w.cString("0", at: 116, size: 8)
        w.cString(String(size, radix: 8), at: 124, size: 12)
        w.cString(String(time, radix: 8), at: 136, size: 12)
        w.bytes[156] = typeflag
        w.cString("ustar", at: 257, size: 6)
        w.cString("root", at: 265, size: 32)
        w.cString("wheel", at: 297, size: 32)
        var block = w.bytes
        setChecksum(&block)
        return block
    }

    /// Recomputes a header's checksum after a test changed its fields.
    public static func setChecksum(_ block: inout [UInt8]) {
        for i in 148..<156 { block[i] = 0x20 }
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        let field = Array((String(repeating: " ", count: max(0, 6 - digits.count)) + digits).utf8) + [0]
        block.replaceSubrange(148..<148 + field.count, with: field)
    }

    /// The members in the order the kernel writes them, each with its data as stored.
    public var members: [(name: String, data: [UInt8])] {
        var list: [(String, [UInt8])] = []
        if let ddbOutput, !ddbOutput.isEmpty { list.append(("ddb.txt", ddbOutput)) }
        if let configuration { list.append(("config.txt", configuration)) }
        if let messageBuffer { list.append(("msgbuf.txt", messageBuffer.filter { $0 != 0 })) }
        if let panicMessage { list.append(("panic.txt", Array(panicMessage.utf8.prefix(512)))) }
        if let version { list.append(("version.txt", Array(version.utf8.prefix(512)))) }
        return list
    }

    /// `textdump.tar.N`: each member's header, then its data zero-padded to 512 bytes.
    public func tar() -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in members {
            out += Self.ustarHeader(name: name, size: UInt64(data.count), time: time)
            out += data
            out += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out
    }

    /// The kernel dump header the finished textdump carries, for an archive of `length` bytes.
    public func dumpHeader(length: UInt64) -> [UInt8] {
        var h = header
        h.magic = "FreeBSD Text Dump"
        h.architectureVersion = 4
        h.dumpLength = length
        h.dumpExtent = nil
        h.panicString = panicMessage ?? ""
        return h.build()
    }

    /// A dump device of `mediaSize` bytes (a multiple of 512) after `textdump_dumpsys()`.
    /// Bytes the kernel does not write hold `filler`, so a reader that strays is noticed.
    public func deviceImage(mediaSize: Int, filler: UInt8 = 0xa5) -> [UInt8] {
        precondition(mediaSize % 512 == 0)
        var device = [UInt8](repeating: filler, count: mediaSize)
        var offset = mediaSize - 512                      // textdump_offset
        func writeNextBlock(_ block: [UInt8]) {           // textdump_writenextblock
            precondition(block.count == 512 && offset >= Self.metadataSize, "the textdump does not fit the device")
            device.replaceSubrange(offset..<offset + 512, with: block)
            offset -= 512
        }
        func writeData(_ data: [UInt8]) {
            var i = 0
            while i < data.count {
                var block = Array(data[i..<min(i + 512, data.count)])
                block += [UInt8](repeating: 0, count: 512 - block.count)
                writeNextBlock(block)
                i += 512
            }
        }
        let trailer = offset
        writeNextBlock(dumpHeader(length: 0))
        for (name, data) in members {
            if name == "msgbuf.txt" {
                // A dummy header with size 0, the data, then the header again with the real size.
                let headerOffset = offset
                writeNextBlock(Self.ustarHeader(name: name, size: 0, time: time))
                writeData(data)
                let end = offset
                offset = headerOffset
                writeNextBlock(Self.ustarHeader(name: name, size: UInt64(data.count), time: time))
                offset = end
            } else {
                writeNextBlock(Self.ustarHeader(name: name, size: UInt64(data.count), time: time))
                writeData(data)
            }
        }
        let length = trailer - (offset + 512)
        let finished = dumpHeader(length: UInt64(length))
        writeNextBlock(finished)                           // the leading header
        offset = trailer
        writeNextBlock(finished)                           // the trailer, rewritten
        return device
    }
}
