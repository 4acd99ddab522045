// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "picus-journal",
    platforms: [.macOS(.v14), .iOS(.v17), .tvOS(.v17), .watchOS(.v10), .visionOS(.v1)],
    products: [
        .library(name: "PicusJournal", targets: ["PicusJournal"]),
        .library(name: "PicusSandbox", targets: ["PicusSandbox"]),
        .library(name: "PicusJournalFleet", targets: ["PicusJournalFleet"]),
        .library(name: "PicusJournalTesting", targets: ["PicusJournalTesting"]),
        .executable(name: "picus-journal", targets: ["picus-journal"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "PicusJournalMigrations",
            path: "Migrations",
            resources: [
                .embedInCode("0001_journal.sql"), .embedInCode("0002_search.sql"), .embedInCode("0003_replayable.sql"),
                .embedInCode("0004_trace.sql"), .embedInCode("0005_due.sql"),
                .embedInCode("0006_budget.sql"), .embedInCode("0007_change.sql"), .embedInCode("0008_lean.sql"),
                .embedInCode("0009_shipment.sql"),
                .embedInCode("0010_pacing.sql"), .embedInCode("0011_transport_kinds.sql"),
                .embedInCode("postgres/0001_fleet.sql"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PicusJournal",
            dependencies: [
                "PicusJournalMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(platforms: [.linux])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(platforms: [.linux])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(platforms: [.linux])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(platforms: [.linux])),
            ],
            swiftSettings: swiftSettings
        ),
        // The fleet store: PostgreSQL through postgres-nio, kept out of the core library that
        // mobile-core code links.
        .target(
            name: "PicusJournalFleet",
            dependencies: [
                "PicusJournal",
                "PicusJournalMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PicusSandbox",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "picus-journal",
            dependencies: [
                "PicusJournal",
                "PicusJournalFleet",
                "PicusSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PicusJournalFuzzing",
            dependencies: ["PicusJournal", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "picus-journal-fuzz",
            dependencies: ["PicusJournalFuzzing"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "picus-journal-bench",
            dependencies: [
                "PicusJournal", "PicusSandbox", "PicusJournalFleet", .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PicusJournalTesting",
            dependencies: ["PicusJournal", "PicusSandbox"],
            swiftSettings: swiftSettings
        ),
        // Helpers of this package's own integration and fleet tests: running the built CLI, servers
        // that misbehave at the socket, a cutting proxy, a throwaway PostgreSQL.
        .target(
            name: "PicusJournalTestSupport",
            dependencies: [
                "PicusJournal", "PicusSandbox", "PicusJournalTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        // Pure logic and the store on temporary files: no sockets, no processes.
        .testTarget(
            name: "PicusJournalUnitTests",
            dependencies: [
                "PicusJournal", "PicusJournalFuzzing", "PicusJournalTesting", "PicusJournalTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client, the replayer and the CLI over real HTTP on 127.0.0.1 and real processes.
        .testTarget(
            name: "PicusJournalIntegrationTests",
            dependencies: [
                "PicusJournal", "PicusSandbox", "PicusJournalTesting", "PicusJournalTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fleet store, on the real PostgreSQL that .ci/run starts.
        .testTarget(
            name: "PicusJournalFleetTests",
            dependencies: [
                "PicusJournal", "PicusJournalFleet", "PicusJournalTesting", "PicusJournalTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
