/// What `vmcore info` reports about a FreeBSD textdump: its members, what version.txt,
/// panic.txt and msgbuf.txt say about the kernel and its panic, and the kernel dump header
/// when the textdump was read from a dump device.
public struct TextdumpFacts: Sendable, Codable {
    public struct Member: Sendable, Codable, Equatable {
        public var name: String
        public var size: UInt64
        /// Seconds since the epoch (the kernel's `time_second` when it wrote the member).
        public var modificationTime: UInt64
        public var modificationTimeUTC: String
        /// The offset of the member's data in the archive (the reassembled one, on a device).
        public var dataOffset: String
        /// "file", or the tar typeflag of anything else.
        public var type: String

        public init(_ m: UstarHeader) {
            name = m.name
            size = m.size
            modificationTime = m.modificationTime
            modificationTimeUTC = formatUTC(Int64(clamping: m.modificationTime))
            dataOffset = hex(m.dataOffset)
            type = m.isRegularFile ? "file" : "typeflag \(quoted(String(UnicodeScalar(m.typeflag))))"
        }
    }

    /// `struct kerneldumpheader` as the trailing header states it.
    public struct Header: Sendable, Codable, Equatable {
        public var magic: String
        public var architecture: String
        public var version: UInt32
        public var architectureVersion: UInt32
        public var dumpLength: UInt64
        public var dumpTime: UInt64
        public var dumpTimeUTC: String
        public var blockSize: UInt32
        public var hostname: String
        public var versionString: String
        public var panicString: String
        public var trailerOffset: String
        public var leadingHeaderOffset: String
    }

    public var files: [String]
    public var format: String
    public var variant: String
    public var members: [Member]
    /// version.txt (or the header's versionstring), without its trailing newline.
    public var kernelVersion: String?
    public var kernelRelease: String?
    /// panic.txt (or the header's panicstring): the kernel's `panicstr`.
    public var panicMessage: String?
    /// The panic with its CPU and backtrace, from the message buffer.
    public var panic: PanicSummary?
    public var messageBufferLines: Int?
    public var ddbOutputBytes: UInt64?
    public var configurationBytes: UInt64?
    public var hostname: String?
    public var header: Header?
    public var warnings: [String]
}

extension Textdump {
    /// Gathers the facts `vmcore info` prints. Reads version.txt, panic.txt and msgbuf.txt
    /// (each at most as large as the archive); a member that cannot be read is a warning.
    public func facts() -> TextdumpFacts {
        var warnings: [String] = []
        func text(_ name: String) -> String? {
            do {
                return try contents(of: name).map { String(decoding: $0.filter { $0 != 0 }, as: UTF8.self) }
            } catch {
                warnings.append("\(name) not read: \(error.reason)")
                return nil
            }
        }
        let version = text(Self.version)?.trimmingWhitespace ?? header.map(\.versionString.trimmingWhitespace).flatMap { $0.isEmpty ? nil : $0 }
        let panicString = text(Self.panicMessage)?.trimmingWhitespace ?? header.map(\.panicString).flatMap { $0.isEmpty ? nil : $0 }
        let messages = text(Self.messageBuffer)
        var lines = messages.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        if lines?.last == "" { lines?.removeLast() }
        let panic = PanicSummary(freeBSDMessages: lines ?? [], panicString: panicString)

        let variant: String
        var headerFacts: TextdumpFacts.Header?
        switch layout {
        case .archive:
            variant = "FreeBSD textdump (tar archive as savecore saves it)"
        case .dumpDevice(let trailer, let leading):
            variant = "FreeBSD textdump on a dump device (512-byte blocks in reverse order, headers at \(hex(leading)) and \(hex(trailer)))"
            if let h = header {
                headerFacts = TextdumpFacts.Header(
                    magic: h.kind.rawValue, architecture: h.architecture, version: h.version, architectureVersion: h.architectureVersion,
                    dumpLength: h.dumpLength, dumpTime: h.dumpTime, dumpTimeUTC: formatUTC(Int64(clamping: h.dumpTime)),
                    blockSize: h.blockSize, hostname: h.hostname, versionString: h.versionString, panicString: h.panicString,
                    trailerOffset: hex(trailer), leadingHeaderOffset: hex(leading))
            }
        }
        let members = self.members.map(TextdumpFacts.Member.init)
        return TextdumpFacts(
            files: [file], format: "freebsd-textdump", variant: variant, members: members,
            kernelVersion: version, kernelRelease: version.flatMap(FreeBSDVersionString.release),
            panicMessage: panicString, panic: panic, messageBufferLines: lines?.count,
            ddbOutputBytes: archive.member(named: Self.ddbOutput)?.size, configurationBytes: archive.member(named: Self.configuration)?.size,
            hostname: header.flatMap { $0.hostname.isEmpty ? nil : $0.hostname }, header: headerFacts, warnings: warnings)
    }
}
