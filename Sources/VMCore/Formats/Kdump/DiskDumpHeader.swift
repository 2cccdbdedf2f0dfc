/// The main header of a kdump-compressed ("diskdump") file, in block 0.
///
/// Mirrors `struct disk_dump_header`, makedumpfile `diskdump_mod.h` (linux.md A1.2): 464 bytes in
/// the 64-bit layout, 452 in the 32-bit one (`timeval` of two 4-byte words at 404). Byte order
/// is the dumped machine's, probed here since nothing in the file states it.
public struct DiskDumpHeader: Sendable, Equatable {
    public var signature: String
    public var headerVersion: Int32
    /// `utsname`: sysname, nodename, release, version, machine, domainname (char[65] each).
    public var sysname: String
    public var nodename: String
    public var release: String
    public var version: String
    public var machine: String
    public var domainname: String
    public var timestampSeconds: Int64
    public var timestampMicroseconds: Int64
    public var status: UInt32
    public var blockSize: Int32
    public var subHeaderBlocks: Int32
    public var bitmapBlocks: UInt32
    /// `max_mapnr`, truncated to 32 bits by the writer; prefer the sub header's `max_mapnr_64`.
    public var maxMapnr: UInt32
    public var nrCPUs: Int32
    /// Which layout the file uses (4-byte or 8-byte `long`/`timeval`).
    public var is64: Bool
    public var order: ByteOrder

    /// `"KDUMP   "`: a kdump-compressed file.
    public static let kdumpSignature = Array("KDUMP   ".utf8)
    /// `"DISKDUMP"`: the RHEL4 diskdump format that preceded it.
    public static let diskdumpSignature = Array("DISKDUMP".utf8)

    // `status` flags (DUMP_DH_*).
    public static let compressedZlib: UInt32 = 0x1
    public static let compressedLZO: UInt32 = 0x2
    public static let compressedSnappy: UInt32 = 0x4
    public static let incomplete: UInt32 = 0x8
    public static let excludedVmemmap: UInt32 = 0x10
    public static let compressedZstd: UInt32 = 0x20

    public static func probe(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 8 && (Array(prefix[0..<8]) == kdumpSignature || Array(prefix[0..<8]) == diskdumpSignature)
    }

    /// The compression methods the header's status names.
    public var statusCompressions: [PageCompression] {
        PageCompression.allCases.filter { $0 != .none && status & $0.flag != 0 }
    }

    public var isKdump: Bool { signature == "KDUMP   " }
    public var isIncomplete: Bool { isKdump && status & Self.incomplete != 0 }

    /// Parses block 0 of `source`. `fileSize` bounds the sanity checks.
    public init(from source: any ByteSource) throws(VMCoreError) {
        let file = source.name
        let raw = try source.bytes(at: 0, count: 464, what: "kdump header")
        guard Self.probe(raw) else {
            throw VMCoreError(.badMagic, file: file, offset: 0, "not a kdump-compressed file", "expected the signature \"KDUMP   \" or \"DISKDUMP\"")
        }
        let le = ByteReader(raw, file: file, base: 0, order: .little)
        let machine = try le.cString(272, 65, "utsname.machine")
        // The byte order and word size are not stated: try the layouts the machine name
        // suggests first, and keep the first whose block size and bitmap size make sense
        // (libkdumpfile diskdump.c does the same checks).
        let hinted = Architecture(machineName: machine)?.is64Bit
        var candidates: [(ByteOrder, Bool)] = []
        for is64 in hinted.map({ [$0, !$0] }) ?? [true, false] {
            for order in [ByteOrder.little, .big] { candidates.append((order, is64)) }
        }
        var chosen: (ByteOrder, Bool)?
        for (order, is64) in candidates {
            let r = ByteReader(raw, file: file, base: 0, order: order)
            guard let version = try? r.i32(8, "header_version"),
                  let block = try? r.i32(is64 ? 428 : 416, "block_size"),
                  let bitmapBlocks = try? r.u32(is64 ? 436 : 424, "bitmap_blocks"),
                  let maxMapnr = try? r.u32(is64 ? 440 : 428, "max_mapnr") else { continue }
            let blockOK = block >= 512 && block <= 1 << 20 && block & (block - 1) == 0
            // A bitmap too large to count in 64 bits is as wrong as one too small.
            let bitmapOK = Checked.product(UInt64(bitmapBlocks), UInt64(max(block, 0)))
                .flatMap { Checked.product($0, 8) }.map { $0 >= UInt64(maxMapnr) } ?? false
            if version >= 0 && version < 1000 && blockOK && bitmapOK {
                chosen = (order, is64)
                break
            }
        }
        guard let (order, is64) = chosen else {
            let version = try le.i32(8, "header_version")
            throw VMCoreError(.corrupt, file: file, offset: 8, "corrupt kdump header",
                              "no byte order and word size give a sane header version (\(version) read little-endian), power-of-two block size and bitmap size")
        }
        self.order = order
        self.is64 = is64
        let r = ByteReader(raw, file: file, base: 0, order: order)
        signature = try r.cString(0, 8, "signature")
        headerVersion = try r.i32(8, "header_version")
        sysname = try r.cString(12, 65, "utsname.sysname")
        nodename = try r.cString(77, 65, "utsname.nodename")
        release = try r.cString(142, 65, "utsname.release")
        version = try r.cString(207, 65, "utsname.version")
        self.machine = machine
        domainname = try r.cString(337, 65, "utsname.domainname")
        if is64 {
            timestampSeconds = try r.i64(408, "timestamp.tv_sec")
            timestampMicroseconds = try r.i64(416, "timestamp.tv_usec")
            status = try r.u32(424, "status")
            blockSize = try r.i32(428, "block_size")
            subHeaderBlocks = try r.i32(432, "sub_hdr_size")
            bitmapBlocks = try r.u32(436, "bitmap_blocks")
            maxMapnr = try r.u32(440, "max_mapnr")
            nrCPUs = try r.i32(460, "nr_cpus")
        } else {
            timestampSeconds = Int64(try r.i32(404, "timestamp.tv_sec"))
            timestampMicroseconds = Int64(try r.i32(408, "timestamp.tv_usec"))
            status = try r.u32(412, "status")
            blockSize = try r.i32(416, "block_size")
            subHeaderBlocks = try r.i32(420, "sub_hdr_size")
            bitmapBlocks = try r.u32(424, "bitmap_blocks")
            maxMapnr = try r.u32(428, "max_mapnr")
            nrCPUs = try r.i32(448, "nr_cpus")
        }
        guard subHeaderBlocks >= 0 else {
            throw VMCoreError(.corrupt, file: file, offset: is64 ? 432 : 420, "corrupt kdump header", "sub_hdr_size is \(subHeaderBlocks)")
        }
    }
}

