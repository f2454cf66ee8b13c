// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Mediaflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mediaflow-gateway", targets: ["GatewayMain"]),
        .executable(name: "mediaflow-image", targets: ["ImageServiceMain"]),
        .executable(name: "mediaflow-video", targets: ["VideoServiceMain"]),
        .executable(name: "mediaflow-audio", targets: ["AudioServiceMain"]),
        .executable(name: "mediaflow-janitor", targets: ["JanitorMain"]),
        .executable(name: "mediactl", targets: ["mediactl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP/HTTP only: the gRPC exporter would add grpc-swift to every build for nothing the collector needs.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // MARK: C libraries (shims for what Swift cannot import: variadics and macros)
        .systemLibrary(name: "CRabbitMQ", path: "Shared/CRabbitMQ", pkgConfig: "librabbitmq",
                       providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(name: "CVips", path: "Shared/CVips", pkgConfig: "vips",
                       providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "CAV", path: "Shared/CAV", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),

        // MARK: Shared
        .target(name: "MediaDomain", path: "Shared/MediaDomain", swiftSettings: swiftSettings),
        .target(name: "Messaging", dependencies: [
            "CRabbitMQ",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/Messaging", swiftSettings: swiftSettings),
        .target(name: "Storage", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/Storage", swiftSettings: swiftSettings),
        .target(name: "Persistence", dependencies: [
            "MediaDomain",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/Persistence", swiftSettings: swiftSettings),
        .target(name: "ServiceKit", dependencies: [
            "MediaDomain", "Messaging", "Storage", "Persistence",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "OTel", package: "swift-otel"),
        ], path: "Shared/ServiceKit", swiftSettings: swiftSettings),
        .target(name: "Operations", dependencies: [
            "MediaDomain", "Messaging", "Persistence", "Storage", "ServiceKit",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Shared/Operations", swiftSettings: swiftSettings),
        .target(name: "Tokens", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Shared/Tokens", swiftSettings: swiftSettings),
        .target(name: "Imaging", dependencies: ["CVips", "MediaDomain"], path: "Shared/Imaging", swiftSettings: swiftSettings),
        .target(name: "AV", dependencies: ["CAV"], path: "Shared/AV", exclude: ["Core/README.md"],
                swiftSettings: swiftSettings),

        // MARK: Services
        .target(name: "Gateway", dependencies: [
            "MediaDomain", "Messaging", "Storage", "Persistence", "ServiceKit", "Operations", "Tokens",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Mustache", package: "swift-mustache"),
        ], path: "Services/Gateway/Sources", exclude: ["Admin/Console/Templates"], swiftSettings: swiftSettings,
           plugins: ["EmbedFiles"]),
        .executableTarget(name: "GatewayMain", dependencies: ["Gateway", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
                          path: "Services/Gateway/Main", swiftSettings: swiftSettings),
        .target(name: "ImageService", dependencies: ["MediaDomain", "Imaging", "ServiceKit"],
                path: "Services/ImageService/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "ImageServiceMain", dependencies: ["ImageService"],
                          path: "Services/ImageService/Main", swiftSettings: swiftSettings),
        .target(name: "VideoService", dependencies: ["MediaDomain", "AV", "ServiceKit"],
                path: "Services/VideoService/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "VideoServiceMain", dependencies: ["VideoService"],
                          path: "Services/VideoService/Main", swiftSettings: swiftSettings),
        .target(name: "AudioService", dependencies: ["MediaDomain", "AV", "ServiceKit"],
                path: "Services/AudioService/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "AudioServiceMain", dependencies: ["AudioService"],
                          path: "Services/AudioService/Main", swiftSettings: swiftSettings),
        .target(name: "Janitor", dependencies: [
            "MediaDomain", "Messaging", "Persistence", "ServiceKit", "Operations", "Storage",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Janitor/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "JanitorMain", dependencies: ["Janitor"],
                          path: "Services/Janitor/Main", swiftSettings: swiftSettings),
        .executableTarget(name: "mediactl", dependencies: [
            "Operations", "Persistence", "Messaging", "ServiceKit", "MediaDomain", "Tokens",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], path: "Services/mediactl", swiftSettings: swiftSettings),

        // MARK: Build tools
        .executableTarget(name: "embed-files", path: "Tools/embed-files", swiftSettings: swiftSettings),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embed-files"], path: "Plugins/EmbedFiles"),

        // MARK: Tests
        .testTarget(name: "MediaDomainTests", dependencies: ["MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "OperationsTests", dependencies: [
            "Operations", "Persistence", "Storage", "Messaging", "MediaDomain", "ServiceKit",
        ], swiftSettings: swiftSettings),
        .testTarget(name: "JanitorTests", dependencies: [
            "Janitor", "Operations", "Persistence", "Storage", "Messaging", "MediaDomain", "ServiceKit",
        ], swiftSettings: swiftSettings),
        .testTarget(name: "PersistenceTests", dependencies: ["Persistence", "MediaDomain"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: [
            "Storage", "TestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ImageServiceTests", dependencies: [
            "ImageService", "ServiceKit", "Messaging", "Persistence", "Storage", "MediaDomain", "Imaging", "TestSupport",
        ], swiftSettings: swiftSettings),
        .testTarget(name: "VideoServiceTests", dependencies: ["VideoService", "AV", "ServiceKit", "MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "AudioServiceTests", dependencies: ["AudioService", "AV", "ServiceKit", "MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayTests", dependencies: [
            "Gateway", "Tokens", "Operations",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Gateway", "Janitor", "Tokens", "Operations", "Persistence", "Messaging", "ServiceKit", "Storage", "MediaDomain",
            "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["MediaDomain", "TestSupport", "Tokens", "Storage"], swiftSettings: swiftSettings),
        // MARK: Benchmarks
        .executableTarget(name: "imaging-bench", dependencies: ["Imaging", "MediaDomain"], path: "Benchmarks/imaging",
                          exclude: ["run.sh", "pillow_bench.py"], swiftSettings: swiftSettings),
        .executableTarget(name: "video-bench", dependencies: ["AV"], path: "Benchmarks/video",
                          exclude: ["run.sh"], swiftSettings: swiftSettings),
        .executableTarget(name: "audio-bench", dependencies: ["AV"], path: "Benchmarks/audio",
                          exclude: ["run.sh"], swiftSettings: swiftSettings),
    ]
)
