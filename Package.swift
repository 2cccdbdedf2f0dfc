// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-vmcore",
    products: [
        .library(name: "VMCore", targets: ["VMCore"]),
        .library(name: "VMCoreTranslation", targets: ["VMCoreTranslation"]),
        .library(name: "VMCoreNet", targets: ["VMCoreNet"]),
        .executable(name: "vmcore", targets: ["vmcore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // RSA key unwrapping, AES-256-CBC and ChaCha20 for encrypted kernel dumps (EKCD), SHA-256.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        // System libraries: the same page codecs makedumpfile, crash and libkdumpfile link.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZO", pkgConfig: "lzo2", providers: [.apt(["liblzo2-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),

        // Linux file calls the Glibc module leaves out (sync_file_range).
        .target(name: "CVMCoreSystem"),
        // Address translation as data: architectures (paging forms, saved registers), the
        // generic page-table walker and the kinds of map. It knows physical memory only as a
        // protocol, and imports nothing of VMCore (a CI check keeps dump formats out of it).
        .target(name: "VMCoreTranslation"),
        .target(
            name: "VMCore",
            dependencies: [
                "VMCoreTranslation",
                "CZlib", "CZstd", "CLZO", "CSnappy", "CVMCoreSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // SwiftNIO servers and clients: netdump (netdumpd(8) and the kernel's sender). VMCore
        // itself stays free of NIO.
        .target(
            name: "VMCoreNet",
            dependencies: [
                "VMCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "vmcore",
            dependencies: [
                "VMCore",
                "VMCoreNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Builders that write dump files byte by byte, for tests;
        // a lossy UDP relay for the netdump tests and benchmark.
        .target(
            name: "VMCoreTestSupport",
            dependencies: [
                "VMCore", "CZlib", "CZstd", .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The relay on its own, for Benchmarks/netdump_bench.py.
        .executableTarget(
            name: "netdump-relay",
            dependencies: [
                "VMCoreTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/NetdumpRelay"
        ),
        // Fuzz targets: every entry point a file or a packet reaches, with seeds from the
        // builders. `vmcore-fuzz` replays saved inputs in any build; `make fuzz` builds it with
        // --sanitize=fuzzer to run libFuzzer (see Fuzz/ and the README).
        .target(
            name: "VMCoreFuzzing",
            dependencies: [
                "VMCore", "VMCoreNet", "VMCoreTranslation", "VMCoreTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Fuzz/Targets"
        ),
        .executableTarget(name: "vmcore-fuzz", dependencies: ["VMCoreFuzzing"], path: "Fuzz/Driver"),
        .testTarget(
            name: "VMCoreTests",
            dependencies: [
                "VMCore", "VMCoreNet", "VMCoreTestSupport", "VMCoreFuzzing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
