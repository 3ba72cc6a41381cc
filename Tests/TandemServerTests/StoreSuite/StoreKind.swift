import Foundation
import GRDB
import PostgresNIO
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Every kind of store the suite runs over: each test of the `StoreSuite…` types takes a kind
/// (`@Test(arguments: StoreKind.allCases)`) and talks to what ``make(schema:now:)`` returns — the
/// ``ServerStore`` protocol (`verify` included), plus a forger's write behind the store's back for
/// the tamper tests.
///
/// `postgres` makes each store in a new database of the throwaway cluster the test script starts
/// (``TestPostgres``); without it those tests fail, saying how to run them. Nothing else in the
/// suite names a kind.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// `SQLiteServerStore.create(in: DatabaseQueue())`: what most unit tests use.
    case sqliteInMemory
    /// `SQLiteServerStore.create(directory:now:)` in a temporary folder: what `tandem-server init` makes.
    case sqliteOnDisk
    /// `PostgresServerStore.create(_:now:)` in a new database: what `tandem-server init --database` makes.
    case postgres

    var testDescription: String { rawValue }

    /// A new, empty store of this kind holding `schema`, and a coordinator token of it.
    func make(schema: Schema = .partnership, now: Int64) async throws -> StoreUnderTest {
        switch self {
        case .sqliteInMemory:
            let queue = try DatabaseQueue()
            let store = try SQLiteServerStore.create(in: queue, schema: schema, now: now)
            let token = try await store.issueToken(role: .coordinator, organisation: nil, now: now)
            return StoreUnderTest(
                kind: self, store: store, coordinatorToken: token,
                tamper: { try SQLiteTampering.tamper(queue, $0) }, another: { store }, resources: nil)
        case .sqliteOnDisk:
            let folder = try TemporaryDirectory(prefix: "tandem-store-suite")
            let directory = folder.path("data")
            let (store, token) = try SQLiteServerStore.create(directory: directory, schema: schema, now: now)
            let file = (directory as NSString).appendingPathComponent("store.sqlite")
            return StoreUnderTest(
                kind: self, store: store, coordinatorToken: token,
                tamper: { kind in try SQLiteTampering.tamper(try DatabaseQueue(path: file), kind) },
                another: { try SQLiteServerStore.open(directory: directory) }, resources: folder)
        case .postgres:
            let url = try await TestPostgres.newDatabase()
            let (store, token) = try await PostgresServerStore.create(PostgresURL(url), schema: schema, now: now)
            return StoreUnderTest(
                kind: self, store: store, coordinatorToken: token,
                tamper: { kind in try await PostgresTampering.tamper(url, kind) },
                another: { try await PostgresServerStore.open(PostgresURL(url)) }, resources: nil, database: url)
        }
    }
}

/// A store as the suite sees it.
struct StoreUnderTest: Sendable {
    let kind: StoreKind
    let store: any ServerStore
    /// A coordinator token of the new store (`tandem-server init` prints one).
    let coordinatorToken: String
    /// Someone with write access to the store's storage changes its history.
    let tamper: @Sendable (TamperKind) async throws -> Void
    /// The same storage opened again, as another process would (another `serve` instance, an
    /// admin command); the store itself where there can be no other (in memory).
    let another: @Sendable () async throws -> any ServerStore
    /// What must live as long as the store (its temporary folder, say).
    let resources: (any Sendable)?
    /// The PostgreSQL database the store lives in (nil for SQLite).
    var database: String? = nil
}

