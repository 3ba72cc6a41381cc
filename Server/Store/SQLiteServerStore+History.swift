import GRDB
public import TandemProtocol

/// The history for auditors (SPEC §8, docs/audit.md): device registrations, history pages,
/// checkpoints, and what `verify` reads.
extension SQLiteServerStore {
    public func history(since: Int64, limit: Int) async throws -> [HistoryLine] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, entry FROM log WHERE seq > ? ORDER BY seq LIMIT ?"),
                arguments: [since, limit]
            ).map { row in HistoryLine(seq: row["seq"], line: row["entry"]) }
        }
    }

    // MARK: - What verify reads (``StoreAdapter/verify()``)

    public func storedEntries(after seq: Int64, limit: Int) async throws -> [StoredEntry] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT seq, change_id, tbl, record_id, entry, prev_hash, hash, item FROM log
                        WHERE seq > ? ORDER BY seq LIMIT ?
                        """), arguments: [seq, limit]
            ).map { row in
                StoredEntry(
                    seq: row["seq"], changeID: row["change_id"], table: row["tbl"], recordID: row["record_id"],
                    line: row["entry"], prevHash: row["prev_hash"], hash: row["hash"], item: row["item"])
            }
        }
    }

    public func storedRecords(after id: String?, limit: Int) async throws -> [StoredRecord] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM record WHERE id > ? ORDER BY id LIMIT ?"),
                arguments: [id ?? "", limit]
            ).map { row in StoredRecord(state: try Self.record(row), values: row["values_json"], seq: row["last_seq"]) }
        }
    }

    public func storedReferences() async throws -> [String: ReferenceIndex.Total] {
        try await read { db in
            var stored: [String: ReferenceIndex.Total] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT target, count(*) FROM reference GROUP BY target")
            while let row = try rows.next() { stored[row[0], default: .init()].rows = row[1] }
            let counts = try Row.fetchCursor(db, sql: "SELECT target, count FROM reference_count")
            while let row = try counts.next() { stored[row[0], default: .init()].count = row[1] }
            return stored
        }
    }

    public func hashes(at seqs: Set<Int64>) async throws -> [Int64: String] {
        try await read { db in
            var found: [Int64: String] = [:]
            let hashes = try db.cachedStatement(sql: "SELECT hash FROM log WHERE seq = ?")
            for seq in seqs { found[seq] = try String.fetchOne(hashes, arguments: [seq]) }
            return found
        }
    }

    public func keptCheckpoints() async throws -> [Checkpoint] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT seq, hash, time, public_key, signature FROM checkpoint ORDER BY seq")
                .map(Self.checkpoint)
        }
    }

    /// Answers `request` in one read transaction.
    public func facts(for request: FactRequest) async throws -> Facts {
        try await read { db in try Self.facts(for: request, db: db) }
    }
}
