import Foundation

/// The repository's SQL migrations (`Schemas/migrations`).
let migrationsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Schemas/migrations").path

/// The `lienthong` executable built next to the test bundle.
let lienThongExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("lienthong")
