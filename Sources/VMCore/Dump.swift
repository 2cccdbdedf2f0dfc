/// A crash dump, opened: the container format recognised, physical memory readable, and the
/// facts its headers and notes state.
///
/// `Dump.open` probes the formats in order (flattened, kdump-compressed, ELF core); "not
/// mine" is not an error, and a file nothing recognises is reported with its first bytes.
public final class Dump: Sendable {
    /// The container format.
    public enum Format: String, Sendable, Codable {
        case elf
        case kdumpCompressed = "kdump-compressed"
        case freebsdMinidump = "freebsd-minidump"
        case raw
    }

    /// The files, as the user named them (several for a `makedumpfile --split` set).
    public let files: [String]
    public let format: Format
    /// True when the file is a makedumpfile flattened stream holding `format`.
    public let flattened: Bool
    /// Which program wrote it: "QEMU", "makedumpfile", "kernel" (the kdump ELF core), or nil.
    public let producer: String?
    /// A short human description: "kdump-compressed v6 (makedumpfile)", "QEMU ELF", ….
    public let variant: String
    public let byteOrder: ByteOrder
    public let architecture: Architecture
    public let pageSize: Int
    public let memory: any PhysicalMemory
    public let cpus: [SavedCPU]
    public let qemuCPUs: [QEMUCPUState]
    public let vmcoreinfo: VMCoreInfo?
    /// The file offset of the VMCOREINFO text, if the dump carries it.
    public let vmcoreinfoOffset: UInt64?
    /// Set when the container is kdump-compressed.
    public let kdump: KdumpFile?
    /// Set when the container is an ELF core.
    public let elf: ELFCore?
    /// Set for flattened input (the first file's stream index).
    public let flattenedSources: [FlattenedSource]
    /// Set when the dump is a FreeBSD minidump.
    public let minidump: FreeBSDMinidump?
    /// The operating system the dump is of, when the container says.
    public let operatingSystem: OperatingSystem?
    /// Set when the file is a FreeBSD dump device (or an image of one): the headers and key
    /// around the payload that was opened.
    public let freebsdDevice: FreeBSDDumpDevice?
    /// The FreeBSD kernel file given with the dump (`--kernel`), for its symbols.
    public let freebsdKernel: FreeBSDKernel?
    /// True for a FreeBSD full dump: an ELF core of physical memory without notes.
    public var isFreeBSDFullDump: Bool { format == .elf && operatingSystem == .freebsd }

    /// Opens `paths` as one dump (several paths only for a split kdump set).
    /// `rawBase` opens a headerless file as a raw physical memory image at that address.
    /// `force` reads a FreeBSD dump device that savecore would reject (cleared, bad parity,
    /// headers that disagree). `kernel` names the FreeBSD kernel file whose symbols full
    /// dumps need. A gzip- or zstd-compressed file (`vmcore.N.gz`, `vmcore.N.zst`) is read
    /// through its decompressed copy in `cache`, made on first open.
    public static func open(_ paths: [String], rawBase: UInt64? = nil, force: Bool = false, kernel: String? = nil,
                            cache: DecompressedCache = .standard) throws(VMCoreError) -> Dump {
        try OpenedDump.open(paths, rawBase: rawBase, force: force, kernel: kernel, cache: cache).memoryDump()
    }

    public static func open(_ path: String) throws(VMCoreError) -> Dump { try open([path]) }

