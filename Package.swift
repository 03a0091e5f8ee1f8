// swift-tools-version:6.2
import PackageDescription

let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

var package = Package(
    name: "LienThong",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lienthong", targets: ["lienthong"]),
        .library(name: "LienThongKafka", targets: ["LienThongKafka"]),
        .library(name: "LienThongPostgres", targets: ["LienThongPostgres"]),
        .library(name: "LienThongDomain", targets: ["LienThongDomain"]),
        .library(name: "LienThongWorker", targets: ["LienThongWorker"]),
        .library(name: "LienThongTestSupport", targets: ["LienThongTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["JSON", "YAML"]),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // System shims: the only importers are the two wrapper modules below.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // Safe wrappers that own every C pointer.
        .target(
            name: "LienThongKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "LienThongPostgres",
            dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")]
        ),

        // The rules of the domain: pure, no I/O, no clock reads.
        .target(
            name: "LienThongDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),

        // Consume → decide → persist → publish.
        .target(
            name: "LienThongWorker",
            dependencies: [
                "LienThongDomain", "LienThongKafka", "LienThongPostgres",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),

        // Settings from a YAML file, the environment and flags; the production profile's checks.
        .target(
            name: "LienThongSettings",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"), .product(name: "Yams", package: "Yams"),
            ]
        ),

        // Probes, Prometheus metrics, the read-only status API and JSON logs.
        .target(
            name: "LienThongHTTP",
            dependencies: [
                "LienThongDomain", "LienThongWorker", "LienThongKafka", "LienThongPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The simulated upstream systems of a province, for `lienthong dev` and `lienthong simulate`.
        .target(
            name: "LienThongSimulation",
            dependencies: [
                "LienThongDomain", "LienThongKafka", .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Real-server harness for integration tests and benchmarks.
        .target(
            name: "LienThongTestSupport",
            dependencies: [
                "LienThongKafka", "LienThongPostgres", .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .executableTarget(
            name: "lienthong",
            dependencies: [
                "LienThongDomain", "LienThongKafka", "LienThongPostgres", "LienThongWorker", "LienThongSimulation",
                "LienThongTestSupport", "LienThongSettings", "LienThongHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // jemalloc replaces glibc's allocator in the whole process (librdkafka and libpq included): a batch frees
            // megabytes of arrays among millions of small objects, on which glibc consolidated its free lists and
            // gave pages back to the kernel only to fault them in again.
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),

        .testTarget(name: "LienThongKafkaTests", dependencies: ["LienThongKafka"]),
        .testTarget(name: "LienThongSimulationTests", dependencies: ["LienThongSimulation", "LienThongWorker"]),
        .testTarget(
            name: "LienThongDomainTests",
            dependencies: [
                "LienThongDomain", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "LienThongPostgresTests", dependencies: ["LienThongPostgres"]),
        .testTarget(name: "LienThongSettingsTests", dependencies: ["LienThongSettings"]),
        .testTarget(
            name: "LienThongHTTPTests",
            dependencies: ["LienThongHTTP", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "LienThongKafka", "LienThongPostgres", "LienThongTestSupport", "LienThongWorker", "LienThongDomain",
                "LienThongHTTP", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"), "LienThongSettings",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// `make test` sets LIENTHONG_STRICT: warnings in our own targets fail the build (dependencies are unaffected).
let strictSettings: [SwiftSetting] =
    Context.environment["LIENTHONG_STRICT"] == nil ? [] : [.treatAllWarnings(as: .error)]

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + upcomingFeatures + strictSettings
}
