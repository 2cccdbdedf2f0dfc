/// A ustar archive read in place from any byte source: the members' headers are indexed when
/// it is opened, their data is read on demand.
///
/// Written for FreeBSD textdumps (`sys/ddb/db_textdump.c`): 512-byte blocks, each member a
/// header and its data zero-padded to whole blocks, and no end-of-archive blocks (the archive
/// ends with the source). An all-zero block, as other tar writers put at the end, also ends
/// it. Every header is checked (magic, checksum, octal fields) and every member's data must
/// lie inside the source, so a hostile archive yields an error naming the header, never a
/// read beyond the source or an allocation larger than it.
public final class UstarArchive: Sendable {
    public let source: any ByteSource
    /// The members in archive order (a name may repeat; the last one wins, as in tar).
    public let members: [UstarHeader]

    /// True if `block`, the source's first 512 bytes, is a ustar header.
    public static func probe(_ block: [UInt8]) -> Bool { UstarHeader.probe(block) }

    public init(source: any ByteSource) throws(VMCoreError) {
        self.source = source
        let block = UInt64(UstarHeader.blockSize)
        var members: [UstarHeader] = []
        var offset: UInt64 = 0
        while offset < source.size {
            guard source.size - offset >= block else {
                throw VMCoreError(.truncated, file: source.name, offset: offset, "tar header is cut short",
                                  "\(source.size - offset) bytes remain, a header has \(block)")
            }
            let r = try source.reader(at: offset, count: Int(block), order: .big, what: "tar header")
            if r.bytes.allSatisfy({ $0 == 0 }) { break }
            let header = try UstarHeader(r)
            guard header.size <= source.size - header.dataOffset else {
                throw VMCoreError(.truncated, file: source.name, offset: header.dataOffset,
                                  "tar member \"\(header.name)\" (\(header.size) bytes) runs past the end of the archive",
                                  "\(source.size - header.dataOffset) bytes remain after its header")
            }
            members.append(header)
            offset = header.nextOffset
        }
        self.members = members
    }

    /// The last member called `name`.
    public func member(named name: String) -> UstarHeader? {
        members.last { $0.name == name }
    }

    /// `count` bytes of `member`'s data from `offset` within it.
    public func read(_ member: UstarHeader, at offset: UInt64 = 0, count: Int) throws(VMCoreError) -> [UInt8] {
        guard count >= 0, offset <= member.size, UInt64(count) <= member.size - offset else {
            throw VMCoreError(.usage, file: source.name, offset: member.dataOffset + offset,
                              "read of \(count) bytes at \(offset) runs past the end of \"\(member.name)\"", "it has \(member.size) bytes")
        }
        return try source.bytes(at: member.dataOffset + offset, count: count, what: "tar member \"\(member.name)\"")
    }

    /// All of `member`'s data (its size is bounded by the source's, checked on open).
    public func contents(of member: UstarHeader) throws(VMCoreError) -> [UInt8] {
        try read(member, count: Int(member.size))
    }
}
