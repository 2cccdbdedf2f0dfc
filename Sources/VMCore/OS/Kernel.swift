/// The kernel in a memory dump, whatever its operating system: chosen once per dump by
/// `Dump.kernel()` (`LinuxKernel`, `FreeBSDKernelView`), so that commands never ask which
/// system they are looking at.
///
/// A kernel knows where its address space is and where that came from, how to resolve a
/// symbol, how to read typed values of its memory, its log, its panic and its facts. Symbols
/// come from VMCOREINFO and kallsyms (Linux) and the kernel file's symbol table (FreeBSD,
/// `--kernel`); types from the kernel's BTF (Linux), through `type(_:)` and `object(_:at:)`.
public protocol Kernel: AnyObject, Sendable {
    var operatingSystem: OperatingSystem { get }
    var dump: Dump { get }
    /// Kernel virtual memory, with its translation's root and where the root came from.
    func kernelAddressSpace() throws(VMCoreError) -> KernelAddressSpace
    /// The address of a symbol the kernel names, or nil.
    func symbol(_ name: String) -> UInt64?
    /// `address` as `symbol+0xoffset/0xsize` (`[module]` after it for a module), when the
    /// kernel's symbols name it.
    func symbolize(_ address: UInt64) -> String?
    /// The kernel's own type information (Linux: its BTF), for typed reads (`type(_:)`).
    func btf() throws(VMCoreError) -> BTF
    /// Loaded modules' own types, each on top of `btf()`.
    func moduleBTFs() -> [(module: String, btf: BTF)]
    /// Why `name` could not be resolved, for the error `resolve` gives.
    func unknownSymbolDetail(_ name: String) -> String
    /// The kernel log, oldest entry first.
    func messages() throws(VMCoreError) -> KernelMessages
    /// Why the kernel died.
    func panicReport() throws(VMCoreError) -> PanicReport
    /// The container's facts and the kernel's own (placement, identity, panic, log).
    func facts() throws(VMCoreError) -> DumpFacts
}

extension Kernel {
    /// No symbols to name addresses with, unless the kernel has its own.
    public func symbolize(_ address: UInt64) -> String? { nil }

    /// No modules' types, unless the kernel keeps them.
    public func moduleBTFs() -> [(module: String, btf: BTF)] { [] }

    /// No type information, unless the kernel carries its own.
    public func btf() throws(VMCoreError) -> BTF {
        throw VMCoreError(.unsupported, file: dump.files[0], "no BTF for a \(operatingSystem.rawValue) kernel", "types are read from a Linux kernel's BTF")
    }

    /// A kernel virtual address as users type it: `0x…` hex, decimal, or a symbol name.
    public func resolve(_ text: String) throws(VMCoreError) -> UInt64 {
        if let a = parseAddress(text) { return a }
        if let a = symbol(text) { return a }
        throw VMCoreError(.usage, file: dump.files[0], "unknown address or symbol '\(text)'", unknownSymbolDetail(text))
    }

    /// An unsigned integer of `size` bytes (1…8) at kernel virtual address `va`, in the dump's
    /// byte order; the error names the address.
    public func readInteger(at va: UInt64, size: Int, _ what: String) throws(VMCoreError) -> UInt64 {
        let bytes = try kernelAddressSpace().read(virtual: va, count: size)
        return try ByteReader(bytes, file: dump.files[0], base: va, order: dump.byteOrder).uint(0, width: size, "\(what) at \(hex(va))")
    }

    /// A kernel pointer at `va` (the architecture's width).
    public func readPointer(at va: UInt64, _ what: String) throws(VMCoreError) -> UInt64 {
        try readInteger(at: va, size: dump.architecture.pointerSize, what)
    }

    /// `count` pointers at `va`.
    public func readPointers(at va: UInt64, count: Int, _ what: String) throws(VMCoreError) -> [UInt64] {
        let size = dump.architecture.pointerSize
        guard count >= 0, count <= 1 << 24 else {
            throw VMCoreError(.usage, file: dump.files[0], "cannot read \(count) pointers at \(hex(va))", "\(what): at most 2^24 at once")
        }
        let bytes = try kernelAddressSpace().read(virtual: va, count: count * size)
        return try ByteReader(bytes, file: dump.files[0], base: va, order: dump.byteOrder).uints(0, count: count, width: size, what)
    }

