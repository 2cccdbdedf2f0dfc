import VMCore

/// One entry point that a file or a packet reaches, driven with arbitrary bytes.
///
/// The same table serves libFuzzer (`vmcore-fuzz TARGET`, built with `--sanitize=fuzzer`), the
/// replay of saved inputs (`vmcore-fuzz TARGET FILE…` in an ordinary build), and the tests that
/// keep every input that once crashed as a regression. A target never traps and never prints:
/// it returns what the library said, so the tests can check the words too.
public struct FuzzTarget: Sendable {
    /// The name on the command line and in `Fuzz/Regressions/NAME/`.
    public let name: String
    /// What the target drives, for `vmcore-fuzz --list`.
    public let summary: String
    /// The dictionary file in `Fuzz/Dictionaries/` (magics and field values), if any.
    public let dictionary: String?
    /// Small valid inputs to start from, made by the test builders.
    public let seeds: @Sendable () -> [(name: String, bytes: [UInt8])]
    /// Runs one input; returns the first error's text, or nil when every step succeeded.
    public let run: @Sendable ([UInt8]) -> Outcome

    /// What one input did: each step's error, in order ("open: …", "messages: …").
    public struct Outcome: Sendable, Equatable {
        public var errors: [String] = []
        public init() {}

        /// Runs `step`, keeping its error under `label`.
        mutating func step<T>(_ label: String, _ body: () throws(VMCoreError) -> T) -> T? {
            do throws(VMCoreError) {
                return try body()
            } catch {
                errors.append("\(label): \(error)")
                return nil
            }
        }
    }

    public init(name: String, summary: String, dictionary: String? = nil,
                seeds: @escaping @Sendable () -> [(name: String, bytes: [UInt8])],
                run: @escaping @Sendable ([UInt8]) -> Outcome) {
        self.name = name
        self.summary = summary
        self.dictionary = dictionary
        self.seeds = seeds
        self.run = run
    }

    /// Every target, in the order `make fuzz` runs them.
    public static let all: [FuzzTarget] = DumpTargets.all + ParserTargets.all

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// The name fuzz inputs go by in errors, so a regression test can check that errors name it.
public let fuzzInputName = "fuzz-input"
