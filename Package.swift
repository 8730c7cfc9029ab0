// swift-tools-version:6.2
//
// Targets, bottom up (arrows point down only; `scripts/test.sh` builds with
// `--explicit-target-dependency-import-check error`, so an undeclared import fails the build):
//
//   funnel-serve (FunnelServe)   funnel-train (FunnelTrain)   funnel-bench (FunnelBenchmark)
//        │        │                    │                         │        └──► COpenBLAS (benchmark only)
//        │        ▼                    ▼                         │
//        │     Scoring             Training ──► COpenMPI         │   (MPI: funnel-train only)
//        │      │    └──────► Ranking ◄──┘ ◄─────────────────────┘
//        ▼      ▼                   │
//         HTTP2               CFunnelKernels  (C: AVX2/FMA GEMM, CRC32C; no external libraries)
//           │                 CPrivateFile    (C: O_TMPFILE, reflink / copy_file_range for private model copies)
//           │
//           ▼
//   CNghttp2, COpenSSL, CZlib  (system libraries via pkg-config)
//
//   Ranking imports no package; HTTP2 knows no model; Scoring turns HTTP requests into batches and back;
//   Scoring and Training never import each other: they meet in Ranking and in the checkpoint file.
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
        .executable(name: "funnel-serve", targets: ["FunnelServe"]),
        .executable(name: "funnel-train", targets: ["FunnelTrain"]),
        .executable(name: "funnel-bench", targets: ["FunnelBenchmark"]),
        .library(name: "Ranking", targets: ["Ranking"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The Open Inference Protocol's gRPC messages (generated code committed in Sources/InferenceMessages).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMalloc"),  // glibc's <malloc.h> (mallopt), for the daemon's memory policy
        .systemLibrary(name: "CEpoll"),  // <sys/epoll.h>, which the Glibc module leaves out, for the event loops
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // OpenMPI, for `mpirun -np N funnel-train train` (data-parallel training); only Training links it.
        .systemLibrary(name: "COpenMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(
            name: "CFunnelKernels",
            cSettings: [
                .treatAllWarnings(as: .error),
                .unsafeFlags(["-O3", "-Wall", "-Wextra"]),
            ]
        ),
        .target(
            name: "CPrivateFile",
            cSettings: [.treatAllWarnings(as: .error), .unsafeFlags(["-Wall", "-Wextra"])]
        ),
        .target(name: "Ranking", dependencies: ["CFunnelKernels", "CPrivateFile"], swiftSettings: swiftSettings),
        .target(
            name: "HTTP2",
            dependencies: [
                "CNghttp2", "COpenSSL", "CZlib", "CEpoll", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // protoc's output for inference.proto and health.proto (scripts/generate_protos.sh), kept apart from the code
        // written by hand.
        .target(
            name: "InferenceMessages",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["inference.proto", "health.proto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Scoring",
            dependencies: [
                "HTTP2", "Ranking", "InferenceMessages", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                // The Prometheus registry directly (it implements swift-metrics' handlers): its API carries HELP
                // text, which promtool expects and the swift-metrics factory path drops.
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FunnelServe",
            dependencies: [
                "Scoring", "HTTP2", "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Training",
            dependencies: [
                "Ranking", "CFunnelKernels", "COpenMPI", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FunnelTrain",
            dependencies: [
                "Ranking", "Training", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
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
        // What the fuzz targets (Tests/Fuzz, which links this folder too) and their replays in the test targets run.
        // Under Tests/: test support, never part of a product; it reaches internals with `@testable import`.
        .target(
            name: "FuzzHarness",
            dependencies: [
                "HTTP2", "Scoring", "Ranking", "InferenceMessages", .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tests/FuzzHarness",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RankingTests",
            dependencies: ["Ranking", "CFunnelKernels", "FuzzHarness"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTP2Tests",
            dependencies: ["HTTP2", "CNghttp2", "FuzzHarness"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScoringTests",
            dependencies: [
                "Scoring", "HTTP2", "Ranking", "CMalloc", "FuzzHarness", "InferenceMessages",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FunnelServeTests",
            dependencies: ["FunnelServe", "HTTP2"],  // FunnelServe: so `swift test` builds the daemon it starts
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Ranking"],
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
