import GRDB
public import TandemProtocol

/// Personal values beside the history (SPEC §8, docs/audit.md "Personal data"): the openings
/// kept by entry and by record, the entries made before they were, and scrubbing after an erasure.
extension SQLiteServerStore {
    public func openings(at seqs: [Int64]) async throws -> [OpeningRow] {
        guard !seqs.isEmpty else { return [] }
        // A pull page's (every page a member receives that holds entries): on a quick reader.
        return try await read(quick: seqs.count <= Self.quickPageLimit) { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT commitment, seq, tbl, record_id, salt, value FROM personal_value
                        WHERE seq IN (SELECT value FROM json_each(?))
                        """),
                arguments: [JSONValue.array(seqs.map(JSONValue.int)).serialized()]
            ).map { row in
                OpeningRow(
                    commitment: row[0], seq: row[1], table: row[2], recordID: row[3], salt: row[4], value: row[5])
            }
        }
    }

    public func entriesBeforeSealing(of recordID: String) async throws -> [HistoryLine] {
        try await read { db in
            let since = try Int64.fetchOne(
                db, sql: "SELECT CAST(value AS INTEGER) FROM server_meta WHERE key = 'sealed_since'")
            guard let since, since > 0 else { return [] }
            return try Row.fetchAll(
                db, sql: "SELECT seq, entry FROM log WHERE seq <= ? AND record_id = ? ORDER BY seq",
                arguments: [since, recordID]
            ).map { row in HistoryLine(seq: row[0], line: row[1]) }
        }
    }

    /// A truncating checkpoint: the WAL's frames — the pages as they were before the erasure —
    /// are copied into the database (where `secure_delete` zeroed what was deleted) and the WAL
    /// file is cut to nothing.
    public func scrub() async throws {
        checkpointer?.drain()
        do {
            try await writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch {
            throw ServerError(.storage, "the store could not checkpoint after an erasure: \(error)")
        }
    }
}
