extension Dump {
    /// The FreeBSD message buffer: from a minidump's own copy, ordered by the kernel's
    /// `struct msgbuf` (through `msgbufp` when the kernel file is given); from a full dump only
    /// through the kernel file's `msgbufp`.
    public func freebsdMessageBuffer() throws(VMCoreError) -> FreeBSDMessageBuffer {
        if let freebsdKernel, freebsdKernel.symbols.address("msgbufp") != nil {
            return try freebsdKernel.messageBuffer(try kernelAddressSpace(), pointerSize: architecture.pointerSize)
        }
        if let m = minidump {
            return try FreeBSDMessageBuffer(minidump: m)
        }
        throw VMCoreError(.usage, file: files[0], "a FreeBSD full dump has no message buffer of its own",
                          hint: .kernelFile("its msgbufp symbol finds the buffer in memory"))
    }
}

/// The kernel dump header found on a FreeBSD dump device, as `vmcore info` and savecore's
/// `info.N` show it.
public struct FreeBSDDumpHeaderFacts: Sendable, Codable {
    public var magic: String
    public var version: UInt32
    public var architecture: String
    public var architectureVersion: UInt32
    public var dumpLength: UInt64
    public var dumpExtent: UInt64
    public var blockSize: UInt32
    public var compression: String
    public var dumpTime: UInt64
    public var dumpTimeUTC: String
    public var hostname: String
    public var versionString: String
    public var panicString: String
    /// The parity field as savecore's `info.N` prints it (read little-endian).
    public var parity: UInt32
    /// "good", or "bad" with the reasons in `problems` (read because it was forced).
    public var status: String
    public var problems: [String]
    public var leaderOffset: String
    public var trailerOffset: String
    public var payloadOffset: String
    public var keySize: UInt32
    public var encryption: String?

    public init(_ d: FreeBSDDumpDevice) {
        let h = d.header
        magic = d.cleared ? KernelDumpHeader.Kind.cleared.rawValue : h.kind.rawValue
        version = h.version
        architecture = h.architecture
        architectureVersion = h.architectureVersion
        dumpLength = h.dumpLength
        dumpExtent = h.dumpExtent
        blockSize = h.blockSize
        compression = h.compression.name
        dumpTime = h.dumpTime
        dumpTimeUTC = formatUTC(Int64(clamping: h.dumpTime))
        hostname = h.hostname
        versionString = h.versionString
        panicString = h.panicString
        // savecore prints the raw field as the host loads it: little-endian on amd64 and arm64.
        parity = h.parity.byteSwapped
        status = d.problems.isEmpty ? "good" : "bad"
        problems = d.problems.map(\.description)
        leaderOffset = hex(d.leaderOffset)
        trailerOffset = hex(d.trailerOffset)
        payloadOffset = hex(d.payloadOffset)
        keySize = h.dumpKeySize
        encryption = d.key.map { k in KernelDumpKey.Cipher(rawValue: k.encryption)?.name ?? "unknown (\(k.encryption))" }
    }
}

extension DumpFacts {
    /// What a FreeBSD dump says without a kernel file: the device header's panic string,
    /// hostname and version; then, when the message buffer can be read, its version line and panic.
    mutating func add(freebsd dump: Dump) {
        if freebsd == nil { freebsd = FreeBSDDumpFacts() }
        if let d = dump.freebsdDevice {
            let h = FreeBSDDumpHeaderFacts(d)
            freebsd?.dumpHeader = h
            if !h.hostname.isEmpty { kernel.hostname = h.hostname }
            if let first = FreeBSDVersionString.firstLine(h.versionString) {
                kernel.kernelVersion = first
                kernel.kernelRelease = FreeBSDVersionString.release(first)
            }
            kernel.panic = PanicSummary(freeBSDMessages: [], panicString: h.panicString.isEmpty ? nil : h.panicString)
            container.dumpTime = Int64(clamping: d.header.dumpTime)
            container.dumpTimeUTC = h.dumpTimeUTC
        }
        do {
            add(messageBuffer: try dump.freebsdMessageBuffer())
        } catch {
            warnings.append("message buffer not read: \(error.reason)")
        }
    }

    /// The kernel's version line and the last panic in the message buffer.
    mutating func add(messageBuffer buffer: FreeBSDMessageBuffer) {
        let lines = buffer.text.split(separator: "\n").map(String.init)
        // "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64", printed at boot.
        if let v = lines.last(where: { $0.hasPrefix("FreeBSD ") && $0.split(separator: " ").count >= 3 }) {
            kernel.kernelVersion = v
            kernel.kernelRelease = FreeBSDVersionString.release(v)
        }
        let panicString = freebsd?.dumpHeader.flatMap { $0.panicString.isEmpty ? nil : $0.panicString }
        if let summary = PanicSummary(freeBSDMessages: lines, panicString: panicString) {
            kernel.panic = summary
        }
        if freebsd == nil { freebsd = FreeBSDDumpFacts() }
        freebsd?.messageBufferOrder = buffer.source
    }
}

extension Dump {
    /// A FreeBSD full dump's kernel page tables, found through the kernel file's symbols.
    public func freebsdPageTables() throws(VMCoreError) -> KernelAddressSpace {
        guard let freebsdKernel else {
            throw VMCoreError(.usage, file: files[0], "a FreeBSD full dump holds no page-table root",
                              hint: .kernelFile("its KPML4phys, or IdlePTD/IdlePDPT, symbol finds the page tables"))
        }
        return try freebsdKernel.addressSpace(memory: memory, architecture: architecture, file: files[0])
    }
}

extension DumpFacts {
    /// A FreeBSD minidump's header (after `add(freebsd:)` has read its message buffer).
    mutating func add(minidump m: FreeBSDMinidump) {
        let h = m.header
        let directMap = h.machine != .i386
        if freebsd == nil { freebsd = FreeBSDDumpFacts() }
        let order = freebsd?.messageBufferOrder
        freebsd?.minidump = FreeBSDFacts(machine: h.machine.rawValue, minidumpVersion: h.version, kernelBase: hex(h.kernelBase),
                               directMapBase: directMap ? hex(h.directMapBase) : nil, directMapEnd: directMap ? hex(h.directMapEnd) : nil,
                               directMapPhysical: h.machine == .arm64 || h.machine == .riscv ? hex(h.directMapPhysical) : nil,
                               flags: h.flags.map(hex), paeMode: h.paeMode,
                               messageBufferSize: h.messageBufferSize, messageBufferOrder: order)
    }
}
