import ArgumentParser
import VMCore

struct Decrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decrypt an encrypted FreeBSD kernel dump, as decryptcore(8) does.",
        discussion: """
            The dump key in key.N is unwrapped with the RSA private key (RSA-OAEP, else PKCS#1 v1.5 \
            for dumps of FreeBSD 12-era kernels), then the dump is decrypted with AES-256-CBC or \
            ChaCha20, as the key says. The output is written under a temporary name and renamed \
            into place when complete; on any failure nothing is left. A dump compressed before it \
            was encrypted comes out as its gzip or zstd stream (every vmcore command reads those), \
            or decompressed with --decompress.
            """)

    @Option(name: .customShort("p"), help: ArgumentHelp("The RSA private key (PEM) matching the public key given to dumpon -k.", valueName: "private-key"))
    var privateKey: String

    @Option(name: .customShort("k"), help: ArgumentHelp("The dump key file savecore saved (key.N).", valueName: "key-file"))
    var keyFile: String?

    @Option(name: .customShort("e"), help: ArgumentHelp("The encrypted dump (vmcore_encrypted.N).", valueName: "encrypted"))
    var encrypted: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("Where to write the decrypted dump (vmcore.N).", valueName: "core"))
    var core: String?

    @Option(name: .customShort("n"), help: ArgumentHelp("The dump number: reads key.N and vmcore_encrypted.N in the crash directory and writes vmcore.N.", valueName: "N"))
    var number: String?

    @Option(name: .customShort("d"), help: ArgumentHelp("The crash directory for -n.", valueName: "crashdir"))
    var crashDirectory = "/var/crash"

    @Flag(name: .customShort("f"), help: "Replace the output file if it exists.")
    var force = false

    @Flag(name: .customShort("v"), help: "Say what was decrypted.")
    var verbose = false

    @Flag(help: "Decompress a gzip or zstd dump after decrypting it.")
    var decompress = false

    func validate() throws {
        if let number {
            guard !number.isEmpty, number.allSatisfy(\.isNumber) else { throw ValidationError("-n takes a dump number (digits only), not '\(number)'.") }
            guard keyFile == nil, encrypted == nil, core == nil else { throw ValidationError("-n replaces -k, -e and -c; give one form.") }
        } else {
            guard keyFile != nil, encrypted != nil, core != nil else {
                throw ValidationError("Give -k key.N -e vmcore_encrypted.N -c vmcore.N, or -n N.")
            }
        }
    }

    func run() throws {
        let (key, input, output): (String, String, String)
        if let number {
            let dir = crashDirectory.hasSuffix("/") ? crashDirectory : crashDirectory + "/"
            (key, input, output) = (dir + "key." + number, dir + "vmcore_encrypted." + number, dir + "vmcore." + number)
        } else {
            (key, input, output) = (keyFile!, encrypted!, core!)
        }
        let r = try EncryptedDump.decrypt(encrypted: input, keyFile: key, privateKeyFile: privateKey, output: output,
                                          decompress: decompress, replace: force)
        if verbose {
            printError("vmcore: \(input): \(r.bytesRead) bytes decrypted with \(r.cipher.name): a \(r.payload)\(r.decompressed ? ", decompressed" : "") -> \(output) (\(r.bytesWritten) bytes)")
        }
        if r.isCompressedStream {
            printError("vmcore: \(output) is a \(r.payload) stream: every vmcore command reads it as it is; --decompress writes it decompressed")
        }
    }
}
