import ArgumentParser
import VMCore

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read physical or kernel virtual memory from a dump: hexdump -C style, or raw bytes with --raw.")

    @OptionGroup var dump: DumpOptions

    @Option(help: ArgumentHelp("Physical address to read (0x-prefixed hex or decimal).", valueName: "address"))
    var physical: String?

    @Option(help: ArgumentHelp("Kernel virtual address to read, or a symbol (VMCOREINFO, kallsyms, a module's, or --symbols).", valueName: "address"))
    var virtual: String?

    @OptionGroup var symbols: SymbolsOption

    @Option(help: ArgumentHelp("Number of bytes to read.", valueName: "n"))
    var length: String = "256"

    @Flag(help: "Write the bytes themselves to standard output.")
    var raw = false

    func validate() throws {
        guard (physical == nil) != (virtual == nil) else {
            throw ValidationError("Give one of --physical and --virtual.")
        }
        if let physical, parseAddress(physical) == nil {
            throw ValidationError("--physical takes an address: 0x-prefixed hex or decimal, not '\(physical)'.")
        }
        guard let n = parseAddress(length), n <= 1 << 30 else {
            throw ValidationError("--length takes a byte count up to 1 GiB, not '\(length)'.")
        }
    }

    func run() throws {
        let d = try dump.openMemory()
        let count = Int(parseAddress(length)!)
        let address: UInt64
        var space: KernelAddressSpace?
        if let virtual {
            // An address, or a symbol the kernel names (VMCOREINFO; a FreeBSD kernel file).
            let kernel = try withSymbols(try d.kernel(), symbols.path)
            address = try kernel.resolve(virtual)
            space = try kernel.kernelAddressSpace()
            // The hexdump's header: what the address is, when the kernel's symbols say.
            if !raw, let name = kernel.symbolize(address) { print("\(hex(address)) = \(name):") }
        } else {
            address = parseAddress(physical!)!
        }
        // Stream in pieces so a large read never holds more than one piece.
        let piece = 1 << 20
        var done = 0
        while done < count {
            let n = min(piece, count - done)
            let bytes = try space.map { try $0.read(virtual: address + UInt64(done), count: n) }
                ?? d.memory.read(physical: address + UInt64(done), count: n)
            if raw {
                writeAll(1, bytes)
            } else {
                print(hexdump(bytes, address: address + UInt64(done)), terminator: "")
            }
            done += n
        }
        if !raw { print(String(address + UInt64(count), radix: 16).leftPadded(16)) }
    }
}

/// `hexdump -C` lines for `bytes`, with `address` as the first line's offset.
func hexdump(_ bytes: [UInt8], address: UInt64) -> String {
    var out = ""
    var i = 0
    while i < bytes.count {
        let line = bytes[i..<min(i + 16, bytes.count)]
        var text = String(address + UInt64(i), radix: 16).leftPadded(16) + "  "
        for (k, b) in line.enumerated() {
            text += String(b, radix: 16).leftPadded(2) + " "
            if k == 7 { text += " " }
        }
        if line.count < 16 {
            text += String(repeating: " ", count: (16 - line.count) * 3 + (line.count < 8 ? 1 : 0))
        }
        text += " |" + String(line.map { $0 >= 0x20 && $0 < 0x7f ? Character(UnicodeScalar($0)) : "." }) + "|\n"
        out += text
        i += 16
    }
    return out
}

