/// One section header.
///
/// Mirrors `Elf32_Shdr` / `Elf64_Shdr` (`<elf.h>`); both layouts fill this one type.
public struct SectionHeader: Sendable, Equatable {
    public var nameOffset: UInt32
    public var type: UInt32
    public var flags: UInt64
    public var address: UInt64
    public var offset: UInt64
    public var size: UInt64
    public var link: UInt32
    public var info: UInt32
    public var alignment: UInt64
    public var entrySize: UInt64

    public static let symbolTable: UInt32 = 2    // SHT_SYMTAB
    public static let stringTable: UInt32 = 3    // SHT_STRTAB
    public static let noBits: UInt32 = 8         // SHT_NOBITS
    public static let dynamicSymbols: UInt32 = 11 // SHT_DYNSYM

    init(_ r: ByteReader, at o: Int, is64: Bool) throws(VMCoreError) {
        nameOffset = try r.u32(o, "sh_name")
        type = try r.u32(o + 4, "sh_type")
        if is64 {
            flags = try r.u64(o + 8, "sh_flags"); address = try r.u64(o + 16, "sh_addr")
            offset = try r.u64(o + 24, "sh_offset"); size = try r.u64(o + 32, "sh_size")
            link = try r.u32(o + 40, "sh_link"); info = try r.u32(o + 44, "sh_info")
            alignment = try r.u64(o + 48, "sh_addralign"); entrySize = try r.u64(o + 56, "sh_entsize")
        } else {
            flags = UInt64(try r.u32(o + 8, "sh_flags")); address = UInt64(try r.u32(o + 12, "sh_addr"))
            offset = UInt64(try r.u32(o + 16, "sh_offset")); size = UInt64(try r.u32(o + 20, "sh_size"))
            link = try r.u32(o + 24, "sh_link"); info = try r.u32(o + 28, "sh_info")
            alignment = UInt64(try r.u32(o + 32, "sh_addralign")); entrySize = UInt64(try r.u32(o + 36, "sh_entsize"))
        }
    }
}

/// The symbols of an ELF file (a kernel image): `.symtab`, or `.dynsym` when the file was
/// stripped of its full table.
///
/// Entries mirror `Elf32_Sym` / `Elf64_Sym` (`<elf.h>`). Only named symbols with a value are
/// kept; when a name occurs more than once, the first global definition wins.
public struct ELFSymbolTable: Sendable {
    public struct Symbol: Sendable, Equatable {
        public var name: String
        public var value: UInt64
        public var size: UInt64
    }

    public let file: String
    public let header: ELFHeader
    public let architecture: Architecture
    public let sections: [SectionHeader]
    /// Which table the symbols came from: ".symtab" or ".dynsym".
    public let tableName: String
    private let byName: [String: Symbol]

    public var count: Int { byName.count }
    /// Every kept symbol, in no particular order.
    public var symbols: [Symbol] { Array(byName.values) }

    public func symbol(_ name: String) -> Symbol? { byName[name] }
    public func address(_ name: String) -> UInt64? { byName[name]?.value }

    public static func open(_ path: String) throws(VMCoreError) -> ELFSymbolTable {
        try ELFSymbolTable(source: try FileSource(path: path))
    }

