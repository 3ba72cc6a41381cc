import Foundation
import Logging
import PostgresNIO
import TandemProtocol

/// The PostgreSQL store's tables: the SQLite store's as its migrations leave them (`v5-core`),
/// so that `tandem-server migrate` copies rows as they are. Text keys compare byte by byte
/// (`COLLATE "C"`, SQLite's order), whatever the database's locale.
///
/// Versioned: `server_meta.postgres_version` names the last of ``migrations`` applied. A store
/// made by a newer Tandem (a version this one does not know) is refused, never altered.
enum PostgresSchema {
    static let format = "tandem-store/1"
    static let signingKeyName = "signing_key"

    /// The migrations, in order; a store at version n has applied the first n.
    static let migrations: [String] = [
        """
        CREATE TABLE server_meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
        CREATE TABLE token (
            id text COLLATE "C" PRIMARY KEY, hash text COLLATE "C" NOT NULL UNIQUE, role text NOT NULL,
            organisation text COLLATE "C", created_at text NOT NULL, revoked_at text
        );
        CREATE TABLE record (
            id text COLLATE "C" PRIMARY KEY, tbl text COLLATE "C" NOT NULL, version bigint NOT NULL,
            deleted boolean NOT NULL, last_seq bigint NOT NULL, state text NOT NULL, values_json text
        );
        CREATE TABLE log (
            seq bigint PRIMARY KEY, change_id text COLLATE "C" NOT NULL, time text NOT NULL,
            tbl text COLLATE "C" NOT NULL, record_id text COLLATE "C" NOT NULL, entry text NOT NULL,
            prev_hash text, hash text, signed boolean NOT NULL DEFAULT true, item text
        );
        CREATE UNIQUE INDEX log_change ON log(change_id) WHERE signed;
        CREATE INDEX log_unsigned_change ON log(change_id) WHERE NOT signed;
        CREATE TABLE conflict (
            id text COLLATE "C" PRIMARY KEY, tbl text COLLATE "C" NOT NULL, record_id text COLLATE "C" NOT NULL,
            field text COLLATE "C" NOT NULL, incoming text NOT NULL, status text NOT NULL, seq bigint NOT NULL,
            resolved_seq bigint
        );
        CREATE INDEX conflict_record ON conflict(record_id);
        CREATE TABLE reference (
            target text COLLATE "C" NOT NULL, source text COLLATE "C" NOT NULL, field text COLLATE "C" NOT NULL,
            PRIMARY KEY (target, source, field)
        );
        CREATE TABLE unique_value (
            tbl text COLLATE "C" NOT NULL, field text COLLATE "C" NOT NULL, value text COLLATE "C" NOT NULL,
            record_id text COLLATE "C" NOT NULL, PRIMARY KEY (tbl, field, value)
        );
        CREATE TABLE visibility (
            record_id text COLLATE "C" NOT NULL, organisation text COLLATE "C" NOT NULL,
            PRIMARY KEY (record_id, organisation)
        );
        CREATE TABLE visibility_marker (
            organisation text COLLATE "C" NOT NULL, seq bigint NOT NULL, record_id text COLLATE "C" NOT NULL,
            kind text NOT NULL CHECK (kind = 'arrival' OR kind = 'departure'),
            PRIMARY KEY (organisation, seq, record_id)
        );
        CREATE TABLE withdrawn_grant (record_id text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL);
        CREATE TABLE grant_count (
            record_id text COLLATE "C" NOT NULL, organisation text COLLATE "C" NOT NULL, count bigint NOT NULL,
            PRIMARY KEY (record_id, organisation)
        );
        CREATE TABLE device (
            id text COLLATE "C" PRIMARY KEY, organisation text COLLATE "C", role text NOT NULL,
            public_key text NOT NULL, seq bigint NOT NULL
        );
        CREATE TABLE checkpoint (
            seq bigint PRIMARY KEY, hash text NOT NULL, time text NOT NULL, public_key text NOT NULL,
            signature text NOT NULL
        );
        CREATE TABLE rollback_report (
            seq bigint NOT NULL, hash text COLLATE "C" NOT NULL, signed_time text NOT NULL, signature text NOT NULL,
            head_seq bigint NOT NULL, store_hash text, role text NOT NULL, token_id text NOT NULL, time text NOT NULL,
            PRIMARY KEY (seq, hash)
        );
        """,
        // Personal values beside the history (SPEC §8, docs/audit.md "Personal data"): the
        // openings of the commitments entries hold; entries up to `sealed_since` (made before)
        // hold their values in plain, inside the chain.
        """
        CREATE TABLE personal_value (
            commitment text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL, tbl text COLLATE "C" NOT NULL,
            record_id text COLLATE "C" NOT NULL, salt text NOT NULL, value text NOT NULL
        );
        CREATE INDEX personal_value_seq ON personal_value(seq);
        CREATE INDEX personal_value_record ON personal_value(record_id);
        INSERT INTO server_meta(key, value) SELECT 'sealed_since', coalesce(max(seq), 0)::text FROM log;
        ALTER TABLE token ADD COLUMN personal boolean NOT NULL DEFAULT false
        """,
        // An entry's row (its line and its pull item, ~2 KB) passes the 2 KB past which PostgreSQL
        // tries to compress a row's values, which fails (hashes and signatures): half the cost of
        // writing the history went there. Rows stay whole up to a page.
        "ALTER TABLE log SET (toast_tuple_target = 8160)",
        // The pull feed (SQLite's `v7-feed`, docs/visibility.md "The pull feed"): entries made
        // before go in the feeds of those who may read them now.
        """
        CREATE TABLE pull_feed (
            organisation text COLLATE "C" NOT NULL, seq bigint NOT NULL, PRIMARY KEY (organisation, seq)
        );
        CREATE TABLE feed_gap (
            organisation text COLLATE "C" NOT NULL, seq bigint NOT NULL, PRIMARY KEY (organisation, seq)
        );
        CREATE TEMPORARY TABLE open_table ON COMMIT DROP AS
            SELECT t ->> 'name' AS name FROM server_meta m, jsonb_array_elements(m.value::jsonb -> 'tables') t
            WHERE m.key = 'schema' AND coalesce(t ->> 'personal', 'false') <> 'true'
                AND coalesce(t ->> 'visibility', 'all') <> 'owners';
        INSERT INTO pull_feed(organisation, seq)
            SELECT '\(FeedRow.everyone)', seq FROM log WHERE tbl IN (SELECT name FROM open_table);
        INSERT INTO pull_feed(organisation, seq)
            SELECT v.organisation, l.seq FROM log l JOIN visibility v ON v.record_id = l.record_id
            WHERE l.tbl NOT IN (SELECT name FROM open_table) AND l.tbl <> ALL(ARRAY['\(SchemaRegistry.pseudoTables.joined(separator: "','"))'])
            ON CONFLICT DO NOTHING;
        INSERT INTO pull_feed(organisation, seq)
            SELECT l.entry::jsonb #>> '{author,organisation}', l.seq FROM log l
                LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
            WHERE r.id IS NULL AND l.entry::jsonb #>> '{author,organisation}' IS NOT NULL
                AND l.tbl NOT IN (SELECT name FROM open_table) AND l.tbl <> ALL(ARRAY['\(SchemaRegistry.pseudoTables.joined(separator: "','"))'])
            ON CONFLICT DO NOTHING
        """,
        // References kept as rows only where the merge asks which records refer to one, counted
        // everywhere else (``ReferenceIndex``, docs/merge.md "References"): a store made before
        // indexes its references again as it upgrades (``referenceCountVersion``).
        """
        CREATE TABLE reference_count (target text COLLATE "C" PRIMARY KEY, count bigint NOT NULL)
        """,
        // Each entry's openings in its own row (``foldOpenings``): a member's pull reads them in
        // the statement that reads its entries, not in a second one (docs/benchmarks.md).
        """
        ALTER TABLE log ADD COLUMN openings text;
        \(foldOpenings);
        DROP TABLE personal_value;
        CREATE INDEX log_openings_record ON log(record_id) WHERE openings IS NOT NULL
        """,
    ]

