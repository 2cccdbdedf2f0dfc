import ArgumentParser
import VMCore

struct VMCoreInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmcoreinfo",
        abstract: "Print the dump's VMCOREINFO text as the kernel wrote it (recovered from guest RAM if the dump has none).")

    @OptionGroup var dump: DumpOptions

    func run() throws {
        let d = try dump.openMemory()
        var info = d.vmcoreinfo
        if info == nil, LinuxKernel.supportedArchitectures.contains(d.architecture), let kernel = try? LinuxKernel(dump: d),
           let recovered = kernel.vmcoreinfo, let at = kernel.recoveredVMCoreInfoAddress {
            printError("vmcore: \(d.files[0]) carries no VMCOREINFO; this is the kernel's own note, recovered from guest RAM at physical \(hex(at))")
            info = recovered.value
        }
        guard let info else {
            throw VMCoreError(.notInDump, file: d.files[0], "has no VMCOREINFO",
                              "the dump carries no VMCOREINFO note (a QEMU dump made without -device vmcoreinfo?)")
        }
        print(info.text, terminator: info.text.hasSuffix("\n") ? "" : "\n")
    }
}
