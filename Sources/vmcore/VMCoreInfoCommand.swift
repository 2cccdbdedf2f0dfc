import ArgumentParser
import VMCore

struct VMCoreInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmcoreinfo",
        abstract: "Print the dump's VMCOREINFO text as the kernel wrote it.")

    @OptionGroup var dump: DumpOptions

    func run() throws {
        let d = try dump.open()
        guard let info = d.vmcoreinfo else {
            throw VMCoreError(.notInDump, file: d.files[0], "has no VMCOREINFO",
                              "the dump carries no VMCOREINFO note (a QEMU dump made without -device vmcoreinfo?)")
        }
        print(info.text, terminator: info.text.hasSuffix("\n") ? "" : "\n")
    }
}
