import Foundation
public import TandemProtocol

/// Where a server's store lives: the one place that knows which kinds of store there are.
/// `tandem-server` and test support open and create stores only through it, and hold them as
/// `any ServerStore`.
///
/// ```swift
/// let store = try await StoreLocation.given(data: "/var/lib/tandem", database: nil).open()
/// let report = try await store.verify()
/// ```
public enum StoreLocation: Hashable, Sendable {
    /// An SQLite store, `store.sqlite` in this folder (`--data DIR`).
    case directory(String)
    /// A PostgreSQL store (`--database URL`); `directory` records the URL (`DIR/database.url`)
    /// when the store is created, so that later commands may name the folder alone.
    case postgres(PostgresURL, directory: String?)

    /// The file in `DIR` that records the database of a PostgreSQL store (its URL, no password).
    public static let databaseFile = "database.url"

    /// The store `--data DIR [--database URL]` names: the database when a URL is given or `DIR`
    /// records one, else the SQLite store in `DIR`.
    ///
    /// - Throws: ``ServerError`` `bad_database_url`.
    public static func given(data directory: String, database: String?) throws -> StoreLocation {
        if let database { return .postgres(try PostgresURL(database), directory: directory) }
        let recorded = (directory as NSString).appendingPathComponent(databaseFile)
        if let text = try? String(contentsOfFile: recorded, encoding: .utf8) {
            return .postgres(
                try PostgresURL(text.trimmingCharacters(in: .whitespacesAndNewlines)), directory: directory)
        }
        return .directory(directory)
    }

    /// Opens the store here.
    ///
    /// - Throws: ``ServerError`` code `no_store` when there is none, `cannot_open` when it cannot
    ///   be read, `unreachable` (a database that cannot be reached), `newer_store`.
    public func open() async throws -> any ServerStore {
        switch self {
        case let .directory(path): try SQLiteServerStore.open(directory: path)
        case let .postgres(url, _): try await PostgresServerStore.open(url)
        }
    }

    /// Creates a new store here holding `schema`, with a first coordinator token (shown only this once).
    ///
    /// - Throws: ``ServerError`` code `exists` when there already is one, `cannot_create`, `unreachable`.
    public func create(schema: Schema = .partnership, now: Int64) async throws -> (
        store: any ServerStore, coordinatorToken: String
    ) {
        switch self {
        case let .directory(path):
            let (store, token) = try SQLiteServerStore.create(directory: path, schema: schema, now: now)
            return (store, token)
        case let .postgres(url, directory):
            if let directory { try Self.refuseTaken(directory) }
            let (store, token) = try await PostgresServerStore.create(url, schema: schema, now: now)
            if let directory { try Self.record(url, in: directory) }
            return (store, token)
        }
    }

    /// Refuses a folder that already holds a store (SQLite, or the record of a database).
    private static func refuseTaken(_ directory: String) throws {
        for name in [SQLiteServerStore.fileName, databaseFile]
        where FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) {
            throw ServerError(.exists, "\(directory) already holds a Tandem store (\(name))")
        }
    }

    /// Keeps `url` (password-free) in `directory`, created if absent.
    private static func record(_ url: PostgresURL, in directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data((url.description + "\n").utf8).write(
                to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(databaseFile)))
        } catch {
            throw ServerError(
                .cannotCreate,
                "the store was created in \(url), but \(directory) cannot record it: \(error.localizedDescription)")
        }
    }
}
