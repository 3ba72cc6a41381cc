import ArgumentParser
import Foundation
import Logging
import TandemServer

/// `tandem-server serve --data DIR [--host H] [--port P] [--tls-cert PEM --tls-key PEM] [rate limits]`:
/// serves until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the sync API until interrupted (SIGINT or SIGTERM).",
        discussion: """
            Prints one line, "tandem-server listening on http://HOST:PORT" (https with --tls-cert), once \
            it listens (with the real port when --port is 0). Logs go to stderr; LOG_LEVEL sets their \
            level (default info). Push and pull are rate-limited per token (a token bucket: a rate a \
            second and a burst); a request over the limit gets 429 with Retry-After. A rate of 0 turns \
            a limit off.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(name: .long, help: "The address to listen on.")
    var host: String = ServerConfiguration.defaultHost

    @Option(name: .long, help: "The port to listen on (0: any free port).")
    var port: Int = ServerConfiguration.defaultPort

    @Option(
        name: .long, help: ArgumentHelp("Serve HTTPS with this certificate chain (with --tls-key).", valueName: "pem"))
    var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("The certificate's private key (with --tls-cert).", valueName: "pem"))
    var tlsKey: String?

    @Option(name: .long, help: "Push requests a second per token (0: no limit).")
    var pushRate: Double = ServerConfiguration.defaultPushRateLimit.requestsPerSecond

    @Option(name: .long, help: "Push requests a token may make in a row after a pause.")
    var pushBurst: Int = ServerConfiguration.defaultPushRateLimit.burst

    @Option(name: .long, help: "Pull requests a second per token (0: no limit).")
    var pullRate: Double = ServerConfiguration.defaultPullRateLimit.requestsPerSecond

    @Option(name: .long, help: "Pull requests a token may make in a row after a pause.")
    var pullBurst: Int = ServerConfiguration.defaultPullRateLimit.burst

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("Give --tls-cert and --tls-key together.")
        }
        for (name, rate) in [("--push-rate", pushRate), ("--pull-rate", pullRate)] where !(rate >= 0 && rate.isFinite) {
            throw ValidationError("\(name) must be a number of requests a second, 0 or more")
        }
        for (name, burst) in [("--push-burst", pushBurst), ("--pull-burst", pullBurst)] where burst < 0 {
            throw ValidationError("\(name) must be 0 or more")
        }
    }

    /// The configuration the options describe.
    var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            dataDirectory: data.data, host: host, port: port,
            pushRateLimit: .init(requestsPerSecond: pushRate, burst: pushBurst),
            pullRateLimit: .init(requestsPerSecond: pullRate, burst: pullBurst),
            tls: tlsCert.flatMap { cert in
                tlsKey.map { ServerConfiguration.TLS(certificateChain: cert, privateKey: $0) }
            })
    }

    func run() async throws {
        let configuration = serverConfiguration
        if let tls = configuration.tls {
            for file in [tls.certificateChain, tls.privateKey] where !FileManager.default.isReadableFile(atPath: file) {
                throw Console.fail("cannot read \(file): no such file, or not readable", status: 66)
            }
            do {
                try tls.check()
            } catch {
                throw Console.fail("\(error)", status: 65)
            }
        }
        let store = try await open()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "tandem-server")
        logger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        // A history that fails verification is reported loudly, and the server serves on, so
        // that auditors can pull the evidence (SPEC §4). Checked beside serving, at a low
        // priority: it reads the whole history in pages, yielding between them.
        Task(priority: .utility) { [logger] in
            do {
                let report = try await store.verify()
                if let failure = report.failure {
                    logger.critical("THE HISTORY FAILS VERIFICATION: \(failure) (tandem-server verify; docs/audit.md)")
                } else {
                    logger.info("history verified: \(report.entries) entries, head seq \(report.headSeq)")
                }
                let (head, rollbacks) = try await store.rollbackReports()
                for rollback in rollbacks {
                    if rollback.isBehind(head: head) {
                        logger.critical(
                            "THE STORE'S HISTORY WENT BACK: \(RollbackReport.behindLine(rollback, head: head))")
                    } else {
                        logger.warning("the store went back before (rollback reported): \(rollback.summary)")
                    }
                }
            } catch {
                logger.critical("the history could not be verified: \(error)")
            }
        }
        let app = buildApplication(
            configuration: configuration, store: store, logger: logger,
            onServerRunning: { host, port in
                let shown = host.contains(":") ? "[\(host)]" : host
                Console.print("tandem-server listening on \(configuration.scheme)://\(shown):\(port)")
            })
        do {
            try await app.runService()
        } catch {
            throw Console.fail("cannot serve on \(host):\(port): \(error)", status: 70)
        }
    }

    private func open() async throws -> any ServerStore {
        var store: (any ServerStore)?
        try await Console.reporting { store = try await data.open() }
        guard let store else { throw ExitCode(70) }
        return store
    }
}
