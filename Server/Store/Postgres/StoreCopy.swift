import GRDB
import Logging
import PostgresNIO
public import TandemProtocol

/// `tandem-server migrate`: an SQLite store copied, row for row, into a database that holds no
/// Tandem store yet — history, records, keys, tokens, checkpoints and reports — in one
/// PostgreSQL transaction (all of it or nothing). The tables are the same on both sides
/// (``PostgresSchema``) but one — the openings of personal values, kept by commitment in SQLite
/// and in their entries' rows here — so nothing is worked out again: the copy is what the
/// SQLite store holds, and `verify` on it names the same head.
public enum StoreCopy {
    /// What a copy did.
    public struct Report: Sendable {
        /// Rows copied, by table.
        public var rows: [String: Int]
        /// The head of the history copied.
        public var head: LogHead
    }

    enum Kind { case text, integer, boolean }

    /// The tables copied, with their columns, their primary key first (every one but
    /// `server_meta`, copied apart), and how many columns the key has.
    static let tables: [(name: String, key: Int, columns: [(name: String, kind: Kind)])] = [
        (
            "token", 1,
            [
                ("id", .text), ("hash", .text), ("role", .text), ("organisation", .text), ("created_at", .text),
                ("revoked_at", .text), ("personal", .boolean),
            ]
        ),
        (
            "personal_value", 1,
            [
                ("commitment", .text), ("seq", .integer), ("tbl", .text), ("record_id", .text), ("salt", .text),
                ("value", .text),
            ]
        ),
        (
            "record", 1,
            [
                ("id", .text), ("tbl", .text), ("version", .integer), ("deleted", .boolean),
                ("last_seq", .integer), ("state", .text), ("values_json", .text),
            ]
        ),
        (
            "log", 1,
            [
                ("seq", .integer), ("change_id", .text), ("time", .text), ("tbl", .text), ("record_id", .text),
                ("entry", .text), ("prev_hash", .text), ("hash", .text), ("signed", .boolean), ("item", .text),
            ]
        ),
        (
            "conflict", 1,
            [
                ("id", .text), ("tbl", .text), ("record_id", .text), ("field", .text), ("incoming", .text),
                ("status", .text), ("seq", .integer), ("resolved_seq", .integer),
            ]
        ),
        ("reference", 3, [("target", .text), ("source", .text), ("field", .text)]),
        ("reference_count", 1, [("target", .text), ("count", .integer)]),
        ("unique_value", 3, [("tbl", .text), ("field", .text), ("value", .text), ("record_id", .text)]),
        ("visibility", 2, [("record_id", .text), ("organisation", .text)]),
        ("visibility_marker", 3, [("organisation", .text), ("seq", .integer), ("record_id", .text), ("kind", .text)]),
        ("pull_feed", 2, [("organisation", .text), ("seq", .integer)]),
        ("feed_gap", 2, [("organisation", .text), ("seq", .integer)]),
        ("withdrawn_grant", 1, [("record_id", .text), ("seq", .integer)]),
        ("grant_count", 2, [("record_id", .text), ("organisation", .text), ("count", .integer)]),
        (
            "device", 1,
            [
                ("id", .text), ("organisation", .text), ("role", .text), ("public_key", .text),
                ("seq", .integer),
            ]
        ),
        (
            "checkpoint", 1,
            [
                ("seq", .integer), ("hash", .text), ("time", .text), ("public_key", .text),
                ("signature", .text),
            ]
        ),
        (
            "rollback_report", 2,
            [
                ("seq", .integer), ("hash", .text), ("signed_time", .text), ("signature", .text),
                ("head_seq", .integer), ("store_hash", .text), ("role", .text), ("token_id", .text),
                ("time", .text),
            ]
        ),
    ]

    /// Rows a statement carries.
    static let page = 2_000

