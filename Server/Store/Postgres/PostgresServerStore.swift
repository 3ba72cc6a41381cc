import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization
public import TandemProtocol

/// The server's store on PostgreSQL (postgres-nio): for a programme that outgrows one machine,
/// with any number of `tandem-server serve` processes in front of one database.
///
/// The tables are the SQLite store's (``PostgresSchema``), the rules the core's: this is an
/// adapter (``StoreAdapter``) that answers each round of a batch's facts in one statement (a
/// `SELECT` a kind) and writes its rows in one (an `UNNEST` a table). Every write transaction first takes
/// one transaction-scoped advisory lock (``writerLock``): writers on every instance queue there,
/// so seqs stay gap-free and the hash chain single; a killed instance's lock goes with its
/// session. The server's key is kept in the database (`server_meta`), so every instance signs alike.
///
/// ```swift
/// let store = try await PostgresServerStore.open(PostgresURL("postgres://tandem@db/tandem"))
/// ```
public final class PostgresServerStore: ServerStore, StoreAdapter, @unchecked Sendable {
    let pool: PostgresPool
    /// The pool of this thread's event loop (``PostgresPool``).
    var client: PostgresClient { pool.client }
    private let running: Task<Void, Never>
    /// The server's Ed25519 key (SPEC §8), the same for every instance on the database.
    public let serverKey: SigningKey
    /// The schema in force and its merge, taken up again when another process installs a version
    /// (every write transaction reads `server_meta.schema_version` first).
    private var current: (schema: Schema, merge: Merge)
    private let lock = NSLock()
    /// Records decoded by earlier batches, checked against their `last_seq` (``RecordCache``).
    let records = RecordCache()
    /// The checkpoints this instance signed in the last second.
    public let signedCheckpoints = SignedCheckpoints()
    /// The pushes waiting to be merged together.
    public let pushQueue = PushQueue()
    let logger: Logger
    /// How long an operation may wait for the database before it is answered 503.
    let deadline: Duration
    /// The tokens and the head this instance knows without asking (``InstanceCache``), kept true
    /// by ``listener`` once a token is first checked (admin commands never start it).
    let cache = InstanceCache()
    private let listener: CacheListener
    private let listening = Mutex<Task<Void, Never>?>(nil)

    /// The key of the advisory lock every write transaction takes first (any constant; this is "tandem").
    static let writerLock: Int64 = 0x74_616E_6465_6D

    private init(
        _ connected: Connected, schema: Schema, serverKey: SigningKey, deadline: Duration = .seconds(30)
    ) {
        pool = connected.pool
        running = connected.running
        listener = CacheListener(cache: cache, connect: connected.listenerConnection, logger: connected.logger)
        self.deadline = deadline
        self.serverKey = serverKey
        current = (schema, Merge(schema: schema))
        logger = Logger(label: "tandem.postgres")
    }

    deinit {
        running.cancel()
        listening.withLock { $0?.cancel() }
    }

    /// Starts the cache's listener, once (``InstanceCache``): the serving paths call it.
    func startListening() {
        listening.withLock { task in
            if task == nil {
                task = Task(executorPreference: EventLoopTaskExecutor.of(CacheListener.loop)) { [listener] in
                    await listener.run()
                }
            }
        }
    }

    public var schema: Schema { lock.withLock { current.schema } }
    var merge: Merge { lock.withLock { current.merge } }

    // MARK: - Opening and creating