    /// `cache` holds the decompressed copy of a dump the kernel compressed on a dump device.
    public init(sources opened: [any ByteSource], rawBase: UInt64? = nil, force: Bool = false, kernel: FreeBSDKernel? = nil,
                cache: DecompressedCache = .standard) throws(VMCoreError) {
        files = opened.map(\.name)
        freebsdKernel = kernel
        let parts: Parts
        if let rawBase {
            guard opened.count == 1 else {
                throw VMCoreError(.usage, file: opened[1].name, "a raw memory image is one file", "give only one")
            }
            (parts, flattenedSources, freebsdDevice) = (Self.raw(opened[0], base: rawBase), [], nil)
        } else {
            // Unwrap flattened streams first: what they hold is probed like any file.
            var sources: [any ByteSource] = []
            var flats: [FlattenedSource] = []
            for source in opened {
                if Container.flattened.matches(prefix: try Container.leadingBytes(source)) {
                    let flat = try FlattenedSource(base: source)
                    flats.append(flat)
                    sources.append(flat)
                } else {
                    sources.append(source)
                }
            }
            flattenedSources = flats
            var container = try Container.identify(sources[0])
            // A FreeBSD dump device (or an image of one): the payload sits between the headers.
            var device: FreeBSDDumpDevice? = nil
            if sources.count == 1, flats.isEmpty, container == .freebsdDumpDevice {
                let d = try FreeBSDDumpDevice(source: sources[0], force: force)
                try Self.checkReadable(d)
                device = d
                sources = [try Self.payload(d, cache: cache)]
                container = Container.identify(prefix: try Container.leadingBytes(sources[0]))
            }
            freebsdDevice = device
            if sources.count > 1, container != .kdumpCompressed {
                throw VMCoreError(.usage, file: sources[1].name, "only kdump-compressed dumps come as split sets",
                                  "\(sources[0].name) is \(container.map { "a \($0.name)" } ?? "not a dump")")
            }
            switch container {
            case .freebsdMinidump: parts = try Self.minidump(sources[0])
            case .kdumpCompressed: parts = try Self.kdump(sources, flattened: !flats.isEmpty)
            case .elf: parts = try Self.elf(sources[0], flattened: !flats.isEmpty, onDevice: device != nil)
            default:
                if let e = Textdump.holdsNoMemory(sources[0]) { throw e }
                throw Self.unknownFormat(sources[0].name, try Container.leadingBytes(sources[0]))
            }
        }
        flattened = !flattenedSources.isEmpty
        (format, producer, variant, byteOrder, architecture, pageSize) = (parts.format, parts.producer, parts.variant, parts.byteOrder, parts.architecture, parts.pageSize)
        (memory, cpus, qemuCPUs, vmcoreinfo, vmcoreinfoOffset) = (parts.memory, parts.cpus, parts.qemuCPUs, parts.vmcoreinfo, parts.vmcoreinfoOffset)
        (kdump, elf, minidump, operatingSystem) = (parts.kdump, parts.elf, parts.minidump, parts.operatingSystem)
    }

    /// What each container's reader gives a `Dump`.
    struct Parts {
        var format: Format
        var producer: String?
        var variant: String
        var byteOrder: ByteOrder
        var architecture: Architecture
        var pageSize: Int
        var memory: any PhysicalMemory
        var cpus: [SavedCPU] = []
        var qemuCPUs: [QEMUCPUState] = []
        var vmcoreinfo: VMCoreInfo? = nil
        var vmcoreinfoOffset: UInt64? = nil
        var kdump: KdumpFile? = nil
        var elf: ELFCore? = nil
        var minidump: FreeBSDMinidump? = nil
        var operatingSystem: OperatingSystem? = nil
    }

    static func raw(_ source: any ByteSource, base: UInt64) -> Parts {
        let raw = RawImage(source: source, base: base)
        return Parts(format: .raw, producer: nil, variant: "raw physical memory image at \(hex(base))", byteOrder: .little,
                     architecture: .unknown, pageSize: raw.pageSize, memory: raw)
    }

    static func minidump(_ source: any ByteSource) throws(VMCoreError) -> Parts {
        let m = try FreeBSDMinidump(source: source)
        return Parts(format: .freebsdMinidump, producer: "FreeBSD kernel", variant: m.variant, byteOrder: .little,
                     architecture: m.architecture, pageSize: m.pageSize, memory: m, minidump: m, operatingSystem: .freebsd)
    }

