// swift-tools-version:6.0
// The HTTP floor of the ingress's stack on this machine: SwiftNIO's HTTP/1 server answering every
// request with a fixed 200, no verification and no Redis. Built only by `bench/ingress` with COMPARE=on,
// never by the tests.
import PackageDescription

let package = Package(
    name: "http-floor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "http-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
