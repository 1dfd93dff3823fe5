// swift-tools-version:6.1
import PackageDescription

/// Hearth: a photo and video library with no central server.
/// Module arrows point one way (see README "Architecture"):
/// hearth → HTTPAPI → Node → {Transport, Media, Presentation, Jobs} → SyncEngine → {Catalog, ChunkStore, Wire, HearthCrypto}
/// (HTTPAPI, the Immich-compatible HTTP server, sits on Node, Presentation and Catalog; nothing below it imports it.)
/// (Presentation sits on SyncEngine, Catalog and Wire; Jobs on nothing of the project).
let package = Package(
    name: "Hearth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hearth", targets: ["hearth"]),
        .executable(name: "hearth-sim", targets: ["hearth-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/vapor/multipart-kit", exact: "4.7.1"),
        // The HTTP part types of Hummingbird's channel, for a pipeline handler (100 Continue).
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        // SHA-1 of originals, the checksum Immich clients deduplicate by.
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
    ],
    targets: [
        // C libraries from Debian's -dev packages.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CExif", pkgConfig: "libexif", providers: [.apt(["libexif-dev"])]),
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "CRaw", pkgConfig: "libraw", providers: [.apt(["libraw-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CSQLiteTuning"),
        .target(name: "CMediaShim", dependencies: ["CVips", "CExif", "CRaw"]),

        .target(name: "HearthCrypto", dependencies: ["CSodium", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "ChunkStore", dependencies: ["HearthCrypto", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Catalog", dependencies: [
            "HearthCrypto", .product(name: "GRDB", package: "GRDB.swift"),
            // The bulk import path binds through the SQLite C API.
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "Wire", dependencies: ["HearthCrypto"]),
        .target(name: "SyncEngine", dependencies: ["Catalog", "ChunkStore", "Wire", "HearthCrypto"]),
        .target(name: "Media", dependencies: ["CMediaShim", "CExif", "CVips", "CRaw", "HearthCrypto"]),
        .target(name: "Transport", dependencies: [
            "SyncEngine", "Wire", "HearthCrypto",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // What `--json` prints (assets, status, libraries), shared by the CLI and the HTTP API to come.
        .target(name: "Presentation", dependencies: ["Catalog", "SyncEngine", "Wire", "HearthCrypto"]),
        // The node's background job runner.
        .target(name: "Jobs"),
        .target(name: "Node", dependencies: [
            "Transport", "Media", "SyncEngine", "Catalog", "ChunkStore", "HearthCrypto", "Presentation", "Jobs",
            .product(name: "Logging", package: "swift-log"),
            // The node-local access store (sessions, API keys): home/access.sqlite.
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // The Immich-compatible HTTP API every node serves.
        .target(name: "HTTPAPI", dependencies: [
            "Node", "Presentation", "Catalog", "ChunkStore", "HearthCrypto", "Media",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "MultipartKit", package: "multipart-kit"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "hearth", dependencies: [
            "CMalloc", "Node", "HTTPAPI", "Presentation", "Catalog", "ChunkStore", "Media", "HearthCrypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Deterministic multi-node simulation of the real SyncEngine, Catalog and ChunkStore.
        .target(name: "Simulator", dependencies: ["SyncEngine", "Catalog", "ChunkStore", "Wire", "HearthCrypto"],
                path: "simulations/Simulator"),
        .executableTarget(name: "hearth-sim", dependencies: [
            "Simulator", "CSQLiteTuning", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "simulations/hearth-sim"),

        // Benchmarks: print figures beside their anchors; never part of `make test`.
        .executableTarget(name: "bench-catalog", dependencies: ["Catalog", "HearthCrypto"], path: "bench/catalog"),
        .executableTarget(name: "bench-timeline", dependencies: ["Catalog", "HearthCrypto"], path: "bench/timeline"),
        .executableTarget(name: "bench-chunks", dependencies: ["ChunkStore", "HearthCrypto"], path: "bench/chunks"),
        .executableTarget(name: "bench-media", dependencies: ["Media", "HearthCrypto"], path: "bench/media"),
        .executableTarget(name: "bench-sync", dependencies: [
            "Transport", "SyncEngine", "Catalog", "ChunkStore", "HearthCrypto",
            .product(name: "Logging", package: "swift-log"),
        ], path: "bench/sync"),

        .testTarget(name: "HearthCryptoTests", dependencies: ["HearthCrypto"]),
        .testTarget(name: "ChunkStoreTests", dependencies: ["ChunkStore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        // Test devices the SyncEngine and Transport suites share.
        .target(name: "SyncTestSupport", dependencies: ["Catalog", "ChunkStore", "HearthCrypto", "Wire", "SyncEngine"],
                path: "Tests/SyncTestSupport"),
        .testTarget(name: "SyncEngineTests", dependencies: ["SyncEngine", "SyncTestSupport"]),
        // Real sockets: the transport's framing and the driver of the handshake and session machines.
        .testTarget(name: "TransportTests", dependencies: [
            "SyncTestSupport",
            "Transport", "SyncEngine",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "MediaTests", dependencies: ["Media"]),
        .testTarget(name: "NodeTests", dependencies: ["Node", "Presentation", "Jobs", "Catalog", "Media", "HearthCrypto",
                                                        .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator"]),
        .testTarget(name: "HTTPAPITests", dependencies: [
            "HTTPAPI", "Node", "Catalog", "HearthCrypto", "Presentation",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