    /// The openings kept by commitment in a `personal_value` table — the SQLite store's, and
    /// this one's before version 6 — folded into their entries' rows: `log.openings` holds an
    /// entry's openings as the JSON of ``Openings`` (`{HEX: {"salt", "value"}}`; `json`, not
    /// `jsonb`, so that each value keeps its text), NULL when it has none or they were erased.
    static let foldOpenings = """
        UPDATE log l SET openings = p.openings
        FROM (
            SELECT seq, json_object_agg(commitment, json_build_object('salt', salt, 'value', value::json)
                ORDER BY commitment)::text AS openings
            FROM personal_value GROUP BY seq
        ) p
        WHERE l.seq = p.seq
        """

    /// The version whose migration adds `reference_count`: a store upgraded past it from below
    /// indexes its references again (``PostgresServerStore/indexReferences(schema:on:)``).
    static let referenceCountVersion = 5

    /// Whether the database holds a Tandem store (its `server_meta` table).
    static func isInstalled(_ client: PostgresClient) async throws -> Bool {
        let rows = try await client.query("SELECT to_regclass('server_meta') IS NOT NULL")
        for try await (found) in rows.decode(Bool.self) { return found }
        return false
    }

    static func meta(_ client: PostgresClient) async throws -> [String: String] {
        var meta: [String: String] = [:]
        let rows = try await client.query("SELECT key, value FROM server_meta")
        for try await (key, value) in rows.decode((String, String).self) { meta[key] = value }
        return meta
    }

