import GRDB
public import TandemProtocol

/// The head, checkpoint rows and rollback report rows (the rules on them: ``StoreAdapter/checkpoint(now:)``,
/// ``StoreAdapter/checkpoint(at:presenting:by:now:)``, ``StoreAdapter/rollbackReports()``).
extension SQLiteServerStore {
    public func logHead() async throws -> LogHead {
        try await read { db in try Self.head(db: db) }
    }

    public func keptCheckpoint(at seq: Int64) async throws -> Checkpoint? {
        try await read { db in try Self.checkpoint(at: seq, db: db) }
    }

    public func keep(_ checkpoint: Checkpoint) async throws -> Checkpoint {
        try await write { db in
            try Self.saveCheckpoint(checkpoint, db: db)
            return try Self.checkpoint(at: checkpoint.seq, db: db) ?? checkpoint
        }
    }

    static func checkpoint(at seq: Int64, db: Database) throws -> Checkpoint? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT seq, hash, time, public_key, signature FROM checkpoint WHERE seq = ?"),
            arguments: [seq]
        ).map(checkpoint)
    }

    /// A checkpoint from its row (`seq, hash, time, public_key, signature`).
    static func checkpoint(_ row: Row) -> Checkpoint {
        Checkpoint(
            seq: row["seq"], hash: row["hash"], time: row["time"], publicKey: row["public_key"],
            signature: row["signature"])
    }

    static func saveCheckpoint(_ checkpoint: Checkpoint, db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO checkpoint(seq, hash, time, public_key, signature) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [
            checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.publicKey, checkpoint.signature,
        ])
    }

    public func keep(_ report: RollbackReport, upTo limit: Int) async throws {
        try await write { db in
            let kept = try Int.fetchOne(db, sql: "SELECT count(*) FROM rollback_report") ?? 0
            guard kept < limit else { return }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO rollback_report
                        (seq, hash, signed_time, signature, head_seq, store_hash, role, token_id, time)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    report.presented.seq, report.presented.hash, report.presented.time, report.presented.signature,
                    report.headSeq, report.storeHash, report.role.rawValue, report.tokenID, report.time,
                ])
        }
    }

    public func keptRollbackReports() async throws -> [RollbackReport] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, hash, signed_time, signature, head_seq, store_hash, role, token_id, time
                    FROM rollback_report ORDER BY time, seq
                    """
            ).map { row in
                RollbackReport(
                    presented: Checkpoint(
                        seq: row["seq"], hash: row["hash"], time: row["signed_time"], publicKey: "",
                        signature: row["signature"]),
                    headSeq: row["head_seq"], storeHash: row["store_hash"],
                    role: Role(rawValue: row["role"]) ?? .member, tokenID: row["token_id"], time: row["time"])
            }
        }
    }
}
