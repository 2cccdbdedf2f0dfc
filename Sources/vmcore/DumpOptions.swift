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

    /// The file, opened once: memory, or a FreeBSD textdump.
    func open() throws(VMCoreError) -> OpenedDump {
        try OpenedDump.open(dumps, rawBase: rawBase.flatMap(parseAddress), force: force, kernel: kernel, cache: commandCache)
    }

    /// The memory dump the file holds (a textdump says it holds none).
    func openMemory() throws(VMCoreError) -> Dump {
        try open().memoryDump()
    }
}
