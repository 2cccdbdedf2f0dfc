import ArgumentParser
import VMCore
import VMCoreNet

@main
struct VMCoreTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmcore",
        abstract: "Read kernel crash dumps: what the dump is, its memory, its VMCOREINFO.",
        discussion: """
        Reads Linux ELF vmcores (kexec/kdump and QEMU), kdump-compressed files (makedumpfile, \
        QEMU; zlib, lzo, snappy and zstd pages; split sets) and makedumpfile flattened streams \
        in place, FreeBSD minidumps and textdumps, and any of them gzip- or zstd-compressed \
        (vmcore.N.gz, vmcore.N.zst), through a copy decompressed once into $VMCORE_CACHE_DIR \
        (default ~/.cache/vmcore). vmcore netdumpd receives FreeBSD dumps sent over the network \
        (netdump), and vmcore netdump send ships a saved one to such a server.
        """,
        version: "0.1.0",
        subcommands: [Info.self, Panic.self, Dmesg.self, VMCoreInfoCommand.self, Read.self, Translate.self, Check.self, TextdumpCommand.self,
                      SavecoreCommand.self, Decrypt.self, DumpdevCommand.self, NetdumpdCommand.self, NetdumpCommand.self]
    )

    /// Runs the command; a VMCoreError prints its one sentence and exits 1. The library's
    /// notices (a dump decompressed into the cache) go to standard error.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as VMCoreError {
            printError("vmcore: " + error.described(hint: hintText))
            Self.exit(withError: ExitCode(1))
        } catch let error as VMCoreNetError {
            printError("vmcore: \(error)")
            Self.exit(withError: ExitCode(1))
        } catch {
            exit(withError: error)
        }
    }
}

/// A library hint in the command line's words: which flag does it.
func hintText(_ hint: VMCoreError.Hint) -> String {
    switch hint {
    case .force: "read it anyway with --force"
    case .kernelFile(let why): "give the kernel that crashed with --kernel PATH: \(why)"
    case .replace: "give -f to replace it"
    }
}

/// The decompressed cache the commands open dumps through: its notice (a dump being
/// decompressed once) goes to standard error.
let commandCache = DecompressedCache.standard(notice: { printError("vmcore: " + $0) })

func printError(_ text: String) {
    writeAll(2, Array((text + "\n").utf8))
}

/// Writes all of `bytes` to file descriptor `fd`, retrying short writes; a failure (a closed
/// pipe) is ignored, as there is nowhere left to report it.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    try? FileSystem.write(bytes, toDescriptor: fd)
}
