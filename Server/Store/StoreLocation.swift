public import TandemProtocol

/// Where a server's store lives: the one place that knows which kinds of store there are.
/// `tandem-server` and test support open and create stores only through it, and hold them as
/// `any ServerStore`; a new kind of store (PostgreSQL) is a new case here.
///
/// ```swift
/// let store = try StoreLocation.directory("/var/lib/tandem").open()
/// let report = try await store.verify()
/// ```
public enum StoreLocation: Hashable, Sendable {
    /// An SQLite store, `store.sqlite` in this folder (`--data DIR`).
    case directory(String)

    /// Opens the store here.
    ///
    /// - Throws: ``ServerError`` code `no_store` when there is none, `cannot_open` when it cannot be read.
    public func open() throws -> any ServerStore {
        switch self {
        case let .directory(path): try SQLiteServerStore.open(directory: path)
        }
    }

    /// Creates a new store here holding `schema`, with a first coordinator token (shown only this once).
    ///
    /// - Throws: ``ServerError`` code `exists` when there already is one, `cannot_create`.
    public func create(schema: Schema = .partnership, now: Int64) throws -> (
        store: any ServerStore, coordinatorToken: String
    ) {
        switch self {
        case let .directory(path):
            let (store, token) = try SQLiteServerStore.create(directory: path, schema: schema, now: now)
            return (store, token)
        }
    }
}
