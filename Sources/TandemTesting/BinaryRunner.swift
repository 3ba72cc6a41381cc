public import Foundation

/// What a finished process left behind.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// stdout without its final newline.
    public var output: String { stdout.hasSuffix("\n") ? String(stdout.dropLast()) : stdout }

    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs the built executables (`tandem`, `tandem-server`) as a user's script would.
///
/// The binaries are looked for in `TANDEM_BIN_DIR`, else beside the running test bundle
/// (`.build/debug`), which is where `swift build --build-tests` puts them.
public enum BinaryRunner {
    public static var binaryDirectory: URL {
        if let folder = ProcessInfo.processInfo.environment["TANDEM_BIN_DIR"], !folder.isEmpty {
            return URL(fileURLWithPath: folder)
        }
        var candidate = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The test runner is .build/debug/TandemPackageTests.xctest (a file on Linux, a bundle on macOS).
        while candidate.path != "/" {
            candidate.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("tandem").path) {
                return candidate
            }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }

    /// Runs `executable` with `arguments`, extra `environment` entries, and `stdin` as its input.
    public static func run(
        _ executable: String = "tandem", _ arguments: [String], environment: [String: String] = [:],
        stdin: String? = nil
    ) throws -> ProcessResult {
        let process = ChildProcess()
        process.executableURL = binaryDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "TANDEM_DB")
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a chatty process cannot fill a pipe and stall.
        let group = DispatchGroup()
        nonisolated(unsafe) var stderrData = Data()
        group.enter()
        DispatchQueue.global().async {
            stderrData = errors.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
