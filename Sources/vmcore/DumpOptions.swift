import ArgumentParser
import VMCore

/// The dump a command reads: one file, or the files of a `makedumpfile --split` set.
struct DumpOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The dump file (give every file of a makedumpfile --split set).", valueName: "dump"))
    var dumps: [String]

    @Option(name: .customLong("raw-base"),
            help: ArgumentHelp("Read a headerless file as raw physical memory starting at this address.", valueName: "address"))
    var rawBase: String?

    @Option(help: ArgumentHelp("The FreeBSD kernel that crashed, for its symbols (full dumps need it to translate addresses).", valueName: "path"))
    var kernel: String?

    @Flag(help: "Read a FreeBSD dump device that savecore would reject: cleared, bad parity, or headers that disagree.")
    var force = false

    func validate() throws {
        guard !dumps.isEmpty else { throw ValidationError("Name a dump file.") }
        if let rawBase, parseAddress(rawBase) == nil {
            throw ValidationError("--raw-base takes an address: 0x-prefixed hex or decimal, not '\(rawBase)'.")
        }
    }

    func open() throws(VMCoreError) -> Dump {
        try Dump.open(dumps, rawBase: rawBase.flatMap(parseAddress), force: force, kernel: kernel)
    }

    /// The FreeBSD textdump the file is, if it is one: commands that can read a textdump
    /// (which holds no memory) ask this before `open()`.
    func textdump() throws(VMCoreError) -> Textdump? {
        guard dumps.count == 1, rawBase == nil else { return nil }
        return try Textdump.open(path: dumps[0])
    }
}
