// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "junction",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "junction-ingress", targets: ["junction-ingress"]),
        .executable(name: "junction-worker", targets: ["junction-worker"]),
        .executable(name: "junction-scheduler", targets: ["junction-scheduler"]),
        .executable(name: "junction", targets: ["junction"]),
        .executable(name: "junction-sandbox", targets: ["junction-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // Already in the graph through Hummingbird; named so the ingress can import NIOPosix.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Already in the graph through Hummingbird; the ingress's webhook path uses its HTTP types codec.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Tenant JWTs (HS256, RS256, ES256) for the connect flow and the management API.
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        // Metrics: the libraries record through swift-metrics (already in the graph through
        // Hummingbird); the processes export them in Prometheus's text format.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Traces: spans through swift-distributed-tracing (already in the graph through Hummingbird),
        // exported by swift-otel over OTLP/HTTP when JUNCTION_OTEL_ENDPOINT is set. Only its HTTP
        // exporter: the gRPC one would add grpc-swift to every build.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // C libraries, linked from Debian's -dev packages.
        .systemLibrary(
            name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // curl_easy_setopt is variadic, which Swift cannot call: typed wrappers.
        .target(name: "CCurlShim", dependencies: ["CCurl"], path: "Sources/CCurlShim"),

        // The libraries, by layer: each imports only the ones below it that it needs
        // (docs/architecture.md). The processes' own libraries sit behind thin executables, so the
        // tests import what they test.
        .target(
            name: "JunctionCore",
            dependencies: [
                "CHiredis", "CLibPQ", "CCurl", "CCurlShim",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Shared/Core",
            resources: [.copy("Migrations/sql")],
            swiftSettings: swiftSettings),
        // Field mappings: paths into a provider's objects, the transforms, the documented shapes
        // they are checked against, and applying them to a synced object.
        .target(
            name: "JunctionMapping",
            dependencies: ["JunctionCore"],
            path: "Sources/Shared/Mapping",
            swiftSettings: swiftSettings),
        .target(
            name: "JunctionProviders",
            dependencies: ["JunctionCore", "JunctionMapping", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")],
            path: "Sources/Shared/Providers",
            swiftSettings: swiftSettings),
        .target(
            name: "JunctionQueue",
            dependencies: ["JunctionCore"],
            path: "Sources/Shared/Queue",
            resources: [.copy("Scripts/lua")],
            swiftSettings: swiftSettings),
        .target(
            name: "JunctionCoordination",
            dependencies: ["JunctionCore", "JunctionProviders"],
            path: "Sources/Shared/Coordination",
            resources: [.copy("Scripts/lua")],
            swiftSettings: swiftSettings),
        .target(
            name: "JunctionStores",
            dependencies: ["JunctionCore", "JunctionQueue", "JunctionProviders", "JunctionMapping", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Shared/Stores",
            swiftSettings: swiftSettings),
        // What every process serves to ops: the Prometheus export of the metrics, and for the
        // worker and the scheduler a small HTTP server with it and their health.
        .target(
            name: "JunctionObservability",
            dependencies: [
                "JunctionCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Shared/Observability",
            swiftSettings: swiftSettings),

        .target(
            name: "JunctionIngress",
            dependencies: [
                "JunctionCore", "JunctionQueue", "JunctionCoordination", "JunctionProviders", "JunctionStores", "JunctionObservability",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Ingress",
            exclude: ["Main"],
            // The management API's contract, served at /v1/openapi.json.
            resources: [.copy("API/openapi.json")],
            swiftSettings: swiftSettings),
        .executableTarget(name: "junction-ingress", dependencies: ["JunctionIngress"], path: "Sources/Ingress/Main", swiftSettings: swiftSettings),
        .target(
            name: "JunctionWorker",
            dependencies: [
                "JunctionCore", "JunctionQueue", "JunctionCoordination", "JunctionProviders", "JunctionStores", "JunctionObservability",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Worker",
            exclude: ["Main"],
            swiftSettings: swiftSettings),
        .executableTarget(name: "junction-worker", dependencies: ["JunctionWorker"], path: "Sources/Worker/Main", swiftSettings: swiftSettings),
        .target(
            name: "JunctionScheduler",
            dependencies: [
                "JunctionCore", "JunctionQueue", "JunctionCoordination", "JunctionProviders", "JunctionStores", "JunctionObservability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Scheduler",
            exclude: ["Main"],
            swiftSettings: swiftSettings),
        .executableTarget(name: "junction-scheduler", dependencies: ["JunctionScheduler"], path: "Sources/Scheduler/Main", swiftSettings: swiftSettings),
        .executableTarget(
            name: "junction-sandbox",
            dependencies: [
                // The providers' OAuth descriptions drive its generic OAuth mode.
                "JunctionCore", "JunctionProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Sandbox",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "junction",
            dependencies: [
                "JunctionCore", "JunctionQueue", "JunctionCoordination", "JunctionProviders", "JunctionStores", "JunctionIngress",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CLI",
            swiftSettings: swiftSettings),

        .testTarget(
            name: "JunctionTests",
            dependencies: [
                "JunctionCore", "JunctionQueue", "JunctionCoordination", "JunctionProviders", "JunctionStores", "JunctionMapping",
                "JunctionIngress", "JunctionWorker", "JunctionScheduler", "JunctionObservability",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/JunctionTests",
            swiftSettings: swiftSettings),
    ]
)
