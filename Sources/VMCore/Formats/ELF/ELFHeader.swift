/// The ELF file header of a core file.
///
/// Mirrors `Elf32_Ehdr` / `Elf64_Ehdr` (`<elf.h>`, System V gABI); both classes fill this one
/// type. Byte order comes from `e_ident[EI_DATA]`, decided once here for the whole file.
public struct ELFHeader: Sendable, Equatable {
    public var is64: Bool
    public var order: ByteOrder
    /// `EI_OSABI`: 0 for System V (Linux cores), 255 (`ELFOSABI_STANDALONE`) for FreeBSD full dumps.
    public var osABI: UInt8
    public var type: UInt16
    public var machine: UInt16
    public var entry: UInt64
    public var programHeaderOffset: UInt64
    public var sectionHeaderOffset: UInt64
    public var flags: UInt32
    /// `e_ehsize`; QEMU writes 8 here, so nothing depends on it.
    public var headerSize: UInt16
    public var programHeaderEntrySize: UInt16
    /// The raw `e_phnum`; `PN_XNUM` (0xffff) means the count is in section header 0's `sh_info`.
    public var programHeaderCount: UInt16
    public var sectionHeaderEntrySize: UInt16
    public var sectionHeaderCount: UInt16
    public var sectionNameIndex: UInt16

    public static let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
    public static let coreType: UInt16 = 4       // ET_CORE
    public static let extendedNumbering: UInt16 = 0xffff  // PN_XNUM

    /// True if `prefix` starts like an ELF file of a class and byte order we know.
    public static func probe(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 16 && Array(prefix[0..<4]) == magic && (1...2).contains(prefix[4]) && (1...2).contains(prefix[5])
    }

    /// Parses the header at the start of `source`.
    public init(from source: any ByteSource) throws(VMCoreError) {
        let ident = try source.bytes(at: 0, count: 16, what: "ELF identification")
        guard Array(ident[0..<4]) == Self.magic else {
            throw VMCoreError(.badMagic, file: source.name, offset: 0, "not an ELF file", "expected 7f 45 4c 46")
        }
        switch ident[4] {
        case 1: is64 = false
        case 2: is64 = true
        default: throw VMCoreError(.corrupt, file: source.name, offset: 4, "unknown ELF class \(ident[4])", "expected 1 (32-bit) or 2 (64-bit)")
        }
        switch ident[5] {
        case 1: order = .little
        case 2: order = .big
        default: throw VMCoreError(.corrupt, file: source.name, offset: 5, "unknown ELF data encoding \(ident[5])", "expected 1 (little-endian) or 2 (big-endian)")
        }
        osABI = ident[7]
        let r = try source.reader(at: 0, count: is64 ? 64 : 52, order: order, what: "ELF header")
        type = try r.u16(16, "e_type")
        machine = try r.u16(18, "e_machine")
        if is64 {
            entry = try r.u64(24, "e_entry")
            programHeaderOffset = try r.u64(32, "e_phoff")
            sectionHeaderOffset = try r.u64(40, "e_shoff")
            flags = try r.u32(48, "e_flags")
            headerSize = try r.u16(52, "e_ehsize")
            programHeaderEntrySize = try r.u16(54, "e_phentsize")
            programHeaderCount = try r.u16(56, "e_phnum")
            sectionHeaderEntrySize = try r.u16(58, "e_shentsize")
            sectionHeaderCount = try r.u16(60, "e_shnum")
            sectionNameIndex = try r.u16(62, "e_shstrndx")
        } else {
            entry = UInt64(try r.u32(24, "e_entry"))
            programHeaderOffset = UInt64(try r.u32(28, "e_phoff"))
            sectionHeaderOffset = UInt64(try r.u32(32, "e_shoff"))
            flags = try r.u32(36, "e_flags")
            headerSize = try r.u16(40, "e_ehsize")
            programHeaderEntrySize = try r.u16(42, "e_phentsize")
            programHeaderCount = try r.u16(44, "e_phnum")
            sectionHeaderEntrySize = try r.u16(46, "e_shentsize")
            sectionHeaderCount = try r.u16(48, "e_shnum")
            sectionNameIndex = try r.u16(50, "e_shstrndx")
        }
    }
}

/// One program header.
///
/// Mirrors `Elf32_Phdr` / `Elf64_Phdr` (`<elf.h>`); the 32-bit layout orders the fields
/// differently (`p_flags` after `p_memsz`), both fill this one type.
public struct ProgramHeader: Sendable, Equatable {
    public var type: UInt32
    public var flags: UInt32
    public var offset: UInt64
    public var virtualAddress: UInt64
    public var physicalAddress: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64
    public var align: UInt64

    public static let load: UInt32 = 1  // PT_LOAD
    public static let note: UInt32 = 4  // PT_NOTE

    public init(type: UInt32, flags: UInt32 = 0, offset: UInt64, virtualAddress: UInt64, physicalAddress: UInt64,
                fileSize: UInt64, memorySize: UInt64, align: UInt64 = 0) {
        self.type = type
        self.flags = flags
        self.offset = offset
        self.virtualAddress = virtualAddress
        self.physicalAddress = physicalAddress
        self.fileSize = fileSize
        self.memorySize = memorySize
        self.align = align
    }

    init(_ r: ByteReader, at o: Int, is64: Bool) throws(VMCoreError) {
        if is64 {
            type = try r.u32(o, "p_type")
            flags = try r.u32(o + 4, "p_flags")
            offset = try r.u64(o + 8, "p_offset")
            virtualAddress = try r.u64(o + 16, "p_vaddr")
            physicalAddress = try r.u64(o + 24, "p_paddr")
            fileSize = try r.u64(o + 32, "p_filesz")
            memorySize = try r.u64(o + 40, "p_memsz")
            align = try r.u64(o + 48, "p_align")
        } else {
            type = try r.u32(o, "p_type")
            offset = UInt64(try r.u32(o + 4, "p_offset"))
            virtualAddress = UInt64(try r.u32(o + 8, "p_vaddr"))
            physicalAddress = UInt64(try r.u32(o + 12, "p_paddr"))
            fileSize = UInt64(try r.u32(o + 16, "p_filesz"))
            memorySize = UInt64(try r.u32(o + 20, "p_memsz"))
            flags = try r.u32(o + 24, "p_flags")
            align = UInt64(try r.u32(o + 28, "p_align"))
        }
    }
}