    public init(source: any ByteSource) throws(VMCoreError) {
        let file = source.name
        self.file = file
        let h = try ELFHeader(from: source)
        header = h
        architecture = Architecture(elfMachine: h.machine, is64: h.is64)
        let entrySize = Int(h.sectionHeaderEntrySize)
        guard h.sectionHeaderOffset != 0 else {
            throw VMCoreError(.unsupported, file: file, offset: h.is64 ? 40 : 32, "the ELF file has no section headers",
                              "a kernel's symbols are found through its section headers")
        }
        guard entrySize >= (h.is64 ? 64 : 40) else {
            throw VMCoreError(.corrupt, file: file, offset: h.is64 ? 58 : 46, "section header entries of \(entrySize) bytes are too small",
                              "expected at least \(h.is64 ? 64 : 40)")
        }
        var count = UInt64(h.sectionHeaderCount)
        if count == 0 {
            // SHN_UNDEF's sh_size holds the count when there are 0xff00 or more (extended numbering).
            let r0 = try source.reader(at: h.sectionHeaderOffset, count: entrySize, order: h.order, what: "section header 0")
            count = try SectionHeader(r0, at: 0, is64: h.is64).size
        }
        guard count <= (source.size / UInt64(entrySize)) else {
            throw VMCoreError(.corrupt, file: file, offset: h.sectionHeaderOffset, "\(count) section headers cannot fit in the file",
                              "the file has \(source.size) bytes")
        }
        let r = try source.reader(at: h.sectionHeaderOffset, count: Int(count) * entrySize, order: h.order, what: "section headers")
        var sections: [SectionHeader] = []
        for i in 0..<Int(count) { sections.append(try SectionHeader(r, at: i * entrySize, is64: h.is64)) }
        self.sections = sections

        guard let tableIndex = sections.firstIndex(where: { $0.type == SectionHeader.symbolTable })
                ?? sections.firstIndex(where: { $0.type == SectionHeader.dynamicSymbols }) else {
            throw VMCoreError(.unsupported, file: file, "the ELF file has no symbol table", "expected a .symtab or .dynsym section")
        }
        let table = sections[tableIndex]
        tableName = table.type == SectionHeader.symbolTable ? ".symtab" : ".dynsym"
        let tableAt = h.sectionHeaderOffset + UInt64(tableIndex * entrySize)
        guard Int(table.link) < sections.count, sections[Int(table.link)].type == SectionHeader.stringTable else {
            throw VMCoreError(.corrupt, file: file, offset: tableAt, "the symbol table's string table is missing",
                              "sh_link \(table.link) does not name a string table section")
        }
        let strings = sections[Int(table.link)]
        let symbolSize = h.is64 ? 24 : 16
        guard table.entrySize == 0 || table.entrySize == UInt64(symbolSize) else {
            throw VMCoreError(.corrupt, file: file, offset: tableAt, "symbol table entries of \(table.entrySize) bytes",
                              "expected \(symbolSize)")
        }
        let stringBytes = try source.bytes(at: strings.offset, count: Int(clamping: strings.size), what: "string table")
        let symbols = try source.reader(at: table.offset, count: Int(clamping: table.size), order: h.order, what: "symbol table")
        var byName: [String: Symbol] = [:]
        var global: Set<String> = []
        var i = symbolSize  // entry 0 is the null symbol
        while i + symbolSize <= symbols.count {
            let nameOffset = Int(try symbols.u32(i, "st_name"))
            let value: UInt64, size: UInt64, info: UInt8, shndx: UInt16
            if h.is64 {
                info = try symbols.u8(i + 4, "st_info"); shndx = try symbols.u16(i + 6, "st_shndx")
                value = try symbols.u64(i + 8, "st_value"); size = try symbols.u64(i + 16, "st_size")
            } else {
                value = UInt64(try symbols.u32(i + 4, "st_value")); size = UInt64(try symbols.u32(i + 8, "st_size"))
                info = try symbols.u8(i + 12, "st_info"); shndx = try symbols.u16(i + 14, "st_shndx")
            }
            i += symbolSize
            guard shndx != 0, nameOffset > 0, nameOffset < stringBytes.count else { continue }  // undefined or unnamed
            let end = stringBytes[nameOffset...].firstIndex(of: 0) ?? stringBytes.count
            let name = String(decoding: stringBytes[nameOffset..<end], as: UTF8.self)
            let isGlobal = info >> 4 != 0  // STB_GLOBAL or STB_WEAK
            if byName[name] == nil || (isGlobal && !global.contains(name)) {
                byName[name] = Symbol(name: name, value: value, size: size)
                if isGlobal { global.insert(name) }
            }
        }
        self.byName = byName
    }
}
