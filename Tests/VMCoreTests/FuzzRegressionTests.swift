import Foundation
import Testing
import VMCore
import VMCoreFuzzing

/// Every input the fuzzers ever crashed, hung or ballooned on, kept in `Fuzz/Regressions/TARGET/`
/// and replayed through its target: each must finish quickly, and every error it gives must be
/// one line naming the input. A reintroduced trap kills this test process, which fails the run.
@Suite("fuzz regressions")
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func inputs(_ target: String) -> [URL] {
        let dir = root.appendingPathComponent("Fuzz/Regressions/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test("every target has a name, a summary and seeds that run cleanly", arguments: FuzzTarget.all.map(\.name))
    func seeds(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let seeds = target.seeds()
        #expect(!seeds.isEmpty)
        for seed in seeds {
            let outcome = target.run(seed.bytes)
            for error in outcome.errors {
                #expect(!error.contains("\n"), "\(name)/\(seed.name): \(error)")
            }
        }
    }

    @Test("saved crashers replay as one-line errors, in time", arguments: FuzzTarget.all.map(\.name))
    func regressions(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        for file in Self.inputs(name) {
            let bytes = [UInt8](try Data(contentsOf: file))
            let start = Date()
            let outcome = target.run(bytes)
            let seconds = Date().timeIntervalSince(start)
            // Debug builds are several times slower than the 1 s the release fuzzer allows.
            #expect(seconds < 10, "\(name)/\(file.lastPathComponent) took \(seconds) s")
            for error in outcome.errors {
                #expect(!error.contains("\n"), "\(name)/\(file.lastPathComponent): \(error)")
            }
        }
    }
}
