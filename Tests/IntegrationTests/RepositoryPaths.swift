import Foundation
import LienThongWorker

/// The repository's SQL migrations (`Schemas/migrations`).
let migrationsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Schemas/migrations").path

/// The `lienthong` executable built next to the test bundle.
let lienThongExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("lienthong")

/// The repository's reference data (`Schemas/reference-data`).
let referenceDataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Schemas/reference-data").path

/// The reference data, loaded once per test process.
let testReferenceData: ReferenceData = try! ReferenceData.load(directory: referenceDataDirectory)

/// The repository's deployment files (`Deploy/`).
let deployDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Deploy").path