    /// Opens the Tandem store in the database `url` names.
    ///
    /// - Throws: ``ServerError`` `unreachable` (no connection), `no_store` (a database that holds
    ///   no Tandem store), `not_a_store`, `newer_store` (made by a newer version of Tandem).
    /// - Parameter deadline: how long an operation may wait for the database before it is
    ///   answered 503 (`storage`).
    public static func open(_ url: PostgresURL, deadline: Duration = .seconds(30)) async throws
        -> PostgresServerStore
    {
        let connected = try await connect(url)
        do {
            guard try await PostgresSchema.isInstalled(connected.pool.client) else {
                throw ServerError(
                    .noStore, "no Tandem store in \(url) (run tandem-server init --database)")
            }
            let meta = try await PostgresSchema.meta(connected.pool.client)
            try PostgresSchema.check(meta)
            guard let schemaText = meta["schema"], let keyText = meta[PostgresSchema.signingKeyName] else {
                throw ServerError(.notAStore, "\(url) holds no Tandem store")
            }
            let schema = try Schema.decode(Array(schemaText.utf8))
            let key = try SigningKey(privateKeyBase64: keyText)
            let store = PostgresServerStore(connected, schema: schema, serverKey: key, deadline: deadline)
            if (meta["postgres_version"].flatMap(Int.init) ?? 0) < PostgresSchema.migrations.count {
                try await PostgresSchema.upgrade(connected.pool.client, writerLock: writerLock, logger: store.logger) {
                    connection, from in
                    guard from < PostgresSchema.referenceCountVersion else { return }
                    try await store.refreshSchema(on: connection)
                    try await store.indexReferences(schema: store.schema, on: connection)
                }
            }
            return store
        } catch {
            connected.running.cancel()
            throw describe(error, at: url)
        }
    }

