import ArgumentParser
import VMCore

struct SavecoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "savecore",
        abstract: "Save a FreeBSD crash dump from its dump device, as savecore(8) does.",
        discussion: """
            Writes vmcore.N (vmcore_encrypted.N and key.N for an encrypted dump, textdump.tar.N \
            for a textdump; .gz or .zst when compressed), info.N, the bounds counter and the \
            *.last links into DIRECTORY. Each file appears under its name only when complete. \
            The saved dump is read back and its length and SHA-256 (recorded in info.N) checked \
            before the device is cleared. With no DEVICE, the swap and dump entries of /etc/fstab \
            are searched.
            """)

    @Flag(name: .customShort("C"), help: "Only check for a dump: exit 0 if there is one, 1 if not.")
    var checkOnly = false

    @Flag(name: .customShort("c"), help: "Only clear the dump header (mark the dump saved).")
    var clearOnly = false

    @Flag(name: .customShort("f"), help: "Save a dump that fails the checks (bad parity, headers that disagree) or was already cleared.")
    var force = false

    @Flag(name: .customShort("k"), help: "Keep the dump on the device: do not clear it after saving.")
    var keep = false

    @Flag(name: .customShort("v"), help: "Print each dump's header.")
    var verbose = false

    @Flag(name: .customShort("z"), help: "Compress the saved dump with gzip.")
    var gzip = false

    @Flag(name: .customShort("Z"), help: "Compress the saved dump with zstd (on two threads).")
    var zstd = false

    @Option(name: .customShort("m"), help: ArgumentHelp("Keep at most this many dumps; numbering wraps to 0.", valueName: "maxdumps"))
    var maxDumps: Int?

    @Argument(help: ArgumentHelp("Where to save (default: the current directory), then the dump devices or images.", valueName: "directory device"))
    var operands: [String] = []

    func validate() throws {
        if checkOnly && (clearOnly || force || keep) { throw ValidationError("-C cannot be combined with -c, -f or -k.") }
        if clearOnly && (gzip || zstd || keep) { throw ValidationError("-c cannot be combined with -z, -Z or -k.") }
        if maxDumps != nil && (checkOnly || clearOnly) { throw ValidationError("-m cannot be combined with -C or -c.") }
        if gzip && zstd { throw ValidationError("Give -z or -Z, not both.") }
        if let maxDumps, maxDumps < 1 { throw ValidationError("-m takes a number of dumps, at least 1.") }
    }

    func run() throws {
        let directory = operands.first ?? "."
        var devices = Array(operands.dropFirst())
        if devices.isEmpty {
            devices = Self.fstabDumpDevices()
            guard !devices.isEmpty else {
                throw VMCoreError(.usage, file: "/etc/fstab", "names no swap or dump device", "name the dump device after the directory")
            }
        }
        var options = Savecore.Options()
        options.checkOnly = checkOnly
        options.clearOnly = clearOnly
        options.force = force
        options.keep = keep
        options.compression = gzip ? .gzip : zstd ? .zstd : nil
        options.maxDumps = maxDumps
        let savecore = Savecore(directory: directory, options: options) { printError("vmcore savecore: \($0)") }
        var found = 0, saved = 0, errors = 0
        for device in devices {
            do throws(VMCoreError) {
                let outcome = try savecore.process(device: device)
                switch outcome {
                case .none(let why):
                    if verbose { printError("vmcore savecore: \(why)") }
                case .exists:
                    print("A dump exists on \(device)")
                    return
                case .rejected(let why):
                    found += 1
                    errors += 1
                    printError("vmcore savecore: " + why.described(hint: savecoreHint))
                case .cleared:
                    found += 1
                    if verbose { printError("vmcore savecore: cleared the dump on \(device)") }
                case .saved(let s):
                    found += 1
                    saved += 1
                    if verbose {
                        print(String(decoding: FileSystem.readSmallFile(directory + "/" + s.info, limit: 8192) ?? [], as: UTF8.self), terminator: "")
                    }
                    printError("vmcore savecore: saved \(directory)/\(s.core): \(s.bytes) bytes, SHA-256 \(s.sha256)\(s.complete ? "" : ", INCOMPLETE")\(s.cleared ? "; \(device) cleared" : "")")
                }
            } catch {
                found += 1
                errors += 1
                printError("vmcore: " + error.described(hint: savecoreHint))
            }
        }
        if checkOnly { throw ExitCode(1) }
        if found > 0 && saved == 0 && errors > 0 { throw ExitCode(1) }
        if found == 0 && verbose { printError("vmcore savecore: no dumps found") }
    }

    /// The swap and dump devices /etc/fstab names (FreeBSD's default device list).
    static func fstabDumpDevices() -> [String] {
        guard let bytes = FileSystem.readSmallFile("/etc/fstab", limit: 1 << 16) else { return [] }
        var devices: [String] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#") else { continue }
            if fields[2] == "swap" || fields[2] == "dump" || fields[1] == "none" && fields[2] == "dump" { devices.append(String(fields[0])) }
        }
        return devices
    }
}

/// A library hint in savecore's words (its -f is the library's force).
func savecoreHint(_ hint: VMCoreError.Hint) -> String {
    hint == .force ? "give -f to save it anyway" : hintText(hint)
}
