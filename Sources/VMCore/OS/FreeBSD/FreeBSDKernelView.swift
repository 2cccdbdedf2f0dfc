/// The FreeBSD kernel in a memory dump: a minidump's own translation and message buffer, or a
/// full dump's through the kernel file's symbols (`FreeBSDKernel`), when it was given.
public final class FreeBSDKernelView: Kernel {
    public let dump: Dump
    public var operatingSystem: OperatingSystem { .freebsd }
    let space: Result<KernelAddressSpace, VMCoreError>

    public init(dump: Dump) {
        self.dump = dump
        space = Result { () throws(VMCoreError) in try dump.kernelAddressSpace() }
    }

    public func kernelAddressSpace() throws(VMCoreError) -> KernelAddressSpace { try space.get() }

    /// A symbol of the kernel file given with the dump.
    public func symbol(_ name: String) -> UInt64? { dump.freebsdKernel?.symbols.address(name) }

    public func unknownSymbolDetail(_ name: String) -> String {
        dump.freebsdKernel == nil ? "without the kernel file, only numeric addresses can be read" : "the kernel file has no symbol \(name)"
    }

    public func messages() throws(VMCoreError) -> KernelMessages {
        KernelMessages(text: try dump.freebsdMessageBuffer().text)
    }

    /// The panic from the message buffer, else from the dump header's panic string.
    public func panicReport() throws(VMCoreError) -> PanicReport {
        let f = try facts()
        guard let panic = f.kernel.panic else {
            let why = f.warnings.first { $0.hasPrefix("message buffer not read") } ?? "the message buffer has no panic line"
            throw VMCoreError(.notInDump, file: dump.files[0], "the dump names no panic", why)
        }
        return PanicReport(panic: panic, operatingSystem: .freebsd, kernelRelease: f.kernel.kernelRelease, kernelVersion: f.kernel.kernelVersion,
                           hostname: f.kernel.hostname, crashTime: f.container.dumpTime, crashTimeUTC: f.container.dumpTimeUTC)
    }

    public func facts() throws(VMCoreError) -> DumpFacts {
        var facts = try dump.facts()
        facts.add(freebsd: dump)
        if let minidump = dump.minidump { facts.add(minidump: minidump) }
        return facts
    }
}

extension Textdump {
    /// msgbuf.txt, the message buffer already in order.
    public func messages() throws(VMCoreError) -> KernelMessages {
        guard let text = try contents(of: Textdump.messageBuffer) else {
            throw VMCoreError(.notInDump, file: file, "the textdump has no \(Textdump.messageBuffer)",
                              "it holds \(members.map(\.name).joined(separator: ", ")); the kernel had debug.ddb.textdump.do_msgbuf=0")
        }
        return KernelMessages(text: String(decoding: text.filter { $0 != 0 }, as: UTF8.self))
    }

    /// panic.txt and msgbuf.txt's panic.
    public func panicReport() throws(VMCoreError) -> PanicReport {
        let f = facts()
        guard let panic = f.panic else {
            throw VMCoreError(.notInDump, file: file, "the textdump names no panic", "it has no panic.txt and no panic line in msgbuf.txt")
        }
        return PanicReport(panic: panic, operatingSystem: .freebsd, kernelRelease: f.kernelRelease, kernelVersion: f.kernelVersion,
                           hostname: f.hostname, crashTime: f.header.map { Int64(clamping: $0.dumpTime) }, crashTimeUTC: f.header?.dumpTimeUTC)
    }
}

/// A file as opened: memory to read, or a FreeBSD textdump (text files, no memory). Every
/// file is opened once, whichever it is.
public enum OpenedDump: Sendable {
    case memory(Dump)
    case textdump(Textdump)

    /// Opens `paths` (several only for a split kdump set); see `Dump.open` for the options.
    public static func open(_ paths: [String], rawBase: UInt64? = nil, force: Bool = false, kernel: String? = nil,
                            cache: DecompressedCache = .standard) throws(VMCoreError) -> OpenedDump {
        precondition(!paths.isEmpty)
        var sources: [any ByteSource] = []
        for path in paths { sources.append(try cache.source(forPath: path)) }
        if sources.count == 1, rawBase == nil, try Container.identify(sources[0]) == .textdump, let t = try Textdump.recognize(sources[0]) {
            return .textdump(t)
        }
        return .memory(try Dump(sources: sources, rawBase: rawBase, force: force, kernel: try kernel.map(FreeBSDKernel.open), cache: cache))
    }

    /// The memory dump; a textdump says it holds no memory.
    public func memoryDump() throws(VMCoreError) -> Dump {
        switch self {
        case .memory(let d): return d
        case .textdump(let t):
            throw Textdump.noMemory(file: t.file)
        }
    }

    /// The kernel log.
    public func messages() throws(VMCoreError) -> KernelMessages {
        switch self {
        case .memory(let d): try d.kernel().messages()
        case .textdump(let t): try t.messages()
        }
    }

    /// Why the kernel died.
    public func panicReport() throws(VMCoreError) -> PanicReport {
        switch self {
        case .memory(let d): try d.kernel().panicReport()
        case .textdump(let t): try t.panicReport()
        }
    }
}
