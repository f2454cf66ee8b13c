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
        // Without the default ConfigurationSupport trait: settings are read once into typed structs (ServiceCore's
        // Environment), and swift-configuration would add its build to every fresh clone's test run for nothing.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
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
            "CRabbitMQ", "MediaDomain",
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
        // What every process of the system shares, a command-line tool included: settings read once into typed
        // structs, the broker's topology, a media's files, failpoints. No HTTP server, no tracing exporter.
        .target(name: "ServiceCore", dependencies: [
            "MediaDomain", "Messaging", "Storage", "Persistence",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/ServiceCore", swiftSettings: swiftSettings),
        // What a long-running service runs on: the processing worker, the outbox relay, the ops endpoints, tracing.
        // Malware scanning (SPEC §13): the clamd client every processor runs before it publishes.
        .target(name: "Scanning", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Shared/Scanning", swiftSettings: swiftSettings),
        .target(name: "ServiceKit", dependencies: [
            "MediaDomain", "Messaging", "Storage", "Persistence", "ServiceCore", "Scanning",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], path: "Shared/ServiceKit", swiftSettings: swiftSettings),
        .target(name: "Operations", dependencies: [
            "MediaDomain", "Messaging", "Persistence", "Storage", "ServiceCore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Shared/Operations", swiftSettings: swiftSettings),
        .target(name: "Tokens", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Shared/Tokens", swiftSettings: swiftSettings),
        // ThumbHash and the dominant colour (SPEC §12): plain Swift over RGBA bytes, shared by libvips' and libav's sides.
        .target(name: "Placeholders", dependencies: ["MediaDomain"], path: "Shared/Placeholders",
                swiftSettings: swiftSettings),
        .target(name: "Imaging", dependencies: ["CVips", "MediaDomain", "Placeholders"], path: "Shared/Imaging",
                swiftSettings: swiftSettings),
        .target(name: "AV", dependencies: ["CAV", "Placeholders"], path: "Shared/AV", exclude: ["Core/README.md"],
                swiftSettings: swiftSettings),

        // MARK: Services
        // The Gateway: a thin assembly (configuration, router, the status fold, the API's schema) over one target per
        // feature, each naming what it needs; GatewayKit is what they share (request context, errors, auth, the media
        // resource and its links, pagination).
        .target(name: "GatewayKit", dependencies: [
            "MediaDomain", "Persistence", "Storage", "Tokens", "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ], path: "Services/Gateway/Kit", swiftSettings: swiftSettings),
        .target(name: "GatewayUploads", dependencies: [
            "GatewayKit", "GatewayFairUse", "MediaDomain", "Persistence", "Storage", "Tokens", "ServiceCore", "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Services/Gateway/Uploads", swiftSettings: swiftSettings),
        .target(name: "GatewayAPI", dependencies: [
            "GatewayKit", "GatewayUploads", "MediaDomain", "Persistence", "Storage", "Tokens", "ServiceCore", "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Services/Gateway/API", swiftSettings: swiftSettings),
        .target(name: "GatewayLiveStatus", dependencies: [
            "GatewayKit", "GatewayFairUse", "MediaDomain", "Persistence", "Tokens",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Gateway/LiveStatus", swiftSettings: swiftSettings),
        .target(name: "GatewayWebhooks", dependencies: [
            "GatewayKit", "MediaDomain", "Persistence",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Gateway/Webhooks", swiftSettings: swiftSettings),
        .target(name: "GatewayAdmin", dependencies: [
            "GatewayKit", "GatewayLiveStatus", "MediaDomain", "Messaging", "Operations", "Persistence", "Storage", "Tokens",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
        ], path: "Services/Gateway/Admin", exclude: ["Console/Templates"], swiftSettings: swiftSettings,
           plugins: ["EmbedFiles"]),
        .target(name: "GatewayFairUse", dependencies: [
            "GatewayKit", "Persistence", "Tokens", "MediaDomain",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Gateway/FairUse", swiftSettings: swiftSettings),
        // Transforms on request (SPEC §12): the Gateway renders them itself (libvips through Imaging) on low-priority
        // threads, so it links libvips; see TransformController for why here and not over RPC.
        .target(name: "GatewayImages", dependencies: [
            "GatewayKit", "GatewayAPI", "Imaging", "MediaDomain", "Persistence", "Storage", "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Services/Gateway/Images", swiftSettings: swiftSettings),
        .target(name: "Gateway", dependencies: [
            "GatewayKit", "GatewayAPI", "GatewayUploads", "GatewayLiveStatus", "GatewayWebhooks", "GatewayAdmin", "GatewayFairUse",
            "GatewayImages",
            "MediaDomain", "Messaging", "Storage", "Persistence", "ServiceCore", "ServiceKit", "Operations", "Tokens",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ], path: "Services/Gateway/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "GatewayMain", dependencies: ["Gateway", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
                          path: "Services/Gateway/Main", swiftSettings: swiftSettings),
        .target(name: "ImageService", dependencies: [
            "MediaDomain", "Imaging", "Placeholders", "ServiceCore", "ServiceKit",
            .product(name: "Metrics", package: "swift-metrics"),
        ],
                path: "Services/ImageService/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "ImageServiceMain", dependencies: ["ImageService"],
                          path: "Services/ImageService/Main", swiftSettings: swiftSettings),
        .target(name: "VideoService", dependencies: ["MediaDomain", "AV", "Placeholders", "ServiceCore", "ServiceKit"],
                path: "Services/VideoService/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "VideoServiceMain", dependencies: ["VideoService"],
                          path: "Services/VideoService/Main", swiftSettings: swiftSettings),
        .target(name: "AudioService", dependencies: ["MediaDomain", "AV", "Placeholders", "ServiceCore", "ServiceKit"],
                path: "Services/AudioService/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "AudioServiceMain", dependencies: ["AudioService"],
                          path: "Services/AudioService/Main", swiftSettings: swiftSettings),
        .target(name: "Janitor", dependencies: [
            "MediaDomain", "Messaging", "Persistence", "ServiceCore", "ServiceKit", "Operations", "Storage", "Imaging",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Janitor/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "JanitorMain", dependencies: ["Janitor"],
                          path: "Services/Janitor/Main", swiftSettings: swiftSettings),
        .executableTarget(name: "mediactl", dependencies: [
            "Operations", "Persistence", "Messaging", "ServiceCore", "MediaDomain", "Tokens",
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
            "Operations", "Persistence", "Storage", "Messaging", "MediaDomain", "ServiceCore", "ServiceKit",
        ], swiftSettings: swiftSettings),
        .testTarget(name: "JanitorTests", dependencies: [
            "Janitor", "Operations", "Persistence", "Storage", "Messaging", "MediaDomain", "ServiceCore", "ServiceKit",
            "Placeholders", "TestSupport",
        ], swiftSettings: swiftSettings),
        .testTarget(name: "PersistenceTests", dependencies: ["Persistence", "MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: [
            "Storage", "TestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "MediaDomain", "Placeholders", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ImageServiceTests", dependencies: [
            "ImageService", "ServiceCore", "ServiceKit", "Messaging", "Persistence", "Storage", "MediaDomain", "Imaging", "TestSupport",
            "Scanning", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "VideoServiceTests", dependencies: ["VideoService", "AV", "ServiceCore", "ServiceKit", "MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "AudioServiceTests", dependencies: ["AudioService", "AV", "ServiceKit", "MediaDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayTests", dependencies: [
            "Gateway", "GatewayKit", "GatewayAPI", "GatewayUploads", "GatewayLiveStatus", "GatewayWebhooks", "GatewayAdmin",
            "GatewayFairUse", "GatewayImages", "Imaging", "Tokens", "Operations", "ServiceCore", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Gateway", "GatewayKit", "GatewayAPI", "GatewayUploads", "GatewayLiveStatus", "GatewayWebhooks", "GatewayAdmin",
            "GatewayFairUse", "Janitor", "Tokens", "Operations", "Persistence", "Messaging", "ServiceCore", "ServiceKit", "Storage",
            "MediaDomain",
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