/// What a forger with write access to the storage does to the history. The suite works out the
/// forged lines (``LogEntry``, RFC 8785); a kind only has to write them where its entries live.
enum TamperKind: Sendable {
    /// The entries at these seqs become these lines, and whatever the store finds entries by
    /// (their change id, table, record, hashes) is made to agree with the new lines: the careful
    /// forger, whom only the chain and the signatures can give away.
    case rewrite([Int64: String])
    /// The entries at these seqs are gone.
    case remove(ClosedRange<Int64>)
    /// What pulls send of the entry at this seq (its pull item, ``PullItem/Entry/json``) becomes
    /// this text; the entry itself is untouched.
    case item(Int64, String)
    /// What pulls send as the record with this id (its values, `{field: value}`) becomes this
    /// text; its per-field state and the history are untouched.
    case values(String, String)
    /// The personal value kept for this commitment (SPEC §8) becomes this JSON text; its salt,
    /// the history and the record are untouched.
    case opening(String, String)
    /// The count the store keeps of the references to this record (``ReferenceIndex``) becomes
    /// this number; its records and the history are untouched.
    case referenceCount(String, Int)
    /// Not a forgery: the store as a Tandem from before reference counts left it — every
    /// reference a row, no `reference_count`, its tables one version back — for the next opening
    /// to migrate.
    case beforeReferenceCounts
}

/// The reference fields of the bundled schema kept as counts (``ReferenceIndex``): rows before.
let countedReferenceFields: [(table: String, field: String)] = Schema.partnership.tables.flatMap { table in
    table.fields.filter { field in
        field.type == .ref && !ReferenceIndex(schema: .partnership).keepsRows(table: table.name, field: field.name)
    }.map { (table.name, $0.name) }
}

/// ``TamperKind`` on a SQLite store's file (or in-memory database): its `log` and `record` tables.
enum SQLiteTampering {
    static func tamper(_ writer: any DatabaseWriter, _ kind: TamperKind) throws {
        try writer.write { db in
            switch kind {
            case let .remove(seqs):
                try db.execute(
                    sql: "DELETE FROM log WHERE seq BETWEEN ? AND ?", arguments: [seqs.lowerBound, seqs.upperBound])
            case let .rewrite(lines):
                // Out of the way first: the change ids are unique, and swapped entries swap them.
                for seq in lines.keys {
                    try db.execute(
                        sql: "UPDATE log SET change_id = 'tampering-' || seq WHERE seq = ?", arguments: [seq])
                }
                for (seq, line) in lines {
                    let entry = try LogEntry(json: JSONValue.parse(line))
                    func text(_ name: String) -> String {
                        if case let .string(value)? = entry.change[name] { value } else { "" }
                    }
                    try db.execute(
                        sql: """
                            UPDATE log SET entry = ?, change_id = ?, tbl = ?, record_id = ?, prev_hash = ?, hash = ?,
                                item = ?
                            WHERE seq = ?
                            """,
                        arguments: [
                            line, text("change_id"), text("table"), text("record_id"), entry.prevHash, entry.hash,
                            DerivedForms.item(of: entry)?.serialized(), seq,
                        ])
                }
            case let .item(seq, text):
                try db.execute(sql: "UPDATE log SET item = ? WHERE seq = ?", arguments: [text, seq])
            case let .values(id, text):
                try db.execute(sql: "UPDATE record SET values_json = ? WHERE id = ?", arguments: [text, id])
            case let .opening(commitment, text):
                try db.execute(
                    sql: "UPDATE personal_value SET value = ? WHERE commitment = ?", arguments: [text, commitment])
            case let .referenceCount(target, count):
                try db.execute(
                    sql: "INSERT OR REPLACE INTO reference_count(target, count) VALUES (?, ?)",
                    arguments: [target, count])
            case .beforeReferenceCounts:
                for (table, field) in countedReferenceFields {
                    try db.execute(
                        sql: """
                            INSERT OR IGNORE INTO reference(target, source, field)
                            SELECT json_extract(values_json, '$.' || ?1), id, ?1 FROM record
                            WHERE tbl = ?2 AND deleted = 0 AND json_type(values_json, '$.' || ?1) = 'text'
                            """, arguments: [field, table])
                }
                try db.execute(
                    sql: """
                        DROP TABLE reference_count;
                        DELETE FROM grdb_migrations WHERE identifier = 'v8-reference-count';
                        """)
            }
        }
    }
}

