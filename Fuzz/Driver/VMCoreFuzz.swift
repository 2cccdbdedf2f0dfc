// vmcore-fuzz: the fuzz targets' command line.
//
//   vmcore-fuzz --list                   the targets and what each drives
//   vmcore-fuzz --seeds DIR              writes each target's seeds to DIR/TARGET/
//   vmcore-fuzz TARGET FILE|DIR…         replays saved inputs (any build); exit 0 if none traps
//   vmcore-fuzz TARGET [libFuzzer flags] fuzzes (a build with --sanitize=fuzzer -DVMCORE_LIBFUZZER)
//
// In the libFuzzer build, libFuzzer's own main() runs: it calls LLVMFuzzerInitialize with argv
// (where the target is chosen and taken out of argv), then LLVMFuzzerTestOneInput per input.
// This file is the one place the fuzzing code touches raw pointers: libFuzzer hands each input
// over as a pointer and a length.
import Foundation
import VMCoreFuzzing

#if canImport(Glibc)
import Glibc
#endif

#if VMCORE_LIBFUZZER
/// The target libFuzzer calls back into (set once, before fuzzing starts).
nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let arguments = (1..<Int(argc.pointee)).map { String(cString: argv.pointee![$0]!) }
    // libFuzzer runs itself again for -minimize_crash, -fork and -merge, with the flags but
    // not the target name (taken out below): the environment carries it to those children.
    if let name = getenv("VMCORE_FUZZ_TARGET").map({ String(cString: $0) }), arguments.first.map({ FuzzTarget.named($0) == nil }) ?? true {
        selected = FuzzTarget.named(name)
        return 0
    }
    let target = VMCoreFuzz.target(arguments)
    selected = target
    setenv("VMCORE_FUZZ_TARGET", target.name, 1)
    // libFuzzer reads argv[0] as the program and the rest as its flags and corpus directories.
    argv.pointee![1] = argv.pointee![0]
    argv.pointee = argv.pointee! + 1
    argc.pointee -= 1
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let selected else { return 0 }
    _ = selected.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

enum VMCoreFuzz {}
#else
@main
enum VMCoreFuzz {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        replay(target(arguments), arguments)
    }
}
#endif

extension VMCoreFuzz {
    /// The target `arguments` name; `--list` and `--seeds DIR` are answered here.
    static func target(_ arguments: [String]) -> FuzzTarget {
        guard let first = arguments.first else {
            fail("give a target (--list names them), --seeds DIR, or --list")
        }

        if first == "--list" {
            for t in FuzzTarget.all { print("\(t.name)\t\(t.summary)\t\(t.dictionary ?? "")") }
            exit(0)
        }

        if first == "--seeds" {
            guard arguments.count == 2 else { fail("--seeds takes one directory") }
            for t in FuzzTarget.all {
                let dir = arguments[1] + "/" + t.name
                do {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    for seed in t.seeds() {
                        try Data(seed.bytes).write(to: URL(fileURLWithPath: dir + "/seed-" + seed.name), options: .atomic)
                    }
                } catch {
                    fail("\(error)")
                }
            }
            exit(0)
        }

        guard let target = FuzzTarget.named(first) else {
            fail("no target \(first); --list names them")
        }
        return target
    }

    /// Replays every file given, or every file in each directory given.
    static func replay(_ target: FuzzTarget, _ arguments: [String]) -> Never {
        var files: [String] = []
        for path in arguments.dropFirst() {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for file in files {
            do {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
                let outcome = target.run(bytes)
                print("\(file): \(outcome.errors.first ?? "no error")")
            } catch {
                fail("\(error)")
            }
        }
        exit(0)
    }
}

func fail(_ text: String) -> Never {
    FileHandle.standardError.write(Data("vmcore-fuzz: \(text)\n".utf8))
    exit(2)
}