    /// - Throws: ``ServerError`` `not_a_store`, or `newer_store` for a store of a newer Tandem.
    static func check(_ meta: [String: String]) throws {
        guard meta["format"] == format, let version = meta["postgres_version"].flatMap(Int.init) else {
            throw ServerError(.notAStore, "the database holds no Tandem store of a known format")
        }
        guard version <= migrations.count else {
            throw ServerError(
                .newerStore,
                "the store was made by a newer Tandem (its tables are at version \(version), this one knows \(migrations.count)): upgrade tandem-server"
            )
        }
    }

    /// Creates every table and the store's settings (in the caller's transaction).
    static func install(schema: Schema, key: SigningKey, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await createTables(on: connection, logger: logger)
        try await keep(
            [
                "format": format, "postgres_version": String(migrations.count), "schema": schema.json.serialized(),
                "schema_version": String(schema.version), signingKeyName: key.privateKeyBase64,
            ], on: connection, logger: logger)
    }

    /// Creates every table (in the caller's transaction).
    static func createTables(on connection: PostgresConnection, logger: Logger) async throws {
        try await apply(migrations, on: connection, logger: logger)
    }

    private static func apply(_ migrations: some Sequence<String>, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        for migration in migrations {
            for statement in migration.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            where !statement.isEmpty {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }

    /// Brings a store made by an older Tandem up to this version's tables, in one transaction
    /// under the writer's lock (another instance may be doing the same: the second finds it done).
    ///
    /// - Parameter migrated: runs in the same transaction after the migrations, given the version
    ///   the store was at (what must be worked out again from its rows).
    static func upgrade(
        _ client: PostgresClient, writerLock: Int64, logger: Logger,
        migrated: @escaping @Sendable (PostgresConnection, _ from: Int) async throws -> Void
    ) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(writerLock))", logger: logger)
            var version = 0
            let rows = try await connection.query(
                "SELECT value FROM server_meta WHERE key = 'postgres_version'", logger: logger)
            for try await (text) in rows.decode(String.self) { version = Int(text) ?? 0 }
            guard version < migrations.count else { return }
            try await apply(migrations.dropFirst(version), on: connection, logger: logger)
            try await migrated(connection, version)
            try await keep(["postgres_version": String(migrations.count)], on: connection, logger: logger)
        }
    }

    /// Keeps `settings` in `server_meta`.
    static func keep(_ settings: [String: String], on connection: PostgresConnection, logger: Logger) async throws {
        let pairs = Array(settings)
        try await connection.query(
            """
            INSERT INTO server_meta(key, value) SELECT * FROM UNNEST(\(pairs.map(\.key))::text[], \(pairs.map(\.value))::text[])
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, logger: logger)
    }
}
