import ArgumentParser
import VMCore
import VMCoreNet

@main
struct VMCoreTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmcore",
        abstract: "Read kernel crash dumps: what the dump is, its memory, its log, its symbols, modules and types.",
        discussion: """
        Reads Linux ELF vmcores (kexec/kdump and QEMU), kdump-compressed files (makedumpfile, \
        QEMU; zlib, lzo, snappy and zstd pages; split sets) and makedumpfile flattened streams \
        in place, FreeBSD minidumps and textdumps, and any of them gzip- or zstd-compressed \
        (vmcore.N.gz, vmcore.N.zst), through a copy decompressed once into $VMCORE_CACHE_DIR \
        (default ~/.cache/vmcore). vmcore netdumpd receives FreeBSD dumps sent over the network \
        (netdump), and vmcore netdump send ships a saved one to such a server.
        """,
        version: "0.1.0",
        subcommands: [Info.self, Panic.self, Dmesg.self, VMCoreInfoCommand.self, Read.self, Translate.self, Sym.self, Mod.self, Types.self, StructCommand.self, Check.self, TextdumpCommand.self,
                      SavecoreCommand.self, Decrypt.self, DumpdevCommand.self, NetdumpdCommand.self, NetdumpCommand.self]
    )

    /// Runs the command; a VMCoreError prints its one sentence and exits 1. The library's
    /// notices (a dump decompressed into the cache) go to standard error.
    static func main() {
        do {
            var command = try parseSubcommand() ?? parseAsRoot()
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
    case .symbolFile: "give its System.map or vmlinux with --symbols FILE"
    }
}

/// The decompressed cache the commands open dumps through: its notice (a dump being
/// decompressed once) goes to standard error.
let commandCache = DecompressedCache.standard(notice: { printError("vmcore: " + $0) })

extension VMCoreTool {
    /// `vmcore <subcommand> …` parsed by that subcommand's own parser, or nil when the
    /// arguments are anything else (no subcommand, help, --version, a mistake): those go to
    /// `parseAsRoot()`, whose whole tree of commands makes the help and error messages.
    ///
    /// This is for start-up time. `parseAsRoot()` first names every subcommand, through
    /// `String(describing:)` of its type, and each type named that way costs the Swift runtime
    /// about five scans of the binary's 5,400 protocol-conformance records: for `vmcore dmesg`,
    /// a quarter of all the instructions it ran. The shortcut parses the same way only while
    /// `vmcore` itself has no options and no default subcommand.
    static func parseSubcommand() -> ParsableCommand? {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, !name.hasPrefix("-"),
              let command = configuration.subcommands.first(where: { commandName($0) == name }),
              let parsed = try? command.parseAsRoot(Array(arguments.dropFirst())),
              // A help request parses to ArgumentParser's help command, which would print the
              // subcommand's help without the `vmcore` in front: leave that to parseAsRoot().
              declares(command, type(of: parsed))
        else { return nil }
        return parsed
    }

    /// The name ArgumentParser gives `command` (`_commandName`), found without
    /// `String(describing:)` when that is easy: the configuration's name, or else, for a type
    /// named with one capitalized word, that word lowercased (ArgumentParser lowercases the
    /// type name's words and joins them with hyphens: `Dmesg` is `dmesg`).
    private static func commandName(_ command: ParsableCommand.Type) -> String {
        if let given = command.configuration.commandName { return given }
        let type = _typeName(command, qualified: false)
        let upper = UInt8(ascii: "A")...UInt8(ascii: "Z"), lower = UInt8(ascii: "a")...UInt8(ascii: "z")
        let digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        if let first = type.utf8.first, upper ~= first,
           type.utf8.dropFirst().allSatisfy({ lower ~= $0 || digit ~= $0 }) {
            return type.lowercased()
        }
        return command._commandName
    }

    /// True if `type` is `command` or in its tree of subcommands.
    private static func declares(_ command: ParsableCommand.Type, _ type: ParsableCommand.Type) -> Bool {
        command == type || command.configuration.subcommands.contains { declares($0, type) }
    }
}

func printError(_ text: String) {
    writeAll(2, Array((text + "\n").utf8))
}

/// Writes all of `bytes` to file descriptor `fd`, retrying short writes; a failure (a closed
/// pipe) is ignored, as there is nowhere left to report it.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    try? FileSystem.write(bytes, toDescriptor: fd)
}
