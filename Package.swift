// swift-tools-version:6.2
//
// Targets, bottom up (arrows point down only; `scripts/test.sh` builds with
// `--explicit-target-dependency-import-check error`, so an undeclared import fails the build):
//
//   funnel-train (FunnelTrain)      funnel-bench (FunnelBenchmark)
//            │                          │        └──► COpenBLAS (reference sgemm, benchmark only)
//            └──────────► Ranking ◄─────┘
//                            │
//                            ▼
//                      CFunnelKernels  (C: AVX2/FMA GEMM, CRC32C; no external libraries)
//
//   CNghttp2, COpenSSL, CZlib: system libraries for the HTTP/2 daemon, linked by SystemLibraryTests today.
//   Warnings are errors in every target (`treatAllWarnings`).
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Funnel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "funnel-train", targets: ["FunnelTrain"]),
        .executable(name: "funnel-bench", targets: ["FunnelBenchmark"]),
        .library(name: "Ranking", targets: ["Ranking"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(
            name: "CFunnelKernels",
            cSettings: [
                .treatAllWarnings(as: .error),
                .unsafeFlags(["-O3", "-Wall", "-Wextra"]),
            ]
        ),
        .target(name: "Ranking", dependencies: ["CFunnelKernels"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "FunnelTrain",
            dependencies: ["Ranking", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FunnelBenchmark",
            dependencies: [
                "Ranking", "CFunnelKernels", "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RankingTests",
            dependencies: ["Ranking", "CFunnelKernels"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FunnelTrainTests",
            dependencies: ["FunnelTrain", "Ranking"],  // FunnelTrain: so `swift test` builds the binary it runs
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CNghttp2", "COpenSSL", "CZlib"],
            swiftSettings: swiftSettings
        ),
    ]
)
