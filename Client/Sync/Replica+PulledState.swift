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

    /// Forgets what was pulled, keeping the rows that pending changes touch: every other record,
    /// the server versions, the pulled history, the cursor (for `sync --resync`).
    func forgetPulledState() throws(ReplicaError) {
        try write { db in try forgetPulledState(in: db) }
    }

    func forgetPulledState(in db: Database) throws {
        try freezeOutbox(in: db)
        for table in schema.tables {
            try db.execute(
                sql: "DELETE FROM \(table.name.quotedIdentifier) WHERE id NOT IN (SELECT record_id FROM tandem_outbox)")
        }
        try db.execute(sql: "DELETE FROM tandem_record; DELETE FROM tandem_history")
        try Setting.cursor.write("0", in: db)
    }

    /// Records the end of a successful sync.
    func recordSync(at milliseconds: Int64) throws(ReplicaError) {
        try write { db in try Setting.lastSync.write(Self.timestamp(milliseconds), in: db) }
    }
}
