import ArgumentParser
import Foundation
import Logging
import TandemServer

/// `tandem-server serve --data DIR [--host H] [--port P]`: serves until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the sync API until interrupted (SIGINT or SIGTERM).",
        discussion: """
            Prints one line, "tandem-server listening on http://HOST:PORT", once it listens (with the \
            real port when --port is 0). Logs go to stderr; LOG_LEVEL sets their level (default info).
            """
    )

    @OptionGroup var data: DataOptions

    @Option(name: .long, help: "The address to listen on.")
    var host: String = ServerConfiguration.defaultHost

    @Option(name: .long, help: "The port to listen on (0: any free port).")
    var port: Int = ServerConfiguration.defaultPort

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
    }

    func run() async throws {
        let store = try await open()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "tandem-server")
        logger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let configuration = ServerConfiguration(dataDirectory: data.data, host: host, port: port)
        let app = buildApplication(
            configuration: configuration, store: store, logger: logger,
            onServerRunning: { host, port in
                let shown = host.contains(":") ? "[\(host)]" : host
                Console.print("tandem-server listening on http://\(shown):\(port)")
            })
        do {
            try await app.runService()
        } catch {
            throw Console.fail("cannot serve on \(host):\(port): \(error)", status: 70)
        }
    }

    private func open() async throws -> SQLiteServerStore {
        var store: SQLiteServerStore?
        try await Console.reporting { store = try data.open() }
        guard let store else { throw ExitCode(70) }
        return store
    }
}
