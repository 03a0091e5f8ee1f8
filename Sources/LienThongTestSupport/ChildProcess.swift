import Foundation

/// Runs a command to completion without blocking a cooperative thread, capturing its combined output.
struct ChildProcess {
    struct Failure: Error, CustomStringConvertible {
        let command: [String]
        let status: Int32
        let output: String
        var description: String { "\(command.joined(separator: " ")) exited with \(status): \(output)" }
    }

    /// Runs `arguments` (resolved on PATH); as the `postgres` user when `asPostgresUser` and we are root.
    /// - Throws: ``Failure`` for a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String], asPostgresUser: Bool = false) async throws -> String {
        let command = asPostgresUser && getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + arguments : arguments
        // Output goes to a file, not a pipe: a server started by the command may keep a pipe open forever.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lienthong-child-\(UUID().uuidString)"
        ).path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let outputHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? outputHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outputHandle
        process.standardError = outputHandle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Failure(command: command, status: status, output: output) }
        return output
    }
}
