import Logging
import PostgresNIO
public import TandemProtocol

/// Personal values beside the history (SPEC §8, docs/audit.md "Personal data") on PostgreSQL:
/// the openings kept by entry and by record, the entries made before they were, and a vacuum
/// after an erasure.
extension PostgresServerStore {
    /// Planned at each call, not prepared: a plan a connection kept from when the table was
    /// small (a scan of it all) stayed in use as it grew — 0.30 ms a call by the end of the load
    /// test, more than the pull's own statement (docs/benchmarks.md); planned with the table as it
    /// is, it is an index lookup.
    public func openings(at seqs: [Int64]) async throws -> [OpeningRow] {
        guard !seqs.isEmpty else { return [] }
        return try await read { [self] connection in
            var found: [OpeningRow] = []
            let rows = try await connection.query(
                "SELECT commitment, seq, tbl, record_id, salt, value FROM personal_value WHERE seq = ANY(\(seqs))",
                logger: logger)
            for try await row in rows.decode((String, Int64, String, String, String, String).self) {
                found.append(
                    OpeningRow(
                        commitment: row.0, seq: row.1, table: row.2, recordID: row.3, salt: row.4, value: row.5))
            }
            return found
        }
    }

    public func entriesBeforeSealing(of recordID: String) async throws -> [HistoryLine] {
        try await read { [self] connection in
            var lines: [HistoryLine] = []
            let rows = try await connection.query(
                """
                SELECT seq, entry FROM log
                WHERE seq <= (SELECT value::bigint FROM server_meta WHERE key = 'sealed_since') AND record_id = \(recordID)
                ORDER BY seq
                """, logger: logger)
            for try await (seq, line) in rows.decode((Int64, String).self) {
                lines.append(HistoryLine(seq: seq, line: line))
            }
            return lines
        }
    }

    /// A vacuum of the tables an erasure deletes from, so that the dead rows' space is reused;
    /// PostgreSQL's WAL segments keep the old pages until they are recycled (docs/operations.md).
    public func scrub() async throws {
        try await read { [self] connection in
            try await connection.query("VACUUM personal_value, record, conflict", logger: logger)
        }
    }
}