/// ``TamperKind`` with SQL on a PostgreSQL store's `log` and `record` tables.
enum PostgresTampering {
    /// Version 6 undone (each entry's openings in its row, ``PostgresSchema/foldOpenings``): the
    /// openings back in `personal_value`, by commitment, as versions 2 to 5 kept them.
    static let beforeOpeningsInLog = [
        """
        CREATE TABLE personal_value (
            commitment text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL, tbl text COLLATE "C" NOT NULL,
            record_id text COLLATE "C" NOT NULL, salt text NOT NULL, value text NOT NULL
        )
        """,
        """
        INSERT INTO personal_value(commitment, seq, tbl, record_id, salt, value)
        SELECT e.key, l.seq, l.tbl, l.record_id, e.value ->> 'salt', (e.value -> 'value')::text
        FROM log l, json_each(l.openings::json) AS e WHERE l.openings IS NOT NULL
        """,
        "CREATE INDEX personal_value_seq ON personal_value(seq)",
        "CREATE INDEX personal_value_record ON personal_value(record_id)",
        "ALTER TABLE log DROP COLUMN openings",
        "UPDATE server_meta SET value = '5' WHERE key = 'postgres_version'",
    ]

    static func tamper(_ url: String, _ kind: TamperKind) async throws {
        try await TestPostgres.with(url) { client in
            switch kind {
            case let .remove(seqs):
                try await client.query("DELETE FROM log WHERE seq BETWEEN \(seqs.lowerBound) AND \(seqs.upperBound)")
            case let .rewrite(lines):
                // Out of the way first: the change ids are unique, and swapped entries swap them.
                try await client.query(
                    "UPDATE log SET change_id = 'tampering-' || seq WHERE seq = ANY(\(Array(lines.keys)))")
                for (seq, line) in lines {
                    let entry = try LogEntry(json: JSONValue.parse(line))
                    func text(_ name: String) -> String {
                        if case let .string(value)? = entry.change[name] { value } else { "" }
                    }
                    let item = DerivedForms.item(of: entry)?.serialized()
                    try await client.query(
                        """
                        UPDATE log SET entry = \(line), change_id = \(text("change_id")), tbl = \(text("table")),
                            record_id = \(text("record_id")), prev_hash = \(entry.prevHash), hash = \(entry.hash),
                            item = \(item)
                        WHERE seq = \(seq)
                        """)
                }
            case let .item(seq, text):
                try await client.query("UPDATE log SET item = \(text) WHERE seq = \(seq)")
            case let .values(id, text):
                try await client.query("UPDATE record SET values_json = \(text) WHERE id = \(id)")
            case let .opening(commitment, text):
                // The openings are kept in their entries' rows (`log.openings`).
                try await client.query(
                    """
                    UPDATE log SET openings = (
                        SELECT json_object_agg(
                            k, CASE WHEN k = \(commitment) THEN json_build_object('salt', v -> 'salt', 'value', \(text)::json)
                            ELSE v END)::text
                        FROM json_each(openings::json) AS e(k, v))
                    WHERE openings IS NOT NULL AND strpos(openings, \(commitment)) > 0
                    """)
            case let .referenceCount(target, count):
                try await client.query(
                    """
                    INSERT INTO reference_count(target, count) VALUES (\(target), \(count))
                    ON CONFLICT (target) DO UPDATE SET count = excluded.count
                    """)
            case .beforeReferenceCounts:
                for statement in beforeOpeningsInLog { try await client.query(PostgresQuery(unsafeSQL: statement)) }
                for (table, field) in countedReferenceFields {
                    try await client.query(
                        """
                        INSERT INTO reference(target, source, field)
                        SELECT values_json::json ->> \(field)::text, id, \(field)::text FROM record
                        WHERE tbl = \(table)::text AND NOT deleted AND json_typeof(values_json::json -> \(field)::text) = 'string'
                        ON CONFLICT DO NOTHING
                        """)
                }
                try await client.query("DROP TABLE reference_count")
                // The version before `reference_count` (``PostgresSchema/referenceCountVersion``).
                try await client.query("UPDATE server_meta SET value = '4' WHERE key = 'postgres_version'")
            }
        }
    }
}
