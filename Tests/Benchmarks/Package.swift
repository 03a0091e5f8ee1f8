// swift-tools-version:6.2
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder: the repository's checkout may be called anything.
let repository = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let root = repository.lastPathComponent.lowercased()

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
                .product(name: "LienThongDomain", package: root),
                .product(name: "LienThongKafka", package: root),
                .product(name: "LienThongPostgres", package: root),
                .product(name: "LienThongTestSupport", package: root),
                .product(name: "LienThongWorker", package: root),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LienThongBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
