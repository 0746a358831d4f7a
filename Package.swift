// swift-tools-version:6.0
import PackageDescription

/// Sluice: a file storage service speaking gRPC over HTTP/2 (nghttp2) and TLS (OpenSSL).
///
/// Targets are layered; each knows nothing of the layers above it:
///   C modules (CNGHTTP2, COpenSSL, CLibPQ, CZlib)
///   SluiceMetrics  the catalogue of named metrics, on the swift-metrics API (no backend)
///   SluiceBackoff  the one policy for waiting before trying again (exponential, full jitter)
///   SluiceRPC      gRPC semantics: status, metadata, framing, deadlines, router, typed calls
///                  (no HTTP/2: transports implement its ServerStream and ClientTransport)
///   SluiceOpenSSL  TLS connections and SHA-256 on OpenSSL, with Swift types on top
///   SluicePostgres PostgreSQL through libpq: connection, pool off the event loops, migrations
///   SluiceS3       an S3 client: SigV4 signing, HTTP through libcurl, the operations blobs need
///   SluiceStore    upload sessions, objects, blob stores (disk, S3 on SluiceS3), the collector
///   SluiceHTTP2    nghttp2 sessions on NIO channels: the server and client transports, and
///                  gRPC's mapping onto HTTP/2 (pseudo-headers, content-type, :status)
///   SluiceProto    generated messages and service stubs (committed; `make protos`)
///   SluiceServer   service implementations (health, reflection; storage later)
///   SluiceDaemon   runs services on the HTTP/2 transport: flags, TLS, logs, signals, drain
///   SluiceClient   connection settings, resumable uploader and downloader, journal, retries
///   SluiceInterop  the interoperability test service and client cases
///   executables    sluiced, sluice, sluice-interop
let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluiced", targets: ["sluiced"]),
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-interop", targets: ["sluice-interop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        .target(name: "SluiceMetrics", dependencies: ["SluiceDuration", .product(name: "CoreMetrics", package: "swift-metrics")]),
        .target(name: "SluiceDuration"),
        .target(name: "SluiceBackoff", dependencies: ["SluiceDuration"]),
        .target(name: "SluiceDirectIO"),
        .target(
            name: "SluiceRPC",
            dependencies: [
                "CZlib", "SluiceDuration", "SluiceMetrics",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "SluiceOpenSSL",
            dependencies: ["COpenSSL", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "SluiceHTTP2",
            dependencies: [
                "CNGHTTP2", "SluiceDuration", "SluiceRPC", "SluiceOpenSSL", "SluiceMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SluiceProto",
            dependencies: [
                "SluiceRPC",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "SluiceServer",
            dependencies: [
                "SluiceDuration", "SluiceRPC", "SluiceProto", "SluiceStore", "SluicePostgres", "SluiceMetrics",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SluiceStore",
            dependencies: [
                "SluiceBackoff", "SluiceDuration", "SluiceOpenSSL", "SluicePostgres", "SluiceS3", "SluiceMetrics", "SluiceDirectIO",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "SluicePostgres", dependencies: ["CLibPQ", "SluiceBackoff", "SluiceDuration", "SluiceMetrics"]),
        .target(name: "SluiceS3", dependencies: ["CCurl", "SluiceBackoff", "SluiceDuration", "SluiceOpenSSL", "SluiceMetrics"]),
        .target(
            name: "SluiceInterop",
            dependencies: ["SluiceDuration", "SluiceRPC", "SluiceProto", "SluiceServer"]
        ),
        .target(
            name: "SluiceDaemon",
            dependencies: [
                "SluiceRPC", "SluiceOpenSSL", "SluiceHTTP2", "SluiceServer", "SluiceStore", "SluicePostgres",
                "SluiceS3", "SluiceMetrics", "SluiceDuration",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "SluiceClient",
            dependencies: [
                "SluiceBackoff", "SluiceDuration", "SluiceRPC", "SluiceOpenSSL", "SluiceHTTP2", "SluiceProto", "SluiceDirectIO",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "sluiced",
            dependencies: [
                "SluiceDaemon", "SluiceOpenSSL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceClient", "SluiceDuration", "SluiceOpenSSL", "SluiceProto", "SluiceRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "sluice-interop",
            dependencies: [
                "SluiceDaemon", "SluiceClient", "SluiceInterop", "SluiceOpenSSL", "SluiceRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "SluiceTestSupport", dependencies: ["SluicePostgres"], path: "Tests/SluiceTestSupport"),
        .testTarget(name: "SluiceDirectIOTests", dependencies: ["SluiceDirectIO"]),
        .testTarget(name: "SluiceDurationTests", dependencies: ["SluiceDuration"]),
        .testTarget(name: "SluiceRPCTests", dependencies: ["SluiceRPC"]),
        .testTarget(name: "SluiceOpenSSLTests", dependencies: ["SluiceOpenSSL", "SluiceTestSupport"]),
        .testTarget(name: "SluiceClientTests", dependencies: ["SluiceClient", "SluiceRPC", "SluiceProto", "SluiceHTTP2"]),
        .testTarget(name: "SluicePostgresTests", dependencies: ["SluicePostgres", "SluiceTestSupport"]),
        .testTarget(name: "SluiceS3Tests", dependencies: ["SluiceS3", "SluiceOpenSSL"]),
        .testTarget(name: "SluiceStoreTests", dependencies: ["SluiceStore", "SluiceDuration", "SluiceOpenSSL", "SluiceDirectIO", "SluiceTestSupport"]),
        .testTarget(
            name: "SluiceContractTests",
            dependencies: ["SluiceProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/ContractTests"
        ),
        .testTarget(
            name: "SluiceServerTests",
            dependencies: [
                "SluiceServer", "SluiceProto", "SluiceRPC", "SluiceInterop", "SluiceStore", "SluicePostgres",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "SluiceHTTP2Tests",
            dependencies: ["SluiceHTTP2", "SluiceRPC", "SluiceProto", "SluiceInterop", "SluiceServer", "SluiceStore", "SluiceTestSupport"]
        ),
    ]
)

// libFuzzer targets (Fuzz/). They join the package only when scripts/fuzz.sh builds them
// (SLUICE_FUZZ=1, with --sanitize=fuzzer --sanitize=address into .build-fuzz), so the normal
// build never compiles them.
if Context.environment["SLUICE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzDeframer", ["SluiceRPC", "SluiceProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        ("FuzzServerConnection", ["SluiceHTTP2", "SluiceRPC", "SluiceServer", .product(name: "Logging", package: "swift-log")]),
        ("FuzzMetadata", ["SluiceRPC"]),
        ("FuzzPageToken", ["SluiceStore"]),
        ("FuzzObjectValidation", ["SluiceStore"]),
        ("FuzzClientFiles", ["SluiceClient"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Sources/FuzzSupport"))
    package.targets += fuzzTargets.map {
        .executableTarget(name: $0.name, dependencies: ["FuzzSupport"] + $0.dependencies, path: "Fuzz/Sources/\($0.name)")
    }
}
