// swift-tools-version:6.1
import PackageDescription

// An agent that links picus-journal by path, as a user's package links it by URL:
//     .package(url: "https://github.com/<owner>/picus-journal", from: "…")
// Run it against the embedded sandbox: swift run --package-path Examples/Agent
let package = Package(
    name: "Agent",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "picus-journal", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "Agent",
            dependencies: [
                .product(name: "PicusJournal", package: "picus-journal"),
                .product(name: "PicusSandbox", package: "picus-journal"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
