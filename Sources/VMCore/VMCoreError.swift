/// The one error type of the VMCore library.
///
/// Every error a user can cause names the file, the offset (when there is one) and what was
/// expected, in one sentence: `vmcore.3: corrupt page descriptor for PFN 0x1a2b at offset
/// 0x5018: compressed size 9000 exceeds block size 4096`.
public struct VMCoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; callers branch on it, users read `description`.
    public enum Kind: String, Sendable, Equatable {
        /// The data ends before a structure it must hold.
        case truncated
        /// The first bytes are not what the format requires.
        case badMagic
        /// A field holds a value the format does not allow.
        case corrupt
        /// A valid file using a feature this library does not read.
        case unsupported
        /// The address is not in the dump at all (a hole, or beyond its memory).
        case notInDump
        /// The page existed but the dump tool left it out (filtered, or lost in an incomplete dump).
        case excludedPage
        /// Address translation failed.
        case translation
        /// Decryption failed.
        case decryption
        /// The operating system refused an operation on a file.
        case io
        /// A command-line argument is wrong.
        case usage
    }

    /// What the caller can do about it, which a front end words in its own terms (a command
    /// line names its flags; the library names none).
    public enum Hint: Sendable, Equatable {
        /// The dump can be read anyway, as savecore -f reads it.
        case force
        /// The kernel file that crashed would supply what is missing; the text says how.
        case kernelFile(String)
        /// An existing output file would be replaced if asked.
        case replace
        /// A Linux kernel's System.map or vmlinux would supply the symbols kallsyms lacks.
        case symbolFile

        /// The hint in the library's words.
        public var text: String {
            switch self {
            case .force: "it can be read anyway when forced"
            case .kernelFile(let why): "give the kernel file that crashed: \(why)"
            case .replace: "it is replaced only when asked to"
            case .symbolFile: "the kernel's System.map or vmlinux supplies the symbols"
            }
        }
    }

    public var kind: Kind
    /// The file the error is about, as the user named it.
    public var file: String
    /// The byte offset in `file` the error is about, if there is one.
    public var offset: UInt64?
    /// What is wrong, naming the structure: "corrupt page descriptor for PFN 0x1a2b".
    public var message: String
    /// Why, when there is more to say: "compressed size 9000 exceeds block size 4096".
    public var detail: String?
    public var hint: Hint?

    public init(_ kind: Kind, file: String, offset: UInt64? = nil, _ message: String, _ detail: String? = nil, hint: Hint? = nil) {
        self.kind = kind
        self.file = file
        self.offset = offset
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    /// `MESSAGE: DETAIL: HINT`, without the file and offset: for a warning that names its context.
    public var reason: String {
        [message, detail, hint?.text].compactMap { $0 }.joined(separator: ": ")
    }

    /// `FILE: MESSAGE at offset 0x…: DETAIL: HINT`, leaving out what is not known.
    public var description: String { described { $0.text } }

    /// The description with the hint worded by `hintText` (a command line names its flags).
    public func described(hint hintText: (Hint) -> String) -> String {
        var text = file.isEmpty ? message : "\(file): \(message)"
        if let offset { text += " at offset \(hex(offset))" }
        if let detail { text += ": \(detail)" }
        if let hint { text += ": " + hintText(hint) }
        return text
    }
}

/// `0x…` in lower-case hex, the way every address and offset is printed.
@inlinable
public func hex<T: BinaryInteger>(_ value: T) -> String {
    "0x" + String(value, radix: 16)
}
