/// The header of a FreeBSD minidump, whichever architecture wrote it.
///
/// Each architecture has its own `struct minidumphdr` (`sys/<arch>/include/minidump.h`); each is
/// read by its own reader, in the architecture's `Minidump+<Arch>.swift`, into this one type.
/// All four architectures read here are little-endian, and their minidumps say so only by their
/// magic (freebsd.md §4; libkvm reads every field with `le32toh`/`le64toh`).
public struct FreeBSDMinidumpHeader: Sendable, Equatable {
    /// The architectures whose minidumps this library reads, by the name their magic gives.
    public enum Machine: String, Sendable, Codable, CaseIterable {
        case amd64, arm64, i386, riscv

        /// The library's name for the architecture.
        public var architecture: Architecture {
            switch self {
            case .amd64: .x86_64
            case .arm64: .aarch64
            case .i386: .i386
            case .riscv: .riscv64
            }
        }

        /// The kernel's pointer width in bytes (i386 is ILP32, the rest LP64).
        public var pointerSize: Int { self == .i386 ? 4 : 8 }
    }

    public var machine: Machine
    public var version: UInt32
    /// `msgbufsize`: bytes of the message buffer section.
    public var messageBufferSize: UInt32
    /// `bitmapsize`: bytes of the page bitmap section.
    public var bitmapSize: UInt32
    /// `pmapsize` (`ptesize` on i386 and in amd64 v1): bytes of page-table entries for KVA
    /// from `kernbase`.
    public var pmapSize: UInt32
    /// `kernbase`: the first kernel virtual address the pmap section covers.
    public var kernelBase: UInt64
    /// `dmapphys`: the physical address the direct map starts at (arm64, riscv; 0 elsewhere).
    public var directMapPhysical: UInt64
    /// `dmapbase` and `dmapend`: the direct map's virtual range (empty on i386, which has none).
    public var directMapBase: UInt64
    public var directMapEnd: UInt64
    /// `dumpavailsize`: bytes of the `dump_avail` section, 0 for versions without one.
    public var dumpAvailSize: UInt32
    /// arm64 v3 `flags` (the page size); nil where the header has no such field.
    public var flags: UInt32?
    /// i386 `paemode`: whether the pmap holds 8-byte PAE entries; nil on other architectures.
    public var paeMode: Bool?
    /// The page size every section is rounded to, and the unit of the bitmap: 4096, or 16384
    /// for arm64 kernels built with 16 KiB pages.
    public var pageSize: Int
    /// Bytes of one pmap entry: 4 for non-PAE i386, else 8.
    public var pmapEntrySize: Int

    /// True when the file has a `dump_avail` section and the bitmap numbers pages across its
    /// ranges; before that, bit n is physical page n.
    public var hasDumpAvail: Bool { dumpAvailSize > 0 }

}

extension FreeBSDMinidumpHeader {
    /// The text every FreeBSD minidump magic starts with (libkvm `_kvm_is_minidump` checks "minidump").
    static let magicPrefix = Array("minidump FreeBSD/".utf8)

    /// The architecture name in a minidump's magic ("amd64" in "minidump FreeBSD/amd64"), or
    /// nil if `prefix` is not a FreeBSD minidump. Looks at up to 32 bytes: powerpc64's magic field
    /// is that long, the others' 24.
    public static func architectureName(_ prefix: [UInt8]) -> String? {
        guard prefix.starts(with: magicPrefix) else { return nil }
        let tail = prefix.prefix(32).dropFirst(magicPrefix.count).prefix { $0 != 0 }
        guard !tail.isEmpty, tail.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return String(decoding: tail, as: UTF8.self)
    }

    /// Reads the header at the start of `source`, with the reader its magic names.
    public init(source: any ByteSource) throws(VMCoreError) {
        let file = source.name
        // 128 bytes hold every architecture's struct; a shorter file fails on the field it lacks.
        let r = try source.reader(at: 0, count: Int(min(source.size, 128)), order: .little, what: "minidump header")
        guard let name = Self.architectureName(r.bytes) else {
            throw VMCoreError(.badMagic, file: file, offset: 0, "not a FreeBSD minidump", "expected \"minidump FreeBSD/<architecture>\"")
        }
        switch name {
        case Machine.amd64.rawValue: self = try Self.amd64(r)
        case Machine.arm64.rawValue: self = try Self.arm64(r)
        case Machine.i386.rawValue: self = try Self.i386(r)
        case Machine.riscv.rawValue: self = try Self.riscv(r)
        default:
            throw VMCoreError(.unsupported, file: file, offset: 0, "FreeBSD/\(name) minidumps are not supported",
                              "this library reads FreeBSD/amd64, arm64, i386 and riscv minidumps")
        }
    }

    /// The version, checked against what the architecture's FreeBSD writers have produced.
    static func version(_ r: ByteReader, _ machine: Machine, _ known: ClosedRange<UInt32>) throws(VMCoreError) -> UInt32 {
        let v = try r.u32(24, "version")
        guard known.contains(v) else {
            let expected = known.count == 2 ? "expected \(known.lowerBound) or \(known.upperBound)" : "expected \(known.lowerBound) to \(known.upperBound)"
            throw VMCoreError(.unsupported, file: r.file, offset: 24, "unknown \(machine.rawValue) minidump version \(v)", expected)
        }
        return v
    }
}
