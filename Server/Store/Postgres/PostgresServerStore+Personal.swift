import Logging
import PostgresNIO
public import TandemProtocol

/// Personal values beside the history (SPEC §8, docs/audit.md "Personal data") on PostgreSQL:
/// the openings kept by entry and by record, the entries made before they were, and a vacuum
/// after an erasure.
extension PostgresServerStore {
    public func openings(at seqs: [Int64]) async throws -> [OpeningRow] {
        guard !seqs.isEmpty else { return [] }
        return try await read { [self] connection in
            var found: [OpeningRow] = []
            for try await row in try await connection.execute(OpeningsStatement(seqs: seqs), logger: logger) {
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

/// The openings beside a pull page's entries (every page a member receives that holds entries):
/// prepared once a connection.
private struct OpeningsStatement: PostgresPreparedStatement {
    typealias Row = (String, Int64, String, String, String, String)

    static let name = "tandem_openings"
    static let sql = "SELECT commitment, seq, tbl, record_id, salt, value FROM personal_value WHERE seq = ANY($1)"

    var seqs: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(seqs)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
