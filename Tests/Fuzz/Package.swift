// swift-tools-version:6.2
//
// libFuzzer targets for Funnel (docs/RELIABILITY.md, scripts/fuzz.sh). A package of its own so the root build
// never sees it. The root package exports neither HTTP2 nor Scoring as a product, so this package compiles the
// library sources itself through the symlinks in Sources/ (Sources/Ranking → ../../../Sources/Ranking, …): the
// code under test is exactly the daemon's.
//
//   swift build -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing \
//       -Xswiftc -parse-as-library -Xswiftc -DFUZZING                      # fuzzers (libFuzzer drivers)
//   swift build -c release --scratch-path .build-replay -Xswiftc -enable-testing -Xswiftc -parse-as-library
//                                                                          # replayers: `<target> FILE…`
//
// -enable-testing: the harness reaches the libraries' internals with `@testable import`.
//
// Each target is one file that exports `LLVMFuzzerTestOneInput` and `<Target>_main` with @_cdecl (SwiftPM links
// executables with `--defsym main=<Target>_main`; -parse-as-library keeps Swift from emitting a main of its own);
// `<Target>_main` calls FuzzSupport's `fuzzerMain`, which replays files instead without -DFUZZING.
import PackageDescription

// The root package's language settings for the library targets (warnings-as-errors is left to the root build).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "FunnelFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib"),
        .systemLibrary(name: "CEpoll"),
        .target(name: "CFunnelKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CPrivateFile"),
        .target(name: "Ranking", dependencies: ["CFunnelKernels", "CPrivateFile"], swiftSettings: swiftSettings),
        .target(
            name: "HTTP2",
            dependencies: [
                "CNghttp2", "COpenSSL", "CZlib", "CEpoll", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "InferenceMessages", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["inference.proto", "health.proto"], swiftSettings: swiftSettings),
        .target(
            name: "Scoring",
            dependencies: [
                "HTTP2", "Ranking", "InferenceMessages", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ], swiftSettings: swiftSettings),
        // Sources/FuzzHarness → ../../FuzzHarness: the root package's harness, which the replays run too.
        .target(
            name: "FuzzHarness",
            dependencies: [
                "HTTP2", "Scoring", "Ranking", "InferenceMessages", .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ], swiftSettings: swiftSettings),
        .target(name: "FuzzSupport"),  // libFuzzer's driver, or a replayer without -DFUZZING
        .executableTarget(name: "FuzzScoreRequest", dependencies: ["FuzzSupport", "FuzzHarness", "Scoring"]),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["FuzzSupport", "FuzzHarness"]),
        .executableTarget(name: "FuzzHTTP1", dependencies: ["FuzzSupport", "FuzzHarness"]),
        .executableTarget(name: "FuzzHTTP2", dependencies: ["FuzzSupport", "FuzzHarness"]),
    ]
)