/// The kdump sub header, in the blocks after the main header (header version 1 and later).
///
/// Mirrors `struct kdump_sub_header`, makedumpfile `diskdump_mod.h` (linux.md A1.3): fields
/// appear by header version; three ABIs: 64-bit, i386 "32pack" and ARM/MIPS "32pad" (8-byte
/// `off_t` aligned to 8 after the 4-byte `unsigned long`s).
public struct KdumpSubHeader: Sendable, Equatable {
    public var physBase: UInt64 = 0
    public var dumpLevel: Int32 = 0
    public var split: Int32 = 0
    public var startPFN: UInt64 = 0
    public var endPFN: UInt64 = 0
    public var vmcoreinfoOffset: UInt64 = 0
    public var vmcoreinfoSize: UInt64 = 0
    public var noteOffset: UInt64 = 0
    public var noteSize: UInt64 = 0
    public var eraseinfoOffset: UInt64 = 0
    public var eraseinfoSize: UInt64 = 0
    public var startPFN64: UInt64 = 0
    public var endPFN64: UInt64 = 0
    public var maxMapnr64: UInt64 = 0

    public enum Layout: String, Sendable {
        case abi64 = "64-bit", pack32 = "32-bit packed", pad32 = "32-bit padded"

        /// A field's offset in this layout, given as (64-bit, 32pack, 32pad): the reader and
        /// the encoder use the same table.
        func offset(_ abi64: Int, _ pack32: Int, _ pad32: Int) -> Int {
            switch self {
            case .abi64: abi64
            case .pack32: pack32
            case .pad32: pad32
            }
        }
    }
    public var layout: Layout = .abi64

    public init() {}

    /// Parses the sub header of a file whose main header is `main`.
    public init(from source: any ByteSource, main: DiskDumpHeader) throws(VMCoreError) {
        let version = main.headerVersion
        guard version >= 1 else { return }
        let block = UInt64(main.blockSize)
        let size = main.is64 ? 104 : 96
        let available = Int(min(UInt64(size), source.size > block ? source.size - block : 0))
        let r = try source.reader(at: block, count: available, order: main.order, what: "kdump sub header")
        let payloadStart = (1 + UInt64(main.subHeaderBlocks)) * block
        if main.is64 {
            layout = .abi64
        } else if version >= 3 {
            // "32pack" if its vmcoreinfo fields are empty or point inside the sub-header blocks
            // (libkdumpfile read_sub_hdr_32); otherwise "32pad".
            let off = (try? r.u64(20, "offset_vmcoreinfo")) ?? 0
            let len = (try? r.u32(28, "size_vmcoreinfo")) ?? 0
            layout = (off == 0 && len == 0) || (off >= block && off < payloadStart) ? .pack32 : .pad32
        } else {
            layout = .pack32
        }
        let w = main.is64
        // Field offsets per layout: (64-bit, 32pack, 32pad).
        let at = layout.offset
        physBase = try r.word(0, is64: w, "phys_base")
        dumpLevel = try r.i32(at(8, 4, 4), "dump_level")
        if version >= 2 {
            split = try r.i32(at(12, 8, 8), "split")
            startPFN = try r.word(at(16, 12, 12), is64: w, "start_pfn")
            endPFN = try r.word(at(24, 16, 16), is64: w, "end_pfn")
        }
        if version >= 3 {
            vmcoreinfoOffset = try r.u64(at(32, 20, 24), "offset_vmcoreinfo")
            vmcoreinfoSize = try r.word(at(40, 28, 32), is64: w, "size_vmcoreinfo")
        }
        if version >= 4 {
            noteOffset = try r.u64(at(48, 32, 40), "offset_note")
            noteSize = try r.word(at(56, 40, 48), is64: w, "size_note")
        }
        if version >= 5 {
            eraseinfoOffset = try r.u64(at(64, 44, 56), "offset_eraseinfo")
            eraseinfoSize = try r.word(at(72, 52, 64), is64: w, "size_eraseinfo")
        }
        if version >= 6 {
            startPFN64 = try r.u64(at(80, 56, 72), "start_pfn_64")
            endPFN64 = try r.u64(at(88, 64, 80), "end_pfn_64")
            maxMapnr64 = try r.u64(at(96, 72, 88), "max_mapnr_64")
        }
    }
}
