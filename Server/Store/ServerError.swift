public import TandemProtocol

/// The one error type of TandemServer: a code from the API's vocabulary (``ErrorCode``), or a
/// failure of the store itself, and one line for a person. Never carries a token or a field
/// value.
///
/// The store and the core throw by code and never name an HTTP status: the status follows from
/// the code at the edge (``ErrorCode/httpStatus``), and an admin command's exit status from the
/// code or the failure in one place (`tandem-server`'s `Console`).
///
/// ```swift
/// throw ServerError(.notFound, "no such conflict")
/// throw ServerError(.noStore, "no store in /var/lib/tandem (tandem-server init)")
/// ```
public struct ServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A failure of the store, or of an admin command around it: never told to a client as it
    /// is (a request that meets one is answered 503 `unavailable`, the details logged).
    public struct Failure: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case storage, unreachable, empty, changed, exists
            case noStore = "no_store"
            case cannotOpen = "cannot_open"
            case cannotCreate = "cannot_create"
            case notAStore = "not_a_store"
            case newerStore = "newer_store"
            case badDatabaseURL = "bad_database_url"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public var description: String { base.rawValue }

        /// The database failed (an I/O error, a constraint the code did not expect).
        public static let storage = Failure(.storage)
        /// The database server cannot be reached.
        public static let unreachable = Failure(.unreachable)
        /// The history is empty (a store not initialised).
        public static let empty = Failure(.empty)
        /// The source store was written during a copy.
        public static let changed = Failure(.changed)
        /// A store is there already.
        public static let exists = Failure(.exists)
        /// No store where one was expected.
        public static let noStore = Failure(.noStore)
        /// A store that cannot be opened.
        public static let cannotOpen = Failure(.cannotOpen)
        /// A store or file that cannot be created.
        public static let cannotCreate = Failure(.cannotCreate)
        /// A database that holds no Tandem store, or a broken one.
        public static let notAStore = Failure(.notAStore)
        /// A store made by a newer Tandem.
        public static let newerStore = Failure(.newerStore)
        /// A `--database` URL that cannot be used.
        public static let badDatabaseURL = Failure(.badDatabaseURL)
    }

    /// What a client is told; `unavailable` for a ``failure``.
    public var code: ErrorCode
    /// The store's own failure, if it is one.
    public var failure: Failure?
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.failure = nil
        self.message = message
    }

    public init(_ failure: Failure, _ message: String) {
        code = .unavailable
        self.failure = failure
        self.message = message
    }

    public var description: String { message }

    /// Whether a client may not be told the details: a store failure, or an unavailable store.
    public var isInternal: Bool { failure != nil || code == .unavailable }
}
