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
    /// The operating system the dump is of, when the container says ("Linux", "FreeBSD").
    public let operatingSystem: String?
    /// Set when the file is a FreeBSD dump device (or an image of one): the headers and key
    /// around the payload that was opened.
    public let freebsdDevice: FreeBSDDumpDevice?
    /// The FreeBSD kernel file given with the dump (`--kernel`), for its symbols.
    public let freebsdKernel: FreeBSDKernel?
    /// True for a FreeBSD full dump: an ELF core of physical memory without notes.
    public var isFreeBSDFullDump: Bool { format == .elf && operatingSystem == "FreeBSD" }

    /// Opens `paths` as one dump (several paths only for a split kdump set).
    /// `rawBase` opens a headerless file as a raw physical memory image at that address.
    /// `force` reads a FreeBSD dump device that savecore would reject (cleared, bad parity,
    /// headers that disagree). `kernel` names the FreeBSD kernel file whose symbols full
    /// dumps need. A gzip- or zstd-compressed file (`vmcore.N.gz`, `vmcore.N.zst`) is read
    /// through its decompressed copy in `cache`, made on first open.
    public static func open(_ paths: [String], rawBase: UInt64? = nil, force: Bool = false, kernel: String? = nil,
                            cache: DecompressedCache = .standard) throws(VMCoreError) -> Dump {
        precondition(!paths.isEmpty)
        var sources: [any ByteSource] = []
        for path in paths { sources.append(try cache.source(forPath: path)) }
        return try Dump(sources: sources, rawBase: rawBase, force: force, kernel: try kernel.map(FreeBSDKernel.open))
    }

    public static func open(_ path: String) throws(VMCoreError) -> Dump { try open([path]) }

    public init(sources opened: [any ByteSource], rawBase: UInt64? = nil, force: Bool = false, kernel: FreeBSDKernel? = nil) throws(VMCoreError) {
        files = opened.map(\.name)
        freebsdKernel = kernel
        if let rawBase {
            guard opened.count == 1 else {
                throw VMCoreError(.usage, file: opened[1].name, "a raw memory image is one file", "give only one")
            }
            let raw = RawImage(source: opened[0], base: rawBase)
            (format, flattened, producer, variant) = (.raw, false, nil, "raw physical memory image at \(hex(rawBase))")
            (byteOrder, architecture, pageSize, memory) = (.little, .unknown, raw.pageSize, raw)
            (cpus, qemuCPUs, vmcoreinfo, vmcoreinfoOffset, kdump, elf, flattenedSources) = ([], [], nil, nil, nil, nil, [])
            (minidump, operatingSystem, freebsdDevice) = (nil, nil, nil)
            return
        }

        // Unwrap flattened streams first: what they hold is probed like any file.
        var sources: [any ByteSource] = []
        var flats: [FlattenedSource] = []
        for source in opened {
            let prefix = try source.bytes(at: 0, count: Int(min(64, source.size)), what: "file header")
            if FlattenedSource.probe(prefix) {
                let flat = try FlattenedSource(base: source)
                flats.append(flat)
                sources.append(flat)
            } else {
                sources.append(source)
            }
        }
        flattenedSources = flats
        flattened = !flats.isEmpty
        var source = sources[0]
        var prefix = try source.bytes(at: 0, count: Int(min(64, source.size)), what: "file header")

        // A FreeBSD dump device (or an image of one): the payload sits between the headers.
        var device: FreeBSDDumpDevice? = nil
        if sources.count == 1, !flattened, !Self.recognised(prefix), FreeBSDDumpDevice.probe(source) {
            let d = try FreeBSDDumpDevice(source: source, force: force)
            try Self.checkReadable(d)
            device = d
            source = try d.payload()
            sources = [source]
            prefix = try source.bytes(at: 0, count: Int(min(64, source.size)), what: "dump payload header")
        }
        freebsdDevice = device

        if FreeBSDMinidump.probe(prefix) {
            guard sources.count == 1 else {
                throw VMCoreError(.usage, file: sources[1].name, "only kdump-compressed dumps come as split sets", "\(source.name) is a FreeBSD minidump")
            }
            let m = try FreeBSDMinidump(source: source)
            (minidump, operatingSystem, kdump, elf) = (m, "FreeBSD", nil, nil)
            (format, memory, byteOrder, pageSize, architecture) = (.freebsdMinidump, m, .little, m.pageSize, m.architecture)
            (cpus, qemuCPUs, vmcoreinfo, vmcoreinfoOffset) = ([], [], nil, nil)
            producer = "FreeBSD kernel"
            variant = m.variant
            return
        }

        if KdumpFile.probe(prefix) {
            let k = try KdumpFile(sources: sources)
            (minidump, operatingSystem) = (nil, "Linux")
            kdump = k
            elf = nil
            format = .kdumpCompressed
            memory = k
            byteOrder = k.header.order
            pageSize = k.pageSize
            let info = k.vmcoreinfo.map { VMCoreInfo(text: $0.text) }
            vmcoreinfo = info
            vmcoreinfoOffset = k.vmcoreinfo?.offset
            let firstCPUSize = k.notes.first { $0.name == "CORE" && $0.type == CoreNotes.prstatus }?.descriptor.count
            architecture = Architecture(machineName: k.header.machine)
                ?? firstCPUSize.flatMap(CoreNotes.architecture(prstatusSize:))
                ?? Self.architecture(from: info) ?? .unknown
            let notes = CoreNotes(k.notes, architecture: architecture, file: source.name, order: byteOrder)
            cpus = notes.cpus
            qemuCPUs = notes.qemuCPUs
            // QEMU fills only utsname.machine (linux.md A1.2); makedumpfile copies the whole utsname.
            let qemu = k.header.release.isEmpty && k.header.sysname.isEmpty
            producer = qemu ? "QEMU" : "makedumpfile"
            var v = "kdump-compressed v\(k.header.headerVersion)"
            if k.parts.count > 1 {
                v += ", split set of \(k.parts.count) files"
            } else if k.subHeader.split != 0 {
                v += ", one file of a split set: PFNs \(hex(k.parts[0].startPFN))-\(hex(k.parts[0].endPFN))"
            }
            variant = (flattened ? "flattened " : "") + v + " (\(producer!))"
            return
        }

        if ELFCore.probe(prefix) {
            guard sources.count == 1 else {
                throw VMCoreError(.usage, file: sources[1].name, "only kdump-compressed dumps come as split sets", "\(source.name) is an ELF core")
            }
            let e = try ELFCore(source: source)
            elf = e
            minidump = nil
            // FreeBSD full dumps are ELF cores with EI_OSABI = ELFOSABI_STANDALONE and no notes
            // (sys/kern/kern_dump.c dumpsys_gen_header).
            let freebsd = e.notes.isEmpty && (e.header.osABI == 255 || device != nil)
            operatingSystem = freebsd ? "FreeBSD" : e.notes.isEmpty ? nil : "Linux"
            kdump = nil
            format = .elf
            memory = e
            byteOrder = e.header.order
            pageSize = e.pageSize
            architecture = e.architecture
            let notes = CoreNotes(e.notes, architecture: architecture, file: source.name, order: byteOrder)
            cpus = notes.cpus
            qemuCPUs = notes.qemuCPUs
            vmcoreinfo = notes.vmcoreinfo.map { VMCoreInfo(text: $0.text) }
            vmcoreinfoOffset = notes.vmcoreinfo?.offset
            // QEMU writes a "QEMU" note per x86 vCPU and, since 7.2, puts its section headers
            // between the ELF header and the program headers, which no kdump writer does.
            let qemu = !notes.qemuCPUs.isEmpty
                || (e.header.sectionHeaderOffset != 0 && e.header.sectionHeaderOffset < e.header.programHeaderOffset)
            if freebsd {
                producer = "FreeBSD kernel"
                variant = "FreeBSD/\(Self.freebsdArchitectureName(architecture)) full dump (ELF)"
                return
            }
            producer = qemu ? "QEMU" : "kernel"
            variant = (flattened ? "flattened " : "") + (qemu ? "QEMU ELF" : "kdump ELF") + (e.header.is64 ? "" : " (32-bit)")
            return
        }

        throw Textdump.holdsNoMemory(source) ?? Self.unknownFormat(source.name, prefix)
    }

    /// Kernel virtual memory: the minidump's own translation, a FreeBSD full dump's page tables
    /// found through the kernel file's symbols, or the Linux kernel's page tables.
    public func kernelAddressSpace() throws(VMCoreError) -> KernelAddressSpace {
        if let minidump { return minidump.makeAddressSpace() }
        if isFreeBSDFullDump { return try freebsdPageTables() }
        return try LinuxKernel(dump: self).addressSpace
    }

    /// True when `prefix` starts a format `Dump` reads directly.
    static func recognised(_ prefix: [UInt8]) -> Bool {
        FreeBSDMinidump.probe(prefix) || KdumpFile.probe(prefix) || ELFCore.probe(prefix) || FlattenedSource.probe(prefix)
    }

    /// FreeBSD's MACHINE_ARCH for an architecture ("amd64", "i386", "aarch64", "riscv64").
    static func freebsdArchitectureName(_ a: Architecture) -> String {
        switch a {
        case .x86_64: "amd64"
        case .aarch64: "arm64"
        default: a.rawValue
        }
    }

    /// Refuses, with the reason, a device dump whose payload cannot be read as memory in place.
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
        if d.header.compression != .none {
            throw VMCoreError(.unsupported, file: file, offset: d.payloadOffset, "the dump is \(d.header.compression.name)-compressed on the device",
                              "save it with savecore (vmcore.N\(d.header.compression.suffix ?? "")) and read the saved file")
        }
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