    /// Copies the SQLite store in `directory` into the database `url` names.
    ///
    /// - Throws: ``ServerError`` `no_store` (nothing in `directory`), `exists` (the database
    ///   holds a Tandem store), `unreachable`, `changed` (the SQLite store was written during the copy).
    public static func copy(from directory: String, to url: PostgresURL) async throws -> Report {
        let source = try SQLiteServerStore.open(directory: directory)
        let before = try await source.logHead()
        let target = try await PostgresServerStore.connectEmpty(url)
        let rows = try await target.transaction { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(PostgresServerStore.writerLock))", logger: target.logger)
            let meta = try await source.writer.read { db in
                try Row.fetchAll(db, sql: "SELECT key, value FROM server_meta").map {
                    ($0["key"] as String, $0["value"] as String)
                }
            }
            try await PostgresSchema.createTables(on: connection, logger: target.logger)
            var settings = Dictionary(meta, uniquingKeysWith: { _, last in last })
            settings["format"] = PostgresSchema.format
            settings["postgres_version"] = String(PostgresSchema.migrations.count)
            settings["schema_version"] = settings["schema_version"] ?? String(source.schema.version)
            try await PostgresSchema.keep(settings, on: connection, logger: target.logger)
            // The openings go to each entry's row (``PostgresSchema/foldOpenings``), through a
            // table the transaction drops.
            try await connection.query(
                """
                CREATE TEMPORARY TABLE personal_value (
                    commitment text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL, tbl text NOT NULL, record_id text NOT NULL,
                    salt text NOT NULL, value text NOT NULL
                ) ON COMMIT DROP
                """, logger: target.logger)
            var rows: [String: Int] = [:]
            for table in tables {
                rows[table.name] = try await copy(table, from: source, on: connection, logger: target.logger)
            }
            try await connection.query(PostgresQuery(unsafeSQL: PostgresSchema.foldOpenings), logger: target.logger)
            return rows
        }
        let after = try await source.logHead()
        guard after == before else {
            throw ServerError(
                .changed,
                "the SQLite store was written during the copy (head \(before.seq) then \(after.seq)): stop tandem-server serve and copy into a new database"
            )
        }
        return Report(rows: rows, head: after)
    }

    /// Copies one table in pages of ``page`` rows, in the order of its primary key (each page
    /// found by the key of the last row of the one before: no page costs more than the first).
    private static func copy(
        _ table: (name: String, key: Int, columns: [(name: String, kind: Kind)]), from source: SQLiteServerStore,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Int {
        let names = table.columns.map(\.name).joined(separator: ", ")
        let key = table.columns.prefix(table.key).map(\.name).joined(separator: ", ")
        let after = "(" + Array(repeating: "?", count: table.key).joined(separator: ", ") + ")"
        var copied = 0
        var last: [DatabaseValue]?
        while true {
            let from = last
            let found = try await source.writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT \(names) FROM \(table.name)" + (from == nil ? "" : " WHERE (\(key)) > \(after)")
                        + " ORDER BY \(key) LIMIT \(page)",
                    arguments: StatementArguments(from ?? [])
                ).map { row in (0..<row.count).map { row[$0] as DatabaseValue } }
            }
            guard let final = found.last else { return copied }
            last = Array(final.prefix(table.key))
            var bindings = PostgresBindings()
            var selects: [String] = []
            var arrays: [String] = []
            for (index, column) in table.columns.enumerated() {
                let values = found.map { $0[index] }
                switch column.kind {
                case .text: bindings.append(values.map { String.fromDatabaseValue($0) ?? "" })
                case .integer: bindings.append(values.map { Int64.fromDatabaseValue($0) ?? 0 })
                case .boolean: bindings.append(values.map { Bool.fromDatabaseValue($0) ?? false })
                }
                // NULLs travel as a flag beside each column (an array of optionals does not bind).
                bindings.append(values.map(\.isNull))
                let type =
                    switch column.kind {
                    case .text: "text"
                    case .integer: "bigint"
                    case .boolean: "boolean"
                    }
                arrays.append("$\(2 * index + 1)::\(type)[], $\(2 * index + 2)::boolean[]")
                selects.append("CASE WHEN n\(index) THEN NULL ELSE v\(index) END")
            }
            let aliases = table.columns.indices.map { "v\($0), n\($0)" }
            let sql = """
                INSERT INTO \(table.name) (\(names))
                SELECT \(selects.joined(separator: ", "))
                FROM UNNEST(\(arrays.joined(separator: ", "))) AS u(\(aliases.joined(separator: ", ")))
                """
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            copied += found.count
        }
    }
}
