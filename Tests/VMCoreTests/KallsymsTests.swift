import Testing
import VMCore
import VMCoreTestSupport

@Suite("kallsyms decoding")
struct KallsymsTests {
    static let base: UInt64 = 0xffff_ffff_9400_0000
    static let symbols: [(type: Character, name: String, address: UInt64)] = [
        ("A", "fixed_percpu_data", 0), ("A", "cpu_tss_rw", 0x6000),
        ("T", "_text", base), ("T", "_stext", base), ("t", "sys_init_module", base + 0x1000),
        ("T", "__x64_sys_read", base + 0x1040), ("D", "linux_banner", base + 0x20_0000),
        ("d", String(repeating: "long_name_", count: 20), base + 0x20_0100), ("B", "_end", base + 0x40_0000),
    ]

    @Test("every address encoding, chosen by where it puts _stext", arguments: [
        Kallsyms.AddressEncoding.absolute, .baseRelative, .absolutePercpu, .placeRelative,
    ])
    func encodings(_ encoding: Kallsyms.AddressEncoding) throws {
        // Per-CPU offsets only exist in the absolute encodings' tables.
        let list = encoding == .absolute || encoding == .absolutePercpu ? Self.symbols : Array(Self.symbols.dropFirst(2))
        let tables = KallsymsBuilder(symbols: list).tables(encoding, base: Self.base, offsetsAddress: Self.base + 0x30_0000)
        let k = try tables.decode(stext: Self.base, source: "test").get()
        #expect(k.encoding == encoding)
        #expect(k.symbols.map(\.name) == list.map(\.name))
        #expect(k.symbols.map(\.address) == list.map(\.address))
        #expect(k.symbols.map(\.type) == list.map(\.type))
        #expect(k.symbol(named: "linux_banner")?.address == Self.base + 0x20_0000)
        #expect(k.symbol(named: "linux_banner")?.size == 0x100)
    }

    @Test("addresses to name+offset: sizes are gaps below 64 KiB; past them nothing")
    func symbolize() throws {
        let k = try KallsymsBuilder(symbols: Self.symbols).tables(.absolutePercpu, base: Self.base).decode(stext: Self.base, source: "test").get()
        let hit = try #require(k.symbolize(Self.base + 0x1044))
        #expect(hit.symbol.name == "__x64_sys_read" && hit.offset == 4)
        // _text and _stext share an address: the first listed wins.
        #expect(k.symbolize(Self.base + 0x10)?.symbol.name == "_text")
        #expect(k.symbolize(Self.base + 0x10)?.symbol.size == 0x1000)
        // __x64_sys_read runs to linux_banner 2 MiB later: no size, and 64 KiB past it is no symbol.
        #expect(k.symbol(named: "__x64_sys_read")?.size == nil)
        #expect(k.symbolize(Self.base + 0x1040 + 0x10000) == nil)
        #expect(k.symbolize(Self.base - 1) == nil || k.symbolize(Self.base - 1)?.symbol.name == "cpu_tss_rw")
    }

    @Test("two-byte lengths for long names (6.1+), one-byte lengths before")
    func longNames() throws {
        var b = KallsymsBuilder(symbols: Self.symbols)
        let long = try b.tables(.absolute).decode(stext: Self.base, source: "test").get()
        #expect(long.symbols[7].name.count == 200)
        // The same stream read as a pre-6.1 kernel would misread the long length.
        b.longNames = false
        var old = b.tables(.absolute)
        old.longNames = false
        if case .success(let k) = old.decode(stext: Self.base, source: "test") {
            #expect(k.symbols.map(\.name) != Self.symbols.map(\.name))
        }
    }

    @Test("damaged tables: errors say which symbol and what is wrong")
    func damaged() throws {
        let good = KallsymsBuilder(symbols: Self.symbols).tables(.absolute)
        var t = good
        t.names = Array(t.names.prefix(40))
        #expect(t.decode(stext: Self.base, source: "t").failureText?.hasPrefix("symbol ") == true)
        t = good
        t.tokenIndex[200] = 60000
        #expect(t.decode(stext: Self.base, source: "t").failureText == "token 200 starts at 60000, past the end of kallsyms_token_table (\(good.tokenTable.count) bytes)")
        t = good
        t.numSyms = 1 << 30
        #expect(t.decode(stext: Self.base, source: "t").failureText?.hasPrefix("kallsyms_num_syms is 1073741824") == true)
        #expect(good.decode(stext: Self.base + 1, source: "t").failureText?.hasPrefix("no address encoding puts _stext at") == true)
        t = good
        t.addresses = Array(good.addresses!.prefix(3))
        #expect(t.decode(stext: Self.base, source: "t").failureText == "9 symbols but 3 addresses")
    }
}

@Suite("kallsyms found by structure (kernels without the VMCOREINFO keys)")
struct KallsymsFinderTests {
    /// Enough symbols for several markers.
    static func many(_ count: Int) -> [(type: Character, name: String, address: UInt64)] {
        let base: UInt64 = 0xffff_8000_1000_0000
        return [("T", "_text", base), ("T", "_stext", base + 0x1_0000)]
            + (2..<count).map { ("t", "sys_function_\($0)", base + 0x1_0000 + UInt64($0) * 0x40) }
    }

    @Test("token index, token table, markers and num_syms located; the tables decode", arguments: [3, 300, 1000])
    func find(_ count: Int) throws {
        let b = KallsymsBuilder(symbols: Self.many(count))
        let relativeBase: UInt64 = 0xffff_8000_1000_0000
        let (bytes, indexAt) = b.layout(relativeBase: relativeBase, lead: 200)
        let found = KallsymsFinder.find(in: bytes, littleEndian: true, longNames: true)
        let f = try #require(found, "no tables found in \(bytes.count) bytes")
        #expect(f.tokenIndex == indexAt)
        #expect(f.count == UInt32(count))
        #expect(f.names == f.numSyms + 8)
        // What the loader does next: the offsets before num_syms, then decode.
        var t = KallsymsTables(numSyms: f.count, names: Array(bytes[f.names..<f.markers]), tokenTable: Array(bytes[f.tokenTable..<f.tokenIndex]),
                               tokenIndex: b.tokenTables.index, longNames: true)
        let offsetsAt = f.numSyms - 8 - (count * 4 + 7) / 8 * 8
        t.offsets = (0..<count).map { i in Int32(bitPattern: UInt32(bytes[offsetsAt + 4 * i]) | UInt32(bytes[offsetsAt + 4 * i + 1]) << 8
                                                  | UInt32(bytes[offsetsAt + 4 * i + 2]) << 16 | UInt32(bytes[offsetsAt + 4 * i + 3]) << 24) }
        t.relativeBase = relativeBase
        let k = try t.decode(stext: relativeBase + 0x1_0000, source: "test").get()
        #expect(k.symbols.map(\.name) == Self.many(count).map(\.name))
    }

    @Test("nothing shaped like the tables: nothing found")
    func notFound() {
        let zeros = KallsymsFinder.find(in: [UInt8](repeating: 0, count: 8192), littleEndian: true, longNames: true)
        #expect(zeros == nil)
        let noise = KallsymsFinder.find(in: (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }, littleEndian: true, longNames: true)
        #expect(noise == nil)
    }
}

extension Result where Failure == KallsymsError {
    var failureText: String? { if case .failure(let e) = self { e.description } else { nil } }
}
