import GRDB
public import TandemProtocol

/// Checkpoints at a seq, and the reports of checkpoints presented that the store no longer
/// holds (docs/operations.md): how an operator learns that the store went back.
extension SQLiteServerStore {
    /// The most reports kept (each distinct checkpoint presented once); beyond it, reports are
    /// still logged but not kept, so that presenting cannot fill the store.
    static let maximumRollbackReports = 1000

    public func checkpoint(at seq: Int64, presenting presented: Checkpoint?, by principal: Principal, now: Int64)
        async throws -> (checkpoint: Checkpoint, report: RollbackReport?)
    {
        let serverKey = serverKey
        let time = Self.timestamp(now)
        let found = try await read { db in
            let head = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM log") ?? 0
            let hashes = try db.cachedStatement(sql: "SELECT hash FROM log WHERE seq = ?")
            let target = min(seq, head)
            let hash = try String.fetchOne(hashes, arguments: [target])
            let held = try presented.flatMap { presented in try String.fetchOne(hashes, arguments: [presented.seq]) }
            return (head: head, entry: hash.map { (seq: target, hash: $0) }, held: held)
        }
        guard let entry = found.entry else { throw ServerError(.unavailable, "empty", "the history is empty") }
        let checkpoint = Checkpoint(seq: entry.seq, hash: entry.hash, time: time, signedBy: serverKey)
        guard var presented, found.held != presented.hash else { return (checkpoint, nil) }
        // Only a checkpoint this server signed is evidence; anything else is a claim, and ignored.
        presented.publicKey = serverKey.publicKey
        guard presented.isSignatureValid else { return (checkpoint, nil) }
        let report = RollbackReport(
            presented: presented, headSeq: found.head, storeHash: found.held, role: principal.role,
            tokenID: principal.tokenID, time: time)
        try await write { db in
            let kept = try Int.fetchOne(db, sql: "SELECT count(*) FROM rollback_report") ?? 0
            guard kept < Self.maximumRollbackReports else { return }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO rollback_report
                        (seq, hash, signed_time, signature, head_seq, store_hash, role, token_id, time)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    report.presented.seq, report.presented.hash, report.presented.time, report.presented.signature,
                    report.headSeq,
                    report.storeHash, report.role.rawValue, report.tokenID, report.time,
                ])
        }
        return (checkpoint, report)
    }

    /// The store's head and every rollback report kept, oldest first (for `tandem-server verify`
    /// and the start-up check).
    public func rollbackReports() throws -> (head: Int64, reports: [RollbackReport]) {
        let publicKey = serverKey.publicKey
        return try writeSync { db in
            let head = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM log") ?? 0
            let reports = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, hash, signed_time, signature, head_seq, store_hash, role, token_id, time
                    FROM rollback_report ORDER BY time, seq
                    """
            ).map { row in
                RollbackReport(
                    presented: Checkpoint(
                        seq: row["seq"], hash: row["hash"], time: row["signed_time"], publicKey: publicKey,
                        signature: row["signature"]),
                    headSeq: row["head_seq"], storeHash: row["store_hash"],
                    role: Role(rawValue: row["role"]) ?? .member, tokenID: row["token_id"], time: row["time"])
            }
            return (head, reports)
        }
    }
}
