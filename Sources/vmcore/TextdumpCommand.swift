import ArgumentParser
import VMCore

struct TextdumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "textdump",
        abstract: "List or extract the files of a FreeBSD textdump: ddb.txt, config.txt, msgbuf.txt, panic.txt, version.txt.",
        discussion: """
        Reads textdump.tar.N as savecore saves it, or a dump device (or an image of one) that still \
        holds the textdump in reverse 512-byte blocks. Extraction writes only plain file names inside \
        the directory, each under a temporary name renamed when complete.
        """)

    @Argument(help: ArgumentHelp("The textdump: textdump.tar.N (or .gz), or a dump device image holding one.", valueName: "dump"))
    var dump: String

    @Option(help: ArgumentHelp("Write the members into this directory (created if missing).", valueName: "dir"))
    var extract: String?

    @Flag(help: "Print the member list as JSON.")
    var json = false

    func validate() throws {
        if json && extract != nil { throw ValidationError("--json lists members; give it without --extract.") }
    }

    func run() throws {
        guard let t = try Textdump.open(path: dump, cache: commandCache) else {
            throw VMCoreError(.badMagic, file: dump, offset: 0, "is not a FreeBSD textdump",
                              "expected a ustar archive (textdump.tar.N) or a dump device image whose last 512 bytes are a \"FreeBSD Text Dump\" header")
        }
        if let extract {
            let written = try t.archive.extract(to: extract) { member in
                printError("vmcore: \(t.file): skipped \"\(member.name)\": not a regular file")
            }
            for file in written { print(file.path) }
            return
        }
        let members = t.members.map(TextdumpFacts.Member.init)
        if json {
            print(try jsonText(members))
            return
        }
        let nameWidth = max(4, members.map(\.name.count).max() ?? 0) + 2
        let sizeWidth = max(4, members.map { String($0.size).count }.max() ?? 0)
        var out = "name".padRight(nameWidth) + "size".leftPadded(sizeWidth, " ") + "  modified\n"
        for m in members {
            out += m.name.padRight(nameWidth) + String(m.size).leftPadded(sizeWidth, " ") + "  " + m.modificationTimeUTC
            out += m.type == "file" ? "\n" : "  (\(m.type))\n"
        }
        print(out, terminator: "")
    }
}
