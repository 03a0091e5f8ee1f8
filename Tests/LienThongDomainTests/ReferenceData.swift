import Foundation

/// The text of a file under `Schemas/reference-data/` in this repository.
func referenceData(_ path: String) -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return try! String(contentsOf: root.appendingPathComponent("Schemas/reference-data/" + path), encoding: .utf8)
}
