import Foundation
import Hummingbird
import Logging
public import TandemServer

/// A real `tandem-server` in this process: a store in a temporary folder, served over
/// HTTP on a loopback port. It can be stopped and started again on the same store and port, as
/// a crashed and restarted server would be.
///
/// ```swift
/// let server = try await TestServer.start()
/// defer { Task { await server.stop() } }
/// let transport = try CurlTransport(server: server.url, token: server.coordinatorToken)
/// ```
public final class TestServer: @unchecked Sendable {
    public let folder: TemporaryDirectory
    public let coordinatorToken: String
    /// Where the store is: SQLite in ``folder``, or a database of the test cluster.
    public let location: StoreLocation
    /// The store the server serves (for setting up organisations and reading state in tests).
    public private(set) var store: any ServerStore
    public private(set) var port: Int = 0
    private var task: Task<Void, any Error>?
    private let lock = NSLock()

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    private init(
        folder: TemporaryDirectory, location: StoreLocation, store: any ServerStore, coordinatorToken: String
    ) {
        self.folder = folder
        self.location = location
        self.store = store
        self.coordinatorToken = coordinatorToken
    }

    /// Creates a store and serves it on a free port.
    ///
    /// - Parameter postgres: the store in a new database of the test cluster (``TestPostgres``)
    ///   instead of SQLite.
    public static func start(now: Int64 = ServerClock.wall(), postgres: Bool = false) async throws -> TestServer {
        let folder = try TemporaryDirectory(prefix: "tandem-server")
        let location: StoreLocation =
            postgres
            ? .postgres(try PostgresURL(try await TestPostgres.newDatabase()), directory: nil)
            : .directory(folder.url.path)
        let (store, token) = try await location.create(now: now)
        let server = TestServer(folder: folder, location: location, store: store, coordinatorToken: token)
        try await server.run(port: 0)
        return server
    }

    private func run(port requested: Int) async throws {
        // No rate limits: convergence tests sync far faster than people do.
        let configuration = ServerConfiguration(
            dataDirectory: folder.url.path, host: "127.0.0.1", port: requested, pushRateLimit: .unlimited,
            pullRateLimit: .unlimited)
        var logger = Logger(label: "tandem-test-server")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(
            configuration: configuration, store: store, logger: logger,
            onServerRunning: { _, port in
                continuation.yield(port)
                continuation.finish()
            })
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for await port in ports {
            self.port = port
            return
        }
        throw CocoaError(.featureUnsupported)
    }

    /// Stops serving (the store stays on disk).
    public func stop() async {
        task?.cancel()
        _ = try? await task?.value
        task = nil
    }

    /// Stops, reopens the store as a new process would, and serves it on the same port.
    public func restart() async throws {
        await stop()
        store = try await location.open()
        try await run(port: port)
    }
}
