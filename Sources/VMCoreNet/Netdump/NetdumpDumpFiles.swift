import NIOCore
import VMCore

/// The files of one received dump, named and written as netdumpd writes them (freebsd.md
/// §7.3; netdumpd.c `open_client_files()`, `handle_kdh()`, `handle_ekcd_key()`,
/// `handle_finish()`):
///
/// - `info.<host>.N` (0600, created exclusively: its creation claims index N), starting with
///   `Dump from <host> [<ip>]`, the header's fields when the KDH arrives, and a last line that
///   says how the dump ended;
/// - `vmcore.<host>.N` (0600), renamed `vmcore_encrypted.<host>.N` when the header says the
///   dump is encrypted, and given `.gz`/`.zst` (and cut to `dumplength`) when it is compressed;
/// - `key.<host>.N` (0400) with the EKCD key, if one is sent;
/// - `bounds.<host>`: the next index;
/// - `vmcore.<host>.last` and `info.<host>.last`, links to the newest *complete* dump only.
///
/// The object lives on the session's event loop; the only work it hands elsewhere is `fsync`.
final class NetdumpDumpFiles {
    let directory: DumpDirectory
    /// The directory as the script sees it: `.` or the herald's path, as netdumpd passes it.
    let pathLabel: String
    let host: String
    let index: Int
    let infoName: String
    private(set) var coreName: String
    private let core: OutputFile
    private let info: OutputFile
    private var infoLength: UInt64 = 0
    private var keyFile: OutputFile?
    private let writer: CoalescingWriter

    /// Claims the next index for `host` and creates the info and core files, as
    /// `open_client_files()` does: the index in `bounds.<host>` if its info file can be
    /// created, else the first free one below 1024.
    init(directory: DumpDirectory, pathLabel: String, host: String, ip: String, bufferSize: Int) throws(VMCoreNetError) {
        precondition(DumpDirectory.isPlainName(host))
        self.directory = directory
        self.pathLabel = pathLabel
        self.host = host
        var claimed: (Int, OutputFile)?
        if let text = directory.read("bounds.\(host)", limit: 16),
           let bound = Int(String(decoding: text.prefix { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)),
           bound <= Int(Int32.max),
           let file = try? directory.create("info.\(host).\(bound)", permissions: 0o600, exclusive: true) {
            claimed = (bound, file)
        }
        if claimed == nil {
            for i in 0..<Netdump.maxDumpsPerHost {
                if let file = try? directory.create("info.\(host).\(i)", permissions: 0o600, exclusive: true) {
                    claimed = (i, file)
                    break
                }
            }
        }
        guard let (index, info) = claimed else {
            throw VMCoreNetError(.io, directory.path, "no free index for \(host)",
                                 "info.\(host).0 to info.\(host).\(Netdump.maxDumpsPerHost - 1) all exist")
        }
        self.index = index
        self.info = info
        infoName = "info.\(host).\(index)"
        coreName = "vmcore.\(host).\(index)"
        do throws(VMCoreNetError) {
            core = try directory.create(coreName, permissions: 0o600, exclusive: false)
        } catch {
            // Keep the numbers in sync, as netdumpd does: no core, no info.
            info.close()
            directory.remove(infoName)
            throw error
        }
        writer = CoalescingWriter(capacity: bufferSize)
        try? directory.replace("bounds.\(host)", with: Array("\(index + 1)\n".utf8), permissions: 0o600)
        try appendInfo("Dump from \(host) [\(ip)]\n")
    }

    /// The info file's name as the script receives it (`<path>/info.<host>.N`).
    var infoPathForScript: String { pathLabel + "/" + infoName }
    var corePathForScript: String { pathLabel + "/" + coreName }
    /// The core file's descriptor, for an `fsync` on another thread (`OutputFile.sync(descriptor:)`).
    var coreDescriptor: Int32 { core.descriptor }

    func appendInfo(_ text: String) throws(VMCoreNetError) {
        let bytes = Array(text.utf8)
        try info.netdumpWrite(bytes, at: infoLength)
        infoLength += UInt64(bytes.count)
    }

    /// Writes `count` payload bytes at `offset` of the core file (through the buffer).
    func writeData(_ payload: ByteBuffer, count: Int, at offset: UInt64) throws(VMCoreNetError) {
        guard count > 0 else { return }
        do {
            try writer.append(payload.readableBytesView.prefix(count), at: offset, to: core)
        } catch {
            throw core.writeFailure(error)
        }
    }

    /// Writes the payload at `offset` of `key.<host>.N`, creating it (0400) on first use.
    func writeKey(_ payload: ByteBuffer, at offset: UInt64) throws(VMCoreNetError) {
        if keyFile == nil {
            keyFile = try directory.create("key.\(host).\(index)", permissions: 0o400, exclusive: false)
        }
        try keyFile!.netdumpWrite(payload.readableBytesView, at: offset)
    }

    /// Writes the buffered core bytes.
    func flush() throws(VMCoreNetError) {
        do {
            try writer.flush(to: core)
        } catch {
            throw core.writeFailure(error)
        }
    }

    /// Records the header as `handle_kdh()` does: its fields into the info file, then the
    /// renames for an encrypted and for a compressed dump, and for a compressed one the cut
    /// to `dumplength` (the kernel writes whole blocks; the tail would confuse decompressors).
    func recordHeader(_ header: ReceivedDumpHeader) throws(VMCoreNetError) {
        try appendInfo(Self.infoText(header))
        guard let kdh = header.header else { return }
        if header.isEncrypted {
            let name = "vmcore_encrypted.\(host).\(index)"
            try directory.rename(coreName, to: name)
            coreName = name
        }
        if kdh.version >= 3, let suffix = header.compressedSuffix {
            try directory.rename(coreName, to: coreName + suffix)
            coreName += suffix
            try flush()
            try core.netdumpTruncate(to: kdh.dumpLength)
        }
    }

    /// After FINISHED with everything there: the `.last` links, then "Dump complete".
    func markComplete() throws(VMCoreNetError) {
        try directory.replaceSymlink("vmcore.\(host).last", target: coreName)
        try directory.replaceSymlink("info.\(host).last", target: infoName)
        try appendInfo("Dump complete\n")
    }

    /// Ends the info file with `line` (an incomplete or failed dump); no links are made.
    func markIncomplete(_ line: String) {
        try? appendInfo(line + "\n")
    }

    func close() {
        try? flush()
        core.close()
        info.close()
        keyFile?.close()
    }
}
