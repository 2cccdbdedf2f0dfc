/// Every container this library recognises, and the one ordered registry of their probes.
///
/// `Dump.open`, the check that a decrypted dump is a dump, and the textdump check all ask
/// here. Probes are cheap and never throw: "not mine" is not an error. Formats known by their
/// first bytes come first; formats known by a header in the last block of the file (FreeBSD
/// textdumps and dump devices) after them, since a dump inside a device image would otherwise
/// be taken for the device.
public enum Container: String, Sendable, CaseIterable {
    /// makedumpfile's flattened stream (`makedumpfile -F`), wrapping another container.
    case flattened
    /// A FreeBSD minidump (`minidump FreeBSD/<arch>`).
    case freebsdMinidump
    /// kdump-compressed (diskdump) files: `KDUMP   ` or `DISKDUMP`.
    case kdumpCompressed
    /// An ELF core: Linux /proc/vmcore, QEMU, makedumpfile -E, FreeBSD full dumps.
    case elf
    /// A gzip or zstd stream (`vmcore.N.gz`, `vmcore.N.zst`), decompressed before probing again.
    case gzip
    case zstd
    /// A FreeBSD textdump: a ustar archive, or one still on a dump device.
    case textdump
    /// A FreeBSD dump device (or an image of one): a kernel dump header in its last block.
    case freebsdDumpDevice

    /// The order probes are tried in.
    public static let probeOrder: [Container] = [.flattened, .freebsdMinidump, .kdumpCompressed, .elf, .gzip, .zstd, .textdump, .freebsdDumpDevice]

    /// What users call it, for messages.
    public var name: String {
        switch self {
        case .flattened: "makedumpfile flattened stream"
        case .freebsdMinidump: "minidump"
        case .kdumpCompressed: "kdump-compressed"
        case .elf: "ELF core"
        case .gzip: "gzip"
        case .zstd: "zstd"
        case .textdump: "textdump"
        case .freebsdDumpDevice: "FreeBSD dump device"
        }
    }

    /// How many leading bytes the prefix probes look at.
    public static let prefixLength = 64

    /// True when the first bytes of a file (at least `prefixLength` of them, when the file has
    /// that many) start this container. Containers known only by their last block say false.
    public func matches(prefix: [UInt8]) -> Bool {
        switch self {
        case .flattened: FlattenedSource.probe(prefix)
        case .freebsdMinidump: FreeBSDMinidump.probe(prefix)
        case .kdumpCompressed: KdumpFile.probe(prefix)
        case .elf: ELFCore.probe(prefix)
        case .gzip: StreamDecoder.Format.detect(prefix) == .gzip
        case .zstd: StreamDecoder.Format.detect(prefix) == .zstd
        // Known by a whole 512-byte block (a ustar header, or a header in the last block).
        case .textdump, .freebsdDumpDevice: false
        }
    }

    /// True when `source` holds this container; may read its last block.
    public func matches(_ source: any ByteSource, prefix: [UInt8]) -> Bool {
        switch self {
        case .textdump: Textdump.probe(source) != nil
        case .freebsdDumpDevice: FreeBSDDumpDevice.probe(source)
        default: matches(prefix: prefix)
        }
    }

    /// The first container, in probe order, whose leading bytes `prefix` are.
    public static func identify(prefix: [UInt8]) -> Container? {
        probeOrder.first { $0.matches(prefix: prefix) }
    }

    /// The first container, in probe order, that `source` holds.
    public static func identify(_ source: any ByteSource) throws(VMCoreError) -> Container? {
        let prefix = try leadingBytes(source)
        return probeOrder.first { $0.matches(source, prefix: prefix) }
    }

    /// The first `prefixLength` bytes of `source` (fewer if it is shorter).
    static func leadingBytes(_ source: any ByteSource) throws(VMCoreError) -> [UInt8] {
        try source.bytes(at: 0, count: Int(min(UInt64(prefixLength), source.size)), what: "file header")
    }
}

/// The operating system a dump is of.
public enum OperatingSystem: String, Sendable, Codable {
    case linux = "Linux"
    case freebsd = "FreeBSD"
}
