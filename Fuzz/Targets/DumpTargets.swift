import VMCore
import VMCoreTestSupport

/// Targets that open a dump from the input bytes and run what the commands run on it: probe,
/// open, facts (`info`), the log (`dmesg`), the panic report (`panic`), a few physical and
/// virtual reads (`read`, `translate`), and the decode of every stored page (`check`).
enum DumpTargets {
    static let all: [FuzzTarget] = [
        container("elf", "Linux ELF cores (kdump /proc/vmcore and QEMU layouts)", dictionary: "elf", seeds: Seeds.elf),
        container("kdump", "kdump-compressed files (makedumpfile, QEMU)", dictionary: "kdump", seeds: Seeds.kdump),
        container("flattened", "makedumpfile flattened streams of kdump and ELF files", dictionary: "flattened", seeds: Seeds.flattened),
        FuzzTarget(name: "split", summary: "makedumpfile --split sets: two files, the first's length in the first 4 bytes",
                   dictionary: "kdump", seeds: Seeds.split) { input in
            var outcome = FuzzTarget.Outcome()
            guard input.count >= 4 else { return outcome }
            let length = (try? ByteReader(input, file: fuzzInputName, base: 0, order: .little).u32(0, "length")) ?? 0
            let n = min(Int(length), input.count - 4)
            let first = Array(input[4..<4 + n]), second = Array(input[(4 + n)...])
            exercise([MemorySource(name: fuzzInputName + ".1", bytes: first), MemorySource(name: fuzzInputName + ".2", bytes: second)], &outcome)
            return outcome
        },
        container("minidump", "FreeBSD minidumps (amd64, arm64, i386, riscv)", dictionary: "freebsd", seeds: Seeds.minidump),
        FuzzTarget(name: "freebsd-full", summary: "FreeBSD full dumps (ELF) read with a kernel file's symbols",
                   dictionary: "elf", seeds: Seeds.freebsdFull) { input in
            var outcome = FuzzTarget.Outcome()
            let kernel = outcome.step("kernel") { () throws(VMCoreError) in try FreeBSDKernel(symbols: ELFSymbolTable(source: Seeds.freebsdKernelFile)) }
            exercise([MemorySource(name: fuzzInputName, bytes: input)], kernel: kernel, &outcome)
            return outcome
        },
        FuzzTarget(name: "device", summary: "FreeBSD dump devices: headers, key, payload (plain, compressed, textdump), also forced",
                   dictionary: "freebsd", seeds: Seeds.device) { input in
            var outcome = FuzzTarget.Outcome()
            let source = MemorySource(name: fuzzInputName, bytes: input)
            if let device = outcome.step("device", { () throws(VMCoreError) in try FreeBSDDumpDevice(source: source, force: true) }) {
                _ = outcome.step("payload") { () throws(VMCoreError) in try device.payload() }
            }
            exercise([source], &outcome)
            exercise([source], force: true, &outcome)
            return outcome
        },
        FuzzTarget(name: "textdump", summary: "FreeBSD textdumps: ustar archives and dump-device images",
                   dictionary: "freebsd", seeds: Seeds.textdump) { input in
            var outcome = FuzzTarget.Outcome()
            let source = MemorySource(name: fuzzInputName, bytes: input)
            if let textdump = outcome.step("recognize", { () throws(VMCoreError) in try Textdump.recognize(source) }), let textdump {
                _ = textdump.facts()
                _ = outcome.step("messages") { () throws(VMCoreError) in try textdump.messages() }
                _ = outcome.step("panic") { () throws(VMCoreError) in try textdump.panicReport() }
            }
            return outcome
        },
        FuzzTarget(name: "ustar", summary: "ustar archives: every member's header and data",
                   dictionary: "freebsd", seeds: Seeds.ustar) { input in
            var outcome = FuzzTarget.Outcome()
            if let archive = outcome.step("archive", { () throws(VMCoreError) in try UstarArchive(source: MemorySource(name: fuzzInputName, bytes: input)) }) {
                for member in archive.members.prefix(64) {
                    _ = outcome.step("member") { () throws(VMCoreError) in try archive.read(member, count: Int(min(member.size, 4096))) }
                }
            }
            return outcome
        },
    ]

    /// A target that opens the input as one dump file.
    static func container(_ name: String, _ summary: String, dictionary: String,
                          seeds: @escaping @Sendable () -> [(name: String, bytes: [UInt8])]) -> FuzzTarget {
        FuzzTarget(name: name, summary: summary, dictionary: dictionary, seeds: seeds) { input in
            var outcome = FuzzTarget.Outcome()
            exercise([MemorySource(name: fuzzInputName, bytes: input)], &outcome)
            return outcome
        }
    }

    /// What `info`, `dmesg`, `panic`, `read`, `translate` and `check` do with a dump.
    static func exercise(_ sources: [any ByteSource], force: Bool = false, kernel: FreeBSDKernel? = nil, _ outcome: inout FuzzTarget.Outcome) {
        let cache = DecompressedCache(directory: Seeds.cacheDirectory)
        guard let dump = outcome.step("open", { () throws(VMCoreError) in
            try Dump(sources: sources, force: force, kernel: kernel, cache: cache)
        }) else { return }
        _ = outcome.step("facts") { () throws(VMCoreError) in try dump.facts() }
        if let k = outcome.step("kernel", { () throws(VMCoreError) in try dump.kernel() }) {
            _ = outcome.step("kernel facts") { () throws(VMCoreError) in try k.facts() }
            _ = outcome.step("messages") { () throws(VMCoreError) in try k.messages() }
            _ = outcome.step("panic") { () throws(VMCoreError) in try k.panicReport() }
            if let space = outcome.step("address space", { () throws(VMCoreError) in try k.kernelAddressSpace() }) {
                for name in ["init_task", "init_uts_ns", "prb", "msgbufp", "panicstr", "kernbase"] {
                    guard let va = k.symbol(name) else { continue }
                    _ = outcome.step("read \(name)") { () throws(VMCoreError) in try space.read(virtual: va, count: 64) }
                }
            }
        }
        let memory = dump.memory
        for range in memory.ranges.prefix(4) {
            _ = outcome.step("read") { () throws(VMCoreError) in try memory.read(physical: range.start, count: min(64, Int(clamping: range.size))) }
            _ = outcome.step("state") { memory.state(ofPage: range.start / UInt64(max(1, memory.pageSize))) }
        }
        let scan = memory.scanStoredPages(threads: 1)
        if let first = scan.failures.first { outcome.errors.append("check: \(first.error)") }
    }
}