    /// The NUL-terminated string at `va`, reading at most `limit` bytes (invalid UTF-8 repaired).
    public func readCString(at va: UInt64, limit: Int = 4096) throws(VMCoreError) -> String {
        let space = try kernelAddressSpace()
        var out: [UInt8] = []
        var at = va
        while out.count < limit {
            // Up to the end of the page, so a string ending before an unmapped page reads.
            let n = min(limit - out.count, 4096 - Int(at & 0xfff))
            let piece = try space.read(virtual: at, count: n)
            if let end = piece.firstIndex(of: 0) { return String(decoding: out + piece[..<end], as: UTF8.self) }
            out += piece
            at &+= UInt64(n)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A kernel's log as entries: printk records (Linux) or message-buffer lines (FreeBSD).
public struct KernelMessages: Sendable {
    public var entries: [LogEntry]
    /// Entries skipped, and why (overwritten while the kernel was writing, corrupt).
    public var problems: [String]

    public init(entries: [LogEntry], problems: [String] = []) {
        self.entries = entries
        self.problems = problems
    }

    /// The lines of a message buffer's text (a last empty line dropped).
    public init(text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        self.init(entries: lines.enumerated().map { LogEntry.line(index: $0.offset, text: $0.element) })
    }
}

/// One entry of a kernel log.
public enum LogEntry: Sendable, Encodable {
    /// A printk record, with its timestamp, level and caller.
    case record(LogRecord)
    /// A line of a message buffer, numbered from 0.
    case line(index: Int, text: String)

    /// As dmesg prints it; with `withLevel`, a record is prefixed with its `<level>`.
    public func formatted(withLevel: Bool) -> String {
        switch self {
        case .record(let r): r.formatted(withLevel: withLevel)
        case .line(_, let text): text
        }
    }

    enum LineKeys: String, CodingKey { case line, text }

    /// A record as its fields; a line as `{"line": "N", "text": …}`.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .record(let r): try r.encode(to: encoder)
        case .line(let index, let text):
            var c = encoder.container(keyedBy: LineKeys.self)
            try c.encode(String(index), forKey: .line)
            try c.encode(text, forKey: .text)
        }
    }
}

/// Why the kernel died, with what the dump says about the machine, for `vmcore panic`.
public struct PanicReport: Sendable, Encodable {
    public var panic: PanicSummary
    public var kernelRelease: String?
    public var kernelVersion: String?
    public var hostname: String?
    /// When it crashed (Linux `CRASHTIME`) or was dumped (a FreeBSD dump header's time).
    public var crashTime: Int64?
    public var crashTimeUTC: String?
    /// Which system's report layout `text` follows.
    var operatingSystem: OperatingSystem

    enum CodingKeys: String, CodingKey { case panic, kernelRelease, kernelVersion, hostname, crashTime, crashTimeUTC }

    public init(panic: PanicSummary, operatingSystem: OperatingSystem, kernelRelease: String? = nil, kernelVersion: String? = nil,
                hostname: String? = nil, crashTime: Int64? = nil, crashTimeUTC: String? = nil) {
        self.panic = panic
        self.operatingSystem = operatingSystem
        self.kernelRelease = kernelRelease
        self.kernelVersion = kernelVersion
        self.hostname = hostname
        self.crashTime = crashTime
        self.crashTimeUTC = crashTimeUTC
    }

    /// The report as text, fit for a bug report: the failure, where it struck, when, which
    /// kernel, and the trace (Linux: the RIP, or arm64's pc and lr, and the call trace; FreeBSD: KDB's backtrace).
    public var text: String {
        var out = panic.message + "\n"
        switch operatingSystem {
        case .linux:
            if let pm = panic.panicMessage, pm != panic.message { out += pm + "\n" }
            if let cpu = panic.cpu {
                out += "CPU \(cpu), PID \(panic.pid.map(String.init) ?? "?"), command \(panic.command ?? "?")"
                out += panic.taint.map { " (\($0))" } ?? ""
                out += "\n"
            }
            out += "at \(formatDecimal(Double(panic.timestampNanoseconds) / 1e9, places: 6)) s after boot"
            if let t = crashTimeUTC { out += "; crashed \(t)" }
            out += "\n"
            if let r = kernelRelease {
                let version = kernelVersion.map { " " + $0 } ?? ""
                out += "kernel \(r)\(version)" + (hostname.map { " on \($0)" } ?? "") + "\n"
            }
            for line in [panic.rip, panic.pc, panic.lr] { if let line { out += line + "\n" } }
            if !panic.callTrace.isEmpty {
                out += "Call Trace:\n"
                for frame in panic.callTrace { out += "  \(frame)\n" }
            }
        case .freebsd:
            if let cpu = panic.cpu { out += "CPU \(cpu)\n" }
            if let t = crashTimeUTC { out += "dumped \(t)\n" }
            if let v = kernelVersion { out += v + (hostname.map { " on \($0)" } ?? "") + "\n" }
            if !panic.callTrace.isEmpty {
                out += "KDB: stack backtrace:\n"
                for frame in panic.callTrace { out += "  \(frame)\n" }
            }
        }
        return out
    }
}

extension Dump {
    /// The kernel this dump is of, chosen once by the operating system: Linux (located through
    /// VMCOREINFO, recovered VMCOREINFO or saved page tables), or FreeBSD (a minidump's own
    /// translation, or a full dump's through the kernel file). Keep it: every call builds anew.
    public func kernel() throws(VMCoreError) -> any Kernel {
        switch operatingSystem {
        case .freebsd: return FreeBSDKernelView(dump: self)
        case .linux, nil: return try LinuxKernel(dump: self)
        }
    }
}
