import Foundation
import Logging
public import PostgresNIO

/// The throwaway PostgreSQL cluster the tests run beside (`scripts/with-postgres.sh`, which
/// `scripts/test.sh` uses, exports `TANDEM_TEST_POSTGRES`): a new, empty database for each
/// store a test makes, and SQL on it for what a test does behind the store's back.
///
/// Without the cluster the PostgreSQL tests fail, saying how to run them: they are never skipped.
///
/// ```swift
/// let url = try await TestPostgres.newDatabase()   // postgres://postgres@127.0.0.1:PORT/tandem_…
/// ```
public enum TestPostgres {
    public struct Unavailable: Error, CustomStringConvertible {
        public init() {}

        public var description: String {
            "TANDEM_TEST_POSTGRES is not set: run the tests through scripts/test.sh, or scripts/with-postgres.sh swift test"
        }
    }

    /// The cluster's URL (its `postgres` database, a superuser with trust authentication).
    public static func clusterURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES"], !url.isEmpty else {
            throw Unavailable()
        }
        return url
    }

    /// A new, empty database on the cluster: its URL.
    public static func newDatabase() async throws -> String {
        let cluster = try clusterURL()
        let name = "tandem_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), in: cluster)
        guard var components = URLComponents(string: cluster) else { throw Unavailable() }
        components.path = "/" + name
        return components.string ?? cluster
    }

    /// Runs `query` in the database `url` names (one connection, closed after).
    public static func execute(_ query: PostgresQuery, in url: String) async throws {
        let client = try client(url)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(query)
        }
    }

    /// Runs `body` with a client of the database `url` names.
    public static func with<T: Sendable>(_ url: String, _ body: @Sendable (PostgresClient) async throws -> T)
        async throws -> T
    {
        let client = try client(url)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    private static func client(_ url: String) throws -> PostgresClient {
        guard let components = URLComponents(string: url), let host = components.host else { throw Unavailable() }
        var logger = Logger(label: "tandem.test-postgres")
        logger.logLevel = .critical
        return PostgresClient(
            configuration: .init(
                host: host, port: components.port ?? 5432, username: components.user ?? "postgres", password: nil,
                database: String(components.path.dropFirst()), tls: .disable),
            backgroundLogger: logger)
    }
}
