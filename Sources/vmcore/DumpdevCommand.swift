import ArgumentParser
import VMCore

struct DumpdevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dumpdev",
        abstract: "Make FreeBSD dump device images, to test savecore set-ups and dump tools.",
        subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a dump device image holding PAYLOAD, as the FreeBSD kernel writes a dump.",
            discussion: """
                PAYLOAD is what the kernel dumps: a minidump or full dump (vmcore.N), or a tar for \
                --textdump. It is compressed, then encrypted, as the kernel would, and placed \
                between the leading and trailing headers. --corrupt makes an image savecore rejects.
                """)

        @Argument(help: ArgumentHelp("The image to write.", valueName: "image"))
        var image: String

        @Option(help: ArgumentHelp("The payload: a saved vmcore.N, or a tar with --textdump.", valueName: "file"))
        var payload: String

        @Option(help: ArgumentHelp("The device's sector size.", valueName: "bytes"))
        var blockSize = 512

        @Option(help: ArgumentHelp("The device's size (default: just large enough).", valueName: "bytes"))
        var size: UInt64?

        @Option(help: ArgumentHelp("Compress the dump as dumpon -z / -Z asks: gzip or zstd.", valueName: "gzip|zstd"))
        var compress: String?

        @Option(help: ArgumentHelp("Encrypt the dump (EKCD): aes-256-cbc or chacha20; needs --public-key.", valueName: "cipher"))
        var encrypt: String?

        @Option(help: ArgumentHelp("The RSA public key (PEM) the dump key is wrapped with, as dumpon -k takes it.", valueName: "pem"))
        var publicKey: String?

        @Flag(help: "The payload is a textdump tar: write its blocks in reverse order, as ddb does.")
        var textdump = false

        @Option(help: ArgumentHelp("Make the image one savecore rejects: parity, mismatch or cleared.", valueName: "kind"))
        var corrupt: String?

        @Option(help: ArgumentHelp("The header's architecture (MACHINE_ARCH).", valueName: "arch"))
        var architecture = "amd64"

        @Option(help: ArgumentHelp("The header's panic string.", valueName: "text"))
        var panicString = "page fault while in kernel mode"

        func validate() throws {
            if let compress, compress != "gzip" && compress != "zstd" { throw ValidationError("--compress takes gzip or zstd.") }
            if let encrypt {
                guard encrypt == "aes-256-cbc" || encrypt == "chacha20" else { throw ValidationError("--encrypt takes aes-256-cbc or chacha20.") }
                guard publicKey != nil else { throw ValidationError("--encrypt needs --public-key.") }
            }
            if let corrupt, DumpDeviceWriter.Corruption(rawValue: corrupt) == nil {
                throw ValidationError("--corrupt takes parity, mismatch or cleared.")
            }
        }

        func run() throws {
            var w = DumpDeviceWriter()
            w.blockSize = blockSize
            w.mediaSize = size
            w.compression = compress == "gzip" ? .gzip : compress == "zstd" ? .zstd : .none
            if let encrypt, let publicKey {
                let pem = try FileSource(path: publicKey)
                let text = String(decoding: try pem.bytes(at: 0, count: Int(min(pem.size, 1 << 20)), what: "public key"), as: UTF8.self)
                w.encryption = (encrypt == "aes-256-cbc" ? .aes256CBC : .chacha20, text)
            }
            w.textdump = textdump
            w.corruption = corrupt.flatMap(DumpDeviceWriter.Corruption.init(rawValue:))
            w.architecture = architecture
            w.panicString = panicString
            let r = try w.write(payload: try FileSource(path: payload), to: image)
            print("\(image): \(r.mediaSize) bytes; \(r.header.kind.rawValue), dump length \(r.header.dumpLength), extent \(r.header.dumpExtent), payload at \(hex(r.payloadOffset))")
        }
    }
}