    static func kdump(_ sources: [any ByteSource], flattened: Bool) throws(VMCoreError) -> Parts {
        let k = try KdumpFile(sources: sources)
        let info = k.vmcoreinfo.map { VMCoreInfo(text: $0.text) }
        let firstCPUSize = k.notes.first { $0.name == "CORE" && $0.type == CoreNotes.prstatus }?.descriptor.count
        let architecture = Architecture(machineName: k.header.machine)
            ?? firstCPUSize.flatMap(Architecture.init(prstatusSize:))
            ?? Self.architecture(from: info) ?? .unknown
        let notes = CoreNotes(k.notes, architecture: architecture, file: sources[0].name, order: k.header.order)
        // QEMU fills only utsname.machine (linux.md A1.2); makedumpfile copies the whole utsname.
        let producer = k.header.release.isEmpty && k.header.sysname.isEmpty ? "QEMU" : "makedumpfile"
        var v = "kdump-compressed v\(k.header.headerVersion)"
        if k.parts.count > 1 {
            v += ", split set of \(k.parts.count) files"
        } else if k.subHeader.split != 0 {
            v += ", one file of a split set: PFNs \(hex(k.parts[0].startPFN))-\(hex(k.parts[0].endPFN))"
        }
        return Parts(format: .kdumpCompressed, producer: producer, variant: (flattened ? "flattened " : "") + v + " (\(producer))",
                     byteOrder: k.header.order, architecture: architecture, pageSize: k.pageSize, memory: k,
                     cpus: notes.cpus, qemuCPUs: notes.qemuCPUs, vmcoreinfo: info, vmcoreinfoOffset: k.vmcoreinfo?.offset,
                     kdump: k, operatingSystem: .linux)
    }

    static func elf(_ source: any ByteSource, flattened: Bool, onDevice: Bool) throws(VMCoreError) -> Parts {
        let e = try ELFCore(source: source) { notes in
            CoreNotes(notes, architecture: .unknown, file: source.name, order: .little).vmcoreinfo.flatMap { VMCoreInfo(text: $0.text).pageSize }
        }
        let notes = CoreNotes(e.notes, architecture: e.architecture, file: source.name, order: e.header.order)
        var parts = Parts(format: .elf, producer: nil, variant: "", byteOrder: e.header.order, architecture: e.architecture,
                          pageSize: e.pageSize, memory: e, cpus: notes.cpus, qemuCPUs: notes.qemuCPUs,
                          vmcoreinfo: notes.vmcoreinfo.map { VMCoreInfo(text: $0.text) }, vmcoreinfoOffset: notes.vmcoreinfo?.offset, elf: e)
        // FreeBSD full dumps are ELF cores with EI_OSABI = ELFOSABI_STANDALONE and no notes
        // (sys/kern/kern_dump.c dumpsys_gen_header).
        if e.notes.isEmpty && (e.header.osABI == 255 || onDevice) {
            parts.operatingSystem = .freebsd
            parts.producer = "FreeBSD kernel"
            parts.variant = "FreeBSD/\(Self.freebsdArchitectureName(e.architecture)) full dump (ELF)"
            return parts
        }
        parts.operatingSystem = e.notes.isEmpty ? nil : .linux
        // QEMU writes a "QEMU" note per x86 vCPU and, since 7.2, puts its section headers
        // between the ELF header and the program headers, which no kdump writer does.
        let qemu = !notes.qemuCPUs.isEmpty
            || (e.header.sectionHeaderOffset != 0 && e.header.sectionHeaderOffset < e.header.programHeaderOffset)
        parts.producer = qemu ? "QEMU" : "kernel"
        parts.variant = (flattened ? "flattened " : "") + (qemu ? "QEMU ELF" : "kdump ELF") + (e.header.is64 ? "" : " (32-bit)")
        return parts
    }

    /// Kernel virtual memory: the minidump's own translation, a FreeBSD full dump's page tables
    /// found through the kernel file's symbols, or the Linux kernel's page tables.
    public func kernelAddressSpace() throws(VMCoreError) -> KernelAddressSpace {
        if let minidump { return minidump.makeAddressSpace() }
        if isFreeBSDFullDump { return try freebsdPageTables() }
        return try LinuxKernel(dump: self).addressSpace
    }

