import Logging
import PostgresNIO
public import TandemProtocol

/// Personal values beside the history (SPEC §8, docs/audit.md "Personal data") on PostgreSQL:
/// the openings kept in their entries' rows (`log.openings`, ``PostgresSchema/foldOpenings``),
/// the entries made before they were, and a vacuum after an erasure.
extension PostgresServerStore {
    /// Planned at each call, not prepared (a plan kept from when a table was small scans it all).
    public func openings(at seqs: [Int64]) async throws -> [OpeningRow] {
        guard !seqs.isEmpty else { return [] }
        return try await read { [self] connection in
            var found: [OpeningRow] = []
            let rows = try await connection.query(
                "SELECT seq, tbl, record_id, openings FROM log WHERE seq = ANY(\(seqs)) AND openings IS NOT NULL",
                logger: logger)
            for try await (seq, table, recordID, text) in rows.decode((Int64, String, String, String).self) {
                found += Self.openingRows(text, seq: seq, table: table, recordID: recordID)
            }
            return found
        }
    }

    /// The openings of an entry's row (``PostgresSchema/foldOpenings``).
    static func openings(_ text: String) -> Openings? {
        guard let json = try? JSONValue.parse(text) else { return nil }
        return try? Openings(json: json)
    }

    /// The rows of an entry's openings; text that does not read as openings is one row that
    /// opens nothing, under a key no commitment has — so that `verify` names the entry.
    static func openingRows(_ text: String, seq: Int64, table: String, recordID: String) -> [OpeningRow] {
        guard let openings = openings(text) else {
            return [
                OpeningRow(
                    commitment: "unreadable", seq: seq, table: table, recordID: recordID, salt: "", value: "null")
            ]
        }
        return openings.byCommitment.map { commitment, opening in
            OpeningRow(
                commitment: commitment, seq: seq, table: table, recordID: recordID, salt: opening.salt,
                value: opening.value.serialized())
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

    /// A vacuum of the tables an erasure rewrites, so that the dead rows' space is reused (pages
    /// all visible before are skipped, so the log's cost is its recent pages and its indexes);
    /// PostgreSQL's WAL segments keep the old pages until they are recycled (docs/operations.md).
    public func scrub() async throws {
        try await read { [self] connection in
            try await connection.query("VACUUM log, record, conflict", logger: logger)
        }
    }
}
