import Foundation

/// A real `tandem-server serve` process on a loopback port, for end-to-end tests: made with a
/// fresh store (`tandem-server init`) in a temporary folder, stopped when released.
///
/// ```swift
/// let server = try ServerProcess.start()
/// let result = try BinaryRunner.run("tandem", ["init", "--server", server.url, "--token", server.coordinatorToken, "--db", db])
/// server.stop()   // later requests fail with 69
/// ```
public final class ServerProcess: @unchecked Sendable {
    public let folder: TemporaryDirectory
    /// The store folder (`--data`).
    public let data: String
    public let coordinatorToken: String
    /// `http://127.0.0.1:PORT` (`https://` when serving TLS), from the server's first line.
    public private(set) var url: String = ""
    private var process: ChildProcess?
    /// The serving process's pid, while it runs.
    public var processIdentifier: Int32? { process.map(\.processIdentifier) }

    private init(folder: TemporaryDirectory, data: String? = nil, coordinatorToken: String) {
        self.folder = folder
        self.data = data ?? folder.path("data")
        self.coordinatorToken = coordinatorToken
    }

    /// Starts serving a store that already exists in `data` (a benchmark's filled store) on a
    /// free port; ``folder`` is a new temporary folder for the caller's files.
    ///
    /// - Parameter log: a file that receives the server's stderr (its log); nil: discarded.
    public static func serving(
        existing data: String, coordinatorToken: String, arguments: [String] = [], logLevel: String = "error",
        log: String? = nil
    ) throws -> ServerProcess {
        let server = ServerProcess(
            folder: try TemporaryDirectory(prefix: "tandem-server-serving"), data: data,
            coordinatorToken: coordinatorToken)
        try server.serve(arguments: arguments, logLevel: logLevel, log: log)
        return server
    }

    /// Creates a store and starts serving it on a free port.
    ///
    /// - Parameters:
    ///   - arguments: more `serve` options (`--tls-cert`, `--pull-rate`, …); with `--tls-cert`,
    ///     ``url`` is `https://127.0.0.1:PORT`.
    ///   - logLevel: `LOG_LEVEL` for the server.
    ///   - log: a file that receives the server's stderr (its log); nil: discarded.
    ///   - database: a PostgreSQL URL: the store is made there (`init --database`), and the data
    ///     folder records it, so that ``serving(existing:coordinatorToken:arguments:logLevel:)`` on
    ///     the same folder starts another instance on the same database.
    public static func start(
        arguments: [String] = [], logLevel: String = "error", log: String? = nil, database: String? = nil
    ) throws -> ServerProcess {
        let folder = try TemporaryDirectory(prefix: "tandem-server-e2e")
        let created = try BinaryRunner.run(
            "tandem-server", ["init", "--data", folder.path("data")] + (database.map { ["--database", $0] } ?? []))
        guard created.status == 0 else { throw ServerProcessError("tandem-server init failed: \(created)") }
        let server = ServerProcess(folder: folder, coordinatorToken: created.output)
        try server.serve(arguments: arguments, logLevel: logLevel, log: log)
        return server
    }

    /// Runs an admin command (`org add`, `token issue`, …) against this server's store.
    public func admin(_ arguments: [String]) throws -> ProcessResult {
        try BinaryRunner.run("tandem-server", arguments + ["--data", data])
    }

    /// Adds an organisation; returns its id and a member token.
    public func addOrganisation(name: String, sector: String) throws -> (id: String, token: String) {
        let result = try admin(["org", "add", "--name", name, "--sector", sector])
        let lines = result.output.split(separator: "\n").map(String.init)
        guard result.status == 0, lines.count == 2 else { throw ServerProcessError("org add failed: \(result)") }
        return (lines[0], lines[1])
    }

    /// Serves the store in ``data`` again, on the same port (so replicas keep their URL), after
    /// ``stop()`` or ``crash()``.
    ///
    /// - Parameter log: a file that receives the server's log from now on (appended to); nil:
    ///   where it went before.
    public func restart(log: String? = nil) throws {
        stop()
        if let log { servingLog = log }
        guard let port = url.split(separator: ":").last.map(String.init) else {
            throw ServerProcessError("no port in \(url)")
        }
        var arguments = servingArguments
        arguments += ["--port", port]
        try serve(arguments: arguments, logLevel: servingLogLevel, log: servingLog, appendingLog: true)
    }

    /// Kills the server at once (SIGKILL, as a crash or a pulled plug would) and waits for it.
    public func crash() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Copies the data directory (the server must be stopped: a copy of a stopped store is
    /// consistent) to `destination`, as an operator's backup.
    public func copyData(to destination: String) throws {
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: data, toPath: destination)
    }

    /// Replaces the data directory with the copy at `source`, as an operator's restore (the
    /// server must be stopped).
    public func restoreData(from source: String) throws {
        try FileManager.default.removeItem(atPath: data)
        try FileManager.default.copyItem(atPath: source, toPath: data)
    }

    private var servingArguments: [String] = []
    private var servingLogLevel = "error"
    private var servingLog: String?

    private func serve(arguments: [String], logLevel: String, log: String?, appendingLog: Bool = false) throws {
        if !appendingLog {
            servingArguments = arguments
            servingLogLevel = logLevel
            servingLog = log
        }
        let process = ChildProcess()
        process.executableURL = BinaryRunner.binaryDirectory.appendingPathComponent("tandem-server")
        let port = arguments.contains("--port") ? [] : ["--port", "0"]
        process.arguments = ["serve", "--data", data, "--host", "127.0.0.1"] + port + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LOG_LEVEL"] = logLevel
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        if let log {
            if !appendingLog || !FileManager.default.fileExists(atPath: log) {
                _ = FileManager.default.createFile(atPath: log, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            handle.seekToEndOfFile()
            process.standardError = handle
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        self.process = process
        // The first line is "tandem-server listening on http://HOST:PORT".
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let start = text.range(of: "https://") ?? text.range(of: "http://") else {
            stop()
            throw ServerProcessError("tandem-server serve did not start: \(text)")
        }
        url = String(text[start.lowerBound...].prefix { !$0.isWhitespace })
    }

    /// Stops the server (SIGTERM) and waits for it to exit.
    public func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

public struct ServerProcessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