    /// Creates the store's tables, its key (registered as entry 1 of the history) and a first
    /// coordinator token in the database `url` names, which holds no Tandem store yet.
    ///
    /// - Throws: ``ServerError`` `exists` when it holds one, `unreachable`, `cannot_create`.
    public static func create(_ url: PostgresURL, schema: Schema = .partnership, now: Int64) async throws -> (
        store: PostgresServerStore, coordinatorToken: String
    ) {
        let connected = try await connect(url)
        do {
            if try await PostgresSchema.isInstalled(connected.pool.client) {
                throw ServerError(.exists, "\(url) already holds a Tandem store")
            }
            let key = SigningKey()
            let store = PostgresServerStore(connected, schema: schema, serverKey: key)
            try await store.transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(writerLock))", logger: store.logger)
                try await PostgresSchema.install(schema: schema, key: key, on: connection, logger: store.logger)
                _ = try await store.run(
                    DeviceWork(
                        DeviceRegistry.serverDevice, publicKey: key.publicKey, organisation: nil, role: .server,
                        now: now, serverKey: key), on: connection)
            }
            let token = Tokens.make()
            try await store.addToken(Tokens.row(for: token, role: .coordinator, organisation: nil, now: now))
            return (store, token)
        } catch {
            connected.running.cancel()
            if let error = error as? ServerError, error.failure == .storage {
                throw ServerError(.cannotCreate, "cannot create the store in \(url): \(error.message)")
            }
            throw describe(error, at: url)
        }
    }

    /// A store object on the database `url` names, which must hold no Tandem store yet, for a
    /// copy to fill (``StoreCopy``): its key and schema are placeholders until it is opened again.
    ///
    /// - Throws: ``ServerError`` `exists`, `unreachable`.
    static func connectEmpty(_ url: PostgresURL) async throws -> PostgresServerStore {
        let connected = try await connect(url)
        do {
            if try await PostgresSchema.isInstalled(connected.pool.client) {
                throw ServerError(.exists, "\(url) already holds a Tandem store")
            }
        } catch {
            connected.running.cancel()
            throw describe(error, at: url)
        }
        return PostgresServerStore(connected, schema: .partnership, serverKey: SigningKey())
    }

    /// The database's connections, running (``PostgresPool``), and how to open one more.
    private struct Connected {
        var pool: PostgresPool
        var running: Task<Void, Never>
        /// A connection of its own for the cache's listener (``CacheListener``).
        var listenerConnection: @Sendable () async throws -> PostgresConnection
        var logger: Logger
    }

    /// A client of the database `url` names, running, once one connection has been made: a
    /// database that cannot be reached is said at once, with the reason the server or the
    /// network gave (the pool would only retry).
    private static func connect(_ url: PostgresURL) async throws -> Connected {
        let password = try url.password()
        var logger = Logger(label: "tandem.postgres")
        logger.logLevel = .critical
        var tls = TLSConfiguration.makeClientConfiguration()
        if url.sslMode == .verifyFull {
            if let root = url.rootCertificate { tls.trustRoots = .file(root) }
        } else {
            tls.certificateVerification = .none
        }
        let single: PostgresConnection.Configuration
        do {
            let probeTLS: PostgresConnection.Configuration.TLS =
                switch url.sslMode {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: tls))
                case .require, .verifyFull: .require(try NIOSSLContext(configuration: tls))
                }
            single = .init(
                host: url.host, port: url.port, username: url.user, password: password, database: url.database,
                tls: probeTLS)
            let probe = try await PostgresConnection.connect(configuration: single, id: 0, logger: logger)
            try await probe.close()
        } catch {
            throw describe(error, at: url)
        }
        let clientTLS: PostgresClient.Configuration.TLS =
            switch url.sslMode {
            case .disable: .disable
            case .prefer: .prefer(tls)
            case .require, .verifyFull: .require(tls)
            }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: password, database: url.database,
            tls: clientTLS)
        configuration.options.connectTimeout = .seconds(10)
        let pool = PostgresPool(configuration: configuration, logger: logger)
        let running = Task { await pool.run() }
        var listening = single
        listening.options.connectTimeout = .seconds(10)
        listening.options.additionalStartupParameters = [("application_name", CacheListener.applicationName)]
        return Connected(
            pool: pool, running: running,
            listenerConnection: { [listening, logger] in
                try await PostgresConnection.connect(
                    on: CacheListener.loop, configuration: listening, id: 1, logger: logger)
            }, logger: logger)
    }

    /// `error` as one line naming the database (never a password: the URL holds none).
    static func describe(_ error: any Error, at url: PostgresURL) -> ServerError {
        if let error = error as? ServerError { return error }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState]
                if state == "28P01" || state == "28000" || state == "3D000" {
                    return ServerError(.unreachable, "cannot connect to \(url): \(message)")
                }
                return ServerError(.storage, "the database \(url) failed: \(message)")
            }
            let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return ServerError(.unreachable, "cannot connect to \(url): \(reason)")
        }
        return ServerError(.unreachable, "cannot connect to \(url): \(error)")
    }

    // MARK: - Transactions

    /// Runs `body` in one transaction; any failure of the database becomes a ``ServerError``
    /// (`storage`, 503) and rolls it back. A database that does not answer within ``deadline``
    /// (gone, or unreachable: the pool would wait for a connection for ever) is a 503 too; the
    /// transaction, if it ever runs, then commits or rolls back on its own, and a client's retry
    /// of a push finds what committed (`duplicate`).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws
        -> T
    {
        do {
            return try await Deadline.run(deadline, expired: unanswered) { [client, logger] in
                try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            }
        } catch let error as ServerError {
            throw error
        } catch let error as PostgresTransactionError {
            // A refusal of the core's (a ServerError) rolled the transaction back: it is the answer.
            if let refusal = error.closureError as? ServerError { throw refusal }
            throw storageError(error.closureError ?? error.beginError ?? error.commitError ?? error)
        } catch {
            throw storageError(error)
        }
    }

    /// Runs `body` on a connection of the pool (reads: each statement sees what was committed before it).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await Deadline.run(deadline, expired: unanswered) { [client] in
                try await client.withConnection { connection in try await body(connection) }
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw storageError(error)
        }
    }

    /// The 503 of a database that did not answer in time.
    private var unanswered: @Sendable () -> any Error {
        { [deadline] in
            ServerError(.storage, "the database did not answer within \(deadline.components.seconds) s")
        }
    }

    func storageError(_ error: any Error) -> ServerError {
        let detail = (error as? PSQLError).flatMap { $0.serverInfo?[.message] } ?? "\(error)"
        return ServerError(.storage, "the store failed: \(detail)")
    }

    /// Runs `body` in one write transaction under the single writer's lock, with the head (a
    /// schema another process installed taken up first), as ``transaction(_:)`` runs its body.
    ///
    /// `BEGIN`, the lock and the head's statement are sent together: the connection queues them
    /// and runs each as the one before ends, so the caller waits once, not three times; the head
    /// is still read after the lock is granted (a statement of its own, its own snapshot).
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, LogHead) async throws -> T)
        async throws -> T
    {
        try await writeTransaction { connection, head in (try await body(connection, head), []) }
    }

    /// ``writeTransaction(_:)`` for a body that ends with statements it sent without waiting
    /// for them (``send(_:on:)``): COMMIT goes behind them in the same flight, and they are
    /// awaited before it — a group commit's writes and COMMIT are one round trip. One that
    /// failed aborted the transaction, and the COMMIT behind it rolled it back.
    func writeTransaction<T: Sendable>(
        _ body:
            @escaping @Sendable (PostgresConnection, LogHead) async throws
            -> (T, [EventLoopFuture<PostgresQueryResult>])
    ) async throws -> T {
        do {
            return try await Deadline.run(deadline, expired: unanswered) { [self] in
                try await client.withConnection { connection in
                    let begun: [EventLoopFuture<PostgresQueryResult>] = [
                        connection.query("BEGIN", logger: logger),
                        connection.query("SELECT pg_advisory_xact_lock(\(Self.writerLock))", logger: logger),
                        connection.query(Self.headStatement, logger: logger),
                    ]
                    do {
                        var results: [PostgresQueryResult] = []
                        for future in begun { results.append(try await future.get()) }
                        let head = try await takeUp(
                            head: results[2].rows.map { try $0.decode(HeadRow.self) }, on: connection)
                        let (value, sent) = try await body(connection, head)
                        let commit: EventLoopFuture<PostgresQueryResult> = connection.query("COMMIT", logger: logger)
                        for statement in sent { _ = try await statement.get() }
                        _ = try await commit.get()
                        return value
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw storageError(error)
        }
    }

    /// The head with the schema version `server_meta` holds, in one row.
    private static let headStatement: PostgresQuery = """
        SELECT l.seq, l.hash, (SELECT value FROM server_meta WHERE key = 'schema_version')
        FROM (SELECT 1) one LEFT JOIN (SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1) l ON true
        """
    private typealias HeadRow = (Int64?, String?, String?)

    /// The head, in one statement with the schema version `server_meta` holds; a version
    /// another process installed is taken up (every write and every pull page: an instance that
    /// only serves pulls still tells replicas of a new schema).
    func headTakingUpSchema(on connection: PostgresConnection) async throws -> LogHead {
        let rows = try await connection.query(Self.headStatement, logger: logger)
        var found: [HeadRow] = []
        for try await row in rows.decode(HeadRow.self) { found.append(row) }
        return try await takeUp(head: found, on: connection)
    }

    /// The head `rows` (of ``headStatement``) give, once the schema version they name is taken up.
    private func takeUp(head rows: [HeadRow], on connection: PostgresConnection) async throws -> LogHead {
        var head = LogHead.empty
        var stored: Int?
        for (seq, hash, version) in rows {
            if let seq { head = LogHead(seq: seq, hash: hash ?? LogEntry.genesisHash) }
            stored = version.flatMap(Int.init)
        }
        try await takeUp(stored, on: connection)
        return head
    }

    /// Takes up the schema version `server_meta` holds when it is not the one in force.
    func refreshSchema(on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            "SELECT value FROM server_meta WHERE key = 'schema_version'", logger: logger)
        var stored: Int?
        for try await (value) in rows.decode(String.self) { stored = Int(value) }
        try await takeUp(stored, on: connection)
    }

    /// Takes up the schema `server_meta` holds when `stored`, its version, is not the one in force.
    func takeUp(_ stored: Int?, on connection: PostgresConnection) async throws {
        guard let stored, stored != schema.version else { return }
        let texts = try await connection.query("SELECT value FROM server_meta WHERE key = 'schema'", logger: logger)
        for try await (text) in texts.decode(String.self) {
            let installed = try Schema.decode(Array(text.utf8))
            lock.withLock { current = (installed, Merge(schema: installed)) }
        }
    }

    static func head(on connection: PostgresConnection, logger: Logger) async throws -> LogHead {
        let rows = try await connection.query("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1", logger: logger)
        for try await (seq, hash) in rows.decode((Int64, String?).self) {
            return LogHead(seq: seq, hash: hash ?? LogEntry.genesisHash)
        }
        return .empty
    }
}