    /// FreeBSD's MACHINE_ARCH for an architecture ("amd64", "i386", "aarch64", "riscv64").
    static func freebsdArchitectureName(_ a: Architecture) -> String {
        switch a {
        case .x86_64: "amd64"
        case .aarch64: "arm64"
        default: a.rawValue
        }
    }

    /// Refuses, with the reason, a device dump whose payload cannot be read as memory.
    static func checkReadable(_ d: FreeBSDDumpDevice) throws(VMCoreError) {
        let file = d.source.name
        if let key = d.key {
            let cipher = KernelDumpKey.Cipher(rawValue: key.encryption)?.name ?? "cipher \(key.encryption)"
            throw VMCoreError(.unsupported, file: file, offset: d.payloadOffset, "the dump is encrypted (\(cipher), key at \(hex(d.keyOffset ?? 0)))",
                              "save it with savecore (vmcore_encrypted.N and key.N), then decrypt it with the RSA private key (decryptcore) before reading it")
        }
        if d.header.kind == .textDump {
            throw Textdump.holdsNoMemory(d.source) ?? VMCoreError(.unsupported, file: file, offset: d.leaderOffset, "a textdump holds no memory")
        }
    }

    /// The dump inside a device: the payload itself, or, when the kernel compressed it (gzip or
    /// zstd), its decompressed copy in `cache`, made once, as for `vmcore.N.zst`.
    static func payload(_ d: FreeBSDDumpDevice, cache: DecompressedCache) throws(VMCoreError) -> any ByteSource {
        let payload = try d.payload()
        let format: StreamDecoder.Format
        switch d.header.compression {
        case .none: return payload
        case .gzip: format = .gzip
        case .zstd: format = .zstd
        }
        // What tells one dump on this device from the next: its time, length and parity.
        var version = ByteWriter(order: .little)
        version.u64(d.header.dumpTime, at: 0)
        version.u64(d.header.dumpLength, at: 8)
        version.u32(d.header.parity, at: 16)
        return try cache.source(forEmbedded: payload, format: format, in: d.source, at: d.payloadOffset, version: version.bytes)
    }

    static func architecture(from info: VMCoreInfo?) -> Architecture? {
        guard let info else { return nil }
        if info.symbol("init_top_pgt") != nil || info.symbol("init_level4_pgt") != nil { return .x86_64 }
        if info.number("VA_BITS") != nil && info.number("kimage_voffset") != nil { return .aarch64 }
        return nil
    }

    static func unknownFormat(_ file: String, _ prefix: [UInt8]) -> VMCoreError {
        if prefix.isEmpty { return VMCoreError(.truncated, file: file, "is empty", "a dump starts with a header") }
        let shown = prefix.prefix(16).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
        // savecore and netdumpd name an encrypted dump vmcore_encrypted.N (vmcore_encrypted.HOST.N):
        // ciphertext with no header of its own.
        if file.split(separator: "/").last?.hasPrefix("vmcore_encrypted") == true {
            return VMCoreError(.unsupported, file: file, offset: 0, "an encrypted FreeBSD dump",
                               "decrypt it first with its key file (key.N, saved beside it) and the RSA private key that matches the public key given to dumpon -k")
        }
        if prefix.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
            return VMCoreError(.unsupported, file: file, offset: 0, "zstd-compressed data", "decompress it first (zstd -d)")
        }
        if prefix.starts(with: [0x1f, 0x8b]) {
            return VMCoreError(.unsupported, file: file, offset: 0, "gzip-compressed data", "decompress it first (gunzip)")
        }
        return VMCoreError(.badMagic, file: file, offset: 0, "unknown dump format",
                           "the first bytes are \(shown); expected an ELF core (7f 45 4c 46), a kdump-compressed file (\"KDUMP   \"), a makedumpfile flattened stream (\"makedumpfile\"), a FreeBSD minidump (\"minidump FreeBSD/…\") or a FreeBSD dump device (a dump header in its last block)")
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
