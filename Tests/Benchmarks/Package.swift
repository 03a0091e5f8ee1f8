// swift-tools-version:6.2
import PackageDescription

// Benchmarks live in their own package so that `make test` never builds the benchmark harness.
let package = Package(
    name: "LienThongBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "LienThongBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LienThongDomain", package: "main"),
                .product(name: "LienThongKafka", package: "main"),
                .product(name: "LienThongPostgres", package: "main"),
                .product(name: "LienThongTestSupport", package: "main"),
                .product(name: "LienThongWorker", package: "main"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LienThongBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
