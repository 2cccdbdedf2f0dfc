// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-vmcore",
    products: [
        .library(name: "VMCore", targets: ["VMCore"]),
        .executable(name: "vmcore", targets: ["vmcore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // RSA key unwrapping, AES-256-CBC and ChaCha20 for encrypted kernel dumps (EKCD), SHA-256.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        // System libraries: the same page codecs makedumpfile, crash and libkdumpfile link.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZO", pkgConfig: "lzo2", providers: [.apt(["liblzo2-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),

        // Linux file calls the Glibc module leaves out (sync_file_range).
        .target(name: "CSystem"),
        .target(
            name: "VMCore",
            dependencies: [
                "CZlib", "CZstd", "CLZO", "CSnappy", "CSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "vmcore",
            dependencies: [
                "VMCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Builders that write dump files byte by byte, for tests (and later `vmcore dumpdev`).
        .target(
            name: "VMCoreTestSupport",
            dependencies: ["VMCore", "CZlib", "CZstd", .product(name: "_CryptoExtras", package: "swift-crypto")]
        ),
        .testTarget(
            name: "VMCoreTests",
            dependencies: ["VMCore", "VMCoreTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
