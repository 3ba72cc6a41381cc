import GRDB
public import TandemProtocol

/// The one error type of TandemClient: what went wrong, as a code the CLI maps to an exit status,
/// and one line for a person.
///
/// Messages name tables, fields, ids and CSV lines; they never carry a token.
public struct ReplicaError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case usage, invalidData, notFound, cannotCreate, unavailable, temporary, notPermitted, `internal`
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The command was used wrongly (an ambiguous id prefix, a malformed `field=value`).
        public static let usage = Code(.usage)
        /// A value, record, file or replica that breaks a rule.
        public static let invalidData = Code(.invalidData)
        /// No such table, record or file.
        public static let notFound = Code(.notFound)
        /// A file that cannot be created or written.
        public static let cannotCreate = Code(.cannotCreate)
        /// The server cannot be reached.
        public static let unavailable = Code(.unavailable)
        /// Try again later (the replica is locked by another process, the server is busy).
        public static let temporary = Code(.temporary)
        /// The caller's role may not do this.
        public static let notPermitted = Code(.notPermitted)
        /// A bug or an unexpected failure.
        public static let `internal` = Code(.internal)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The server's code when the error is the server's refusal (`{"error": CODE}`): what the
    /// client matches, never the message.
    public var serverCode: ErrorCode?

    public init(_ code: Code, _ message: String, serverCode: ErrorCode? = nil) {
        self.code = code
        self.message = message
        self.serverCode = serverCode
    }

    public var description: String { message }
}

extension ReplicaError {
    /// The replica's view of a protocol rule that a value broke.
    init(_ error: ProtocolError) {
        self.init(error.code == .unknownTable ? .notFound : .invalidData, error.message)
    }

    /// Maps whatever a database operation threw to a `ReplicaError`, keeping ours as they are.
    static func from(_ error: any Error, path: String?) -> ReplicaError {
        switch error {
        case let error as ReplicaError:
            return error
        case let error as ProtocolError:
            return ReplicaError(error)
        case let error as DatabaseError:
            let place = path ?? "the replica"
            switch error.resultCode {
            case .SQLITE_NOTADB:
                return ReplicaError(.invalidData, "\(place) is not a Tandem replica (not an SQLite database)")
            case .SQLITE_CORRUPT:
                return ReplicaError(
                    .invalidData, "\(place) is corrupt: \(error.message ?? "database disk image is malformed")")
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
                return ReplicaError(.cannotCreate, "cannot write \(place): \(error.message ?? "read-only")")
            case .SQLITE_FULL, .SQLITE_IOERR:
                return ReplicaError(.cannotCreate, "cannot write \(place): \(error.message ?? "I/O error")")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return ReplicaError(.temporary, "\(place) is locked by another process; try again")
            default:
                return ReplicaError(.internal, "database error: \(error.message ?? "\(error.resultCode)")")
            }
        default:
            return ReplicaError(.internal, "\(error)")
        }
    }
}

/// Tandem's record, not GRDB's `Record` class.
public typealias Record = TandemProtocol.Record
