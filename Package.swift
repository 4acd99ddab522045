// swift-tools-version:6.1
import PackageDescription

/// `PICUS_JOURNAL_CORE_ONLY=1` declares only what mobile-core code links: the core library, its
/// testing helpers without the sandbox, and the unit tests, with no SwiftNIO, AsyncHTTPClient,
/// Hummingbird or PostgreSQL in the package graph at all. CI builds and tests the package so
/// (`scripts/check-core.sh`), as Apple platforms build the core; the default declares everything.
let coreOnly = Context.environment["PICUS_JOURNAL_CORE_ONLY"] == "1"

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// MARK: - The core: Foundation, GRDB and small API packages, for servers and mobile-core code alike.

let coreDependencies: [Package.Dependency] = [
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
]

/// On Linux, the core sends through AsyncHTTPClient while the `AsyncHTTPClientTransport` trait is on
/// (the default), and through URLSession when it is off, as on Apple platforms.
let asyncHTTPClient: [Target.Dependency] = coreOnly ? [] : [
    .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(platforms: [.linux], traits: ["AsyncHTTPClientTransport"])),
    .product(name: "NIOCore", package: "swift-nio", condition: .when(platforms: [.linux], traits: ["AsyncHTTPClientTransport"])),
    .product(name: "NIOPosix", package: "swift-nio", condition: .when(platforms: [.linux], traits: ["AsyncHTTPClientTransport"])),
    .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(platforms: [.linux], traits: ["AsyncHTTPClientTransport"])),
]

let coreTargets: [Target] = [
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
        ] + asyncHTTPClient,
        swiftSettings: swiftSettings
    ),
    .target(
        name: "PicusJournalFuzzing",
        dependencies: ["PicusJournal", .product(name: "HTTPTypes", package: "swift-http-types")],
        swiftSettings: swiftSettings
    ),
    // For an agent's own tests: a temporary journal, a manual clock and, beside a server, the sandbox.
    .target(
        name: "PicusJournalTesting",
        dependencies: ["PicusJournal"] + (coreOnly ? [] : ["PicusSandbox"]),
        exclude: coreOnly ? ["Sandbox+Testing.swift"] : [],
        swiftSettings: swiftSettings
    ),
    // Seeded journals and a CSV reader, for this package's tests of every kind.
    .target(
        name: "PicusJournalFixtures",
        dependencies: ["PicusJournal", "PicusJournalTesting"],
        path: "Tests/Fixtures",
        swiftSettings: swiftSettings
    ),
    // Pure logic and the store on temporary files: no sockets, no processes.
    .testTarget(
        name: "PicusJournalUnitTests",
        dependencies: [
            "PicusJournal", "PicusJournalFuzzing", "PicusJournalTesting", "PicusJournalFixtures",
            .product(name: "GRDB", package: "GRDB.swift"),
        ],
        swiftSettings: swiftSettings
    ),
]

// MARK: - Servers: the transport on NIO, the sandbox, the fleet on PostgreSQL, the CLI and their tests.

let serverDependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
]

let serverTargets: [Target] = [
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
    // The client, the replayer and the CLI over real HTTP on 127.0.0.1 and real processes.
    .testTarget(
        name: "PicusJournalIntegrationTests",
        dependencies: [
            "PicusJournal", "PicusSandbox", "PicusJournalTesting", "PicusJournalTestSupport", "PicusJournalFixtures",
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
            // The DocC articles' snippets compile here (DocumentationSnippets.swift).
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        swiftSettings: swiftSettings
    ),
    // The fleet store, on the real PostgreSQL that .ci/run starts.
    .testTarget(
        name: "PicusJournalFleetTests",
        dependencies: [
            "PicusJournal", "PicusJournalFleet", "PicusSandbox", "PicusJournalTesting", "PicusJournalTestSupport",
            "PicusJournalFixtures",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            // docs/fleet.md's snippet compiles here (DocumentationSnippets+Fleet.swift).
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        swiftSettings: swiftSettings
    ),
]

let package = Package(
    name: "picus-journal",
    platforms: [.macOS(.v14), .iOS(.v17), .tvOS(.v17), .watchOS(.v10), .visionOS(.v1)],
    products: [
        .library(name: "PicusJournal", targets: ["PicusJournal"]),
        .library(name: "PicusJournalTesting", targets: ["PicusJournalTesting"]),
    ] + (coreOnly ? [] : [
        .library(name: "PicusSandbox", targets: ["PicusSandbox"]),
        .library(name: "PicusJournalFleet", targets: ["PicusJournalFleet"]),
        .executable(name: "picus-journal", targets: ["picus-journal"]),
    ]),
    traits: [
        .trait(name: "AsyncHTTPClientTransport",
               description: "On Linux, send through AsyncHTTPClient (SwiftNIO) instead of URLSession."),
        .default(enabledTraits: coreOnly ? [] : ["AsyncHTTPClientTransport"]),
    ],
    dependencies: coreDependencies + (coreOnly ? [] : serverDependencies),
    targets: coreTargets + (coreOnly ? [] : serverTargets),
    swiftLanguageModes: [.v6]
)
