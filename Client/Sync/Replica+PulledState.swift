import GRDB
import TandemProtocol

/// What this replica has pulled of the server's log: the cursor, and forgetting what was pulled
/// (``PullApplier`` moves the cursor page by page).
extension Replica {
    /// The seq up to which this replica has pulled the server's log (0 before the first pull).
    public func cursor() throws(ReplicaError) -> Int64 {
        try read { db in try Self.cursor(in: db) }
    }

    static func cursor(in db: Database) throws -> Int64 {
        try Setting.cursor.read(in: db).flatMap { Int64($0) } ?? 0
    }
}
