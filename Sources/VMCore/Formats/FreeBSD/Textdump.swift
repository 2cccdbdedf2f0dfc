/// A FreeBSD textdump: the text ddb(4) writes instead of memory when a textdump is pending —
/// its captured output, the kernel configuration, the message buffer, the panic message and
/// the kernel version, as members of a ustar archive.
///
/// Two forms are read (FreeBSD `sys/ddb/db_textdump.c`, `sbin/savecore/savecore.c`):
/// - `textdump.tar.N`, the archive savecore reassembles (`DoTextdumpFile`);
/// - a dump device (or an image of one) still holding it: the archive's 512-byte blocks in
///   reverse order below a trailing `"FreeBSD Text Dump"` kernel dump header at the device's
///   last block, with the same header again just below the archive's last block
///   (`textdump_dumpsys`). Both headers must match byte for byte, as savecore requires.
///
/// A textdump holds no memory: `Dump` refuses it with an error saying so.
public final class Textdump: Sendable {
    public enum Layout: Sendable, Equatable {
        /// The archive in forward order (`textdump.tar.N`).
        case archive
        /// On a dump device: the trailing header's offset, and the leading header's.
        case dumpDevice(trailerOffset: UInt64, leadingHeaderOffset: UInt64)
    }

    /// The member names `db_textdump.c` and `db_capture.c` write, in the order they write them;
    /// each is left out when its `debug.ddb.textdump.do_*` sysctl is 0 (and panic.txt when
    /// the kernel did not panic, config.txt without `INCLUDE_CONFIG_FILE`).
    public static let ddbOutput = "ddb.txt"
    public static let configuration = "config.txt"
    public static let messageBuffer = "msgbuf.txt"
    public static let panicMessage = "panic.txt"
    public static let version = "version.txt"

    /// The file as the user named it.
    public let file: String
    public let layout: Layout
    /// The kernel dump header, when the textdump is read from a dump device.
    public let header: KernelDumpHeader?
    public let archive: UstarArchive

    public var members: [UstarHeader] { archive.members }

    /// Reads the ustar archive in `source` (already in forward order).
    public init(source: any ByteSource, header: KernelDumpHeader? = nil, layout: Layout = .archive, file: String? = nil) throws(VMCoreError) {
        self.file = file ?? source.name
        self.layout = layout
        self.header = header
        archive = try UstarArchive(source: source)
    }

    /// Reads the textdump on a dump device image whose trailing header is at `trailerOffset`
    /// (the device's last 512 bytes).
    public convenience init(dumpDevice base: any ByteSource, trailerOffset: UInt64) throws(VMCoreError) {
        let header = try KernelDumpHeader(from: base, at: trailerOffset)
        guard header.kind == .textDump else {
            throw VMCoreError(.badMagic, file: base.name, offset: trailerOffset, "not a textdump header",
                              "the header's magic is \"\(header.kind.rawValue)\", expected \"FreeBSD Text Dump\"")
        }
        guard header.dumpKeySize == 0 else {
            throw VMCoreError(.corrupt, file: base.name, offset: trailerOffset, "textdump header names a \(header.dumpKeySize)-byte encryption key",
                              "textdumps are never encrypted (textdump_dumpsys disables EKCD)")
        }
        // savecore: firsthd = lasthd − dumpextent − sectorsize − dumpkeysize.
        let block = ReversedBlockSource.blockSize
        guard header.dumpExtent <= trailerOffset, trailerOffset - header.dumpExtent >= block else {
            throw VMCoreError(.corrupt, file: base.name, offset: trailerOffset, "a textdump of \(header.dumpExtent) bytes does not fit below its trailing header",
                              "the header is at \(hex(trailerOffset))")
        }
        let leading = trailerOffset - header.dumpExtent - block
        let first = try base.bytes(at: leading, count: KernelDumpHeader.size, what: "leading textdump header")
        let last = try base.bytes(at: trailerOffset, count: KernelDumpHeader.size, what: "trailing textdump header")
        guard first == last else {
            throw VMCoreError(.corrupt, file: base.name, offset: leading, "the leading and trailing textdump headers disagree",
                              "the header at \(hex(leading)) differs from the one at \(hex(trailerOffset)); the textdump was not completed")
        }
        let stream = try ReversedBlockSource(base: base, trailerOffset: trailerOffset, length: header.dumpLength)
        try self.init(source: stream, header: header, layout: .dumpDevice(trailerOffset: trailerOffset, leadingHeaderOffset: leading),
                      file: base.name)
    }

    /// What `probe` found.
    public enum Form: Sendable, Equatable {
        /// A ustar header at offset 0.
        case archive
        /// A textdump header in the last 512 bytes, at `trailerOffset`.
        case dumpDevice(trailerOffset: UInt64)
    }

    /// Where `source` holds a textdump, judged from a block or two: a ustar header first, or a
    /// textdump header in the last 512 bytes. Nil when it holds none.
    public static func probe(_ source: any ByteSource) -> Form? {
        let block = UInt64(UstarHeader.blockSize)
        if source.size >= block, let first = try? source.bytes(at: 0, count: Int(block), what: "tar header"), UstarArchive.probe(first) {
            return .archive
        }
        if source.size >= 2 * block, let last = try? source.bytes(at: source.size - block, count: 20, what: "dump header"),
           KernelDumpHeader.kind(last[...]) == .textDump {
            return .dumpDevice(trailerOffset: source.size - block)
        }
        return nil
    }

    /// The textdump in `source`, or nil if it holds none (see `probe`).
    public static func recognize(_ source: any ByteSource) throws(VMCoreError) -> Textdump? {
        switch probe(source) {
        case .archive: return try Textdump(source: source)
        case .dumpDevice(let trailer): return try Textdump(dumpDevice: source, trailerOffset: trailer)
        case nil: return nil
        }
    }

    /// The textdump in the file at `path` (`textdump.tar.N`, `textdump.tar.N.gz` through the
    /// decompressed cache, or a dump device image), or nil if it holds none.
    public static func open(path: String, cache: DecompressedCache = .standard) throws(VMCoreError) -> Textdump? {
        let source = try cache.source(forPath: path)
        // The probe registry decides: a ustar archive, or a textdump header in the last block
        // (and not, say, a kernel dump whose first bytes say so).
        guard try Container.identify(source) == .textdump else { return nil }
        return try recognize(source)
    }

    /// The data of the last member called `name`, or nil if there is none.
    public func contents(of name: String) throws(VMCoreError) -> [UInt8]? {
        guard let member = archive.member(named: name) else { return nil }
        return try archive.contents(of: member)
    }

    /// The error `Dump` gives for a textdump, or nil if `source` is not one.
    static func holdsNoMemory(_ source: any ByteSource) -> VMCoreError? {
        guard probe(source) != nil else { return nil }
        return noMemory(file: source.name)
    }

    /// The error for reading memory from the textdump in `file`.
    static func noMemory(file: String) -> VMCoreError {
        VMCoreError(.unsupported, file: file, "a textdump holds no memory",
                           "it is a FreeBSD textdump, a tar of text files (ddb output, message buffer, panic message, version); vmcore textdump, dmesg and info read it")
    }
}
