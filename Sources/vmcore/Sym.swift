import ArgumentParser
import Foundation
import VMCore

struct Sym: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kernel symbols from the dump's own kallsyms and its modules': name to address, address to name+offset/size, or the whole table.",
        discussion: """
        A name prints its address, type and size; an address (0x-prefixed hex or decimal) prints \
        the symbol it falls in as name+offset/size, with [module] for a module's. --list prints the table as /proc/kallsyms \
        does, optionally only the names matching a pattern (* and ? wildcards, else a substring).
        """)

    @Argument(help: ArgumentHelp("The dump file(s), then symbol names or addresses.", valueName: "dump… name|address"))
    var operands: [String]

    @Option(name: .customLong("list"), help: ArgumentHelp("List the symbols whose names match (all with '*').", valueName: "pattern"))
    var pattern: String?

    @OptionGroup var symbols: SymbolsOption

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard !operands.isEmpty else { throw ValidationError("Name a dump file.") }
        guard operands.count >= 2 || pattern != nil else { throw ValidationError("Name symbols or addresses, or give --list PATTERN.") }
    }

    /// The leading operands that are files: the dump (a split set is several files).
    var files: [String] {
        let n = max(1, operands.prefix { FileManager.default.fileExists(atPath: $0) }.count)
        return Array(operands.prefix(min(n, operands.count - (pattern == nil ? 1 : 0))))
    }

    func run() throws {
        let files = self.files
        let d = try OpenedDump.open(files, force: false, kernel: nil, cache: commandCache).memoryDump()
        guard let k = try withSymbols(try d.kernel(), symbols.path) as? LinuxKernel else {
            throw VMCoreError(.unsupported, file: files[0], "sym reads Linux kallsyms", "for a FreeBSD kernel, give the kernel file to read --virtual or translate")
        }
        // kallsyms first; without it (a dump that lost its pages), the user's symbol file alone.
        let kallsyms = Result { () throws(VMCoreError) in try k.kallsyms() }
        if case .failure(let e) = kallsyms, symbols.path == nil { throw e }
        let table = try? kallsyms.get()
        var found: [SymbolJSON] = []
        var failed: [String] = []
        for query in operands.dropFirst(files.count) {
            if let address = parseAddress(query) {
                if let hit = k.lookupAddress(address) {
                    found.append(SymbolJSON(hit.symbol, query: query, offset: hit.offset))
                } else {
                    failed.append("\(query): no symbol contains \(hex(address))")
                }
            } else if let s = k.lookupSymbol(query) {
                found.append(SymbolJSON(s, query: query, offset: nil))
            } else {
                failed.append("\(query): no such symbol in kallsyms" + (symbols.path == nil ? "" : " or \(symbols.path!)"))
            }
        }
        if let pattern {
            let match = Glob(pattern)
            found += (table?.symbols ?? k.fileSymbols()).filter { match.matches($0.name) }.map { SymbolJSON($0, query: nil, offset: nil) }
            // Then each module's, as /proc/kallsyms lists them.
            for m in (try? k.modules()) ?? [] {
                found += m.symbols.filter { match.matches($0.name) }.map { SymbolJSON($0, query: nil, offset: nil) }
            }
        }
        if json {
            print(try jsonText(SymbolsJSON(source: table?.source ?? k.symbolFileSource ?? "", encoding: table?.encoding.rawValue, symbolFile: k.symbolFileSource,
                                           symbols: found, errors: failed)))
        } else {
            for s in found {
                if let offset = s.offset {
                    print("\(s.query ?? s.address) = \(s.name)+\(hex(offset))" + (s.size.map { "/\(hex($0))" } ?? "") + (s.module.map { " [\($0)]" } ?? ""))
                } else {
                    print("\(String(s.address.dropFirst(2)).leftPadded(16)) \(s.type) \(s.name)" + (s.module.map { "\t[\($0)]" } ?? "") + (s.size.map { "  (size \(hex($0)))" } ?? ""))
                }
            }
            for f in failed { printError("vmcore: \(f)") }
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// `*` and `?` wildcards over the whole name; a pattern without them matches as a substring.
struct Glob {
    let pattern: [Character]
    let wild: Bool
    init(_ text: String) {
        pattern = Array(text)
        wild = text.contains("*") || text.contains("?")
    }

    func matches(_ name: String) -> Bool {
        guard wild else { return pattern.isEmpty || name.contains(String(pattern)) }
        let s = Array(name)
        var p = 0, i = 0, star = -1, mark = 0
        while i < s.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == s[i] { p += 1; i += 1 }
            else if p < pattern.count, pattern[p] == "*" { star = p; mark = i; p += 1 }
            else if star >= 0 { p = star + 1; mark += 1; i = mark }
            else { return false }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

struct SymbolsJSON: Encodable {
    var source: String
    var encoding: String?
    var symbolFile: String?
    var symbols: [SymbolJSON]
    var errors: [String]
}

struct SymbolJSON: Encodable {
    var query: String?
    var name: String
    var address: String
    var type: String
    var size: UInt64?
    var offset: UInt64?
    var module: String?

    init(_ s: KernelSymbol, query: String?, offset: UInt64?) {
        self.query = query
        name = s.name
        address = hex(s.address)
        type = String(s.type)
        size = s.size
        self.offset = offset
        module = s.module
    }
}
