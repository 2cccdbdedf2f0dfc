/// Why a virtual address could not be translated: a sentence naming the level, the index and
/// the entry ("PMD not present: pmd[9] = 0x0 while translating 0xffffffff81200000").
///
/// The translation layer knows no files; the layer above adds the dump's name and turns this
/// into its own error type.
public struct TranslationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, naming the structure: "PMD not present".
    public var message: String
    /// Why, when there is more to say: "pmd[9] = 0x0 while translating 0xffffffff81200000".
    public var detail: String?

    public init(_ message: String, _ detail: String? = nil) {
        self.message = message
        self.detail = detail
    }

    /// `MESSAGE: DETAIL`.
    public var description: String { detail.map { "\(message): \($0)" } ?? message }
}

/// `0x…` in lower-case hex, the way every address is printed.
@inlinable
func hexString<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
