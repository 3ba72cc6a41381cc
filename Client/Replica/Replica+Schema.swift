import GRDB
import TandemProtocol

extension Replica {
    /// Tandem's own bookkeeping tables. The schema's tables are made from the schema at `init`.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tandem_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;

                    -- (CHECKs use OR, not IN: SQLite builds a temporary table for an IN list on every row.)
                    -- Changes not yet accepted by the server, in edit order. An insert keeps its
                    -- values in the row itself until it is first sent (fields NULL); an update
                    -- keeps the fields it sets as a JSON object. change_id is given when the
                    -- change is first sent: from then on it is frozen and never coalesced.
                    CREATE TABLE tandem_outbox (
                        seq INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        op TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete'),
                        fields TEXT,
                        base_version INTEGER NOT NULL,
                        hlc TEXT NOT NULL,
                        change_id TEXT
                    ) STRICT;
                    CREATE INDEX tandem_outbox_record ON tandem_outbox(record_id);
                    CREATE UNIQUE INDEX tandem_outbox_change ON tandem_outbox(change_id) WHERE change_id IS NOT NULL;

                    -- The server's version of each record this replica has pulled.
                    CREATE TABLE tandem_record (
                        id TEXT PRIMARY KEY NOT NULL,
                        tbl TEXT NOT NULL,
                        version INTEGER NOT NULL
                    ) STRICT, WITHOUT ROWID;

                    -- Changes the server refused, for `tandem status`.
                    CREATE TABLE tandem_rejected (
                        change_id TEXT PRIMARY KEY NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        reason TEXT NOT NULL
                    ) STRICT;

                    -- Field conflicts on records this replica can see.
                    CREATE TABLE tandem_conflict (
                        id TEXT PRIMARY KEY NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        field TEXT NOT NULL,
                        current TEXT NOT NULL,
                        incoming TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status = 'open' OR status = 'resolved')
                    ) STRICT;
                    """)
        }
        // Sync bookkeeping: the log entries pulled (for `tandem history`), and the change a
        // rejection refused (so that nothing the user typed is lost with it).
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    -- The server's log entries this replica has pulled, one per seq.
                    CREATE TABLE tandem_history (
                        seq INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        version INTEGER,
                        time TEXT NOT NULL,
                        author TEXT NOT NULL,
                        op TEXT NOT NULL,
                        fields TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        change_id TEXT NOT NULL
                    ) STRICT;
                    CREATE INDEX tandem_history_record ON tandem_history(record_id);

                    -- The rejected change as it was pushed (JSON).
                    ALTER TABLE tandem_rejected ADD COLUMN change TEXT;
                    """)
        }
        // Device keys and the audit store (SPEC §8). A replica made before keys existed gets
        // its key here, when it is first opened by a tandem that knows them.
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    -- The server's history as `tandem audit pull` fetched it: every line verbatim
                    -- (the RFC 8785 text that was hashed), its hash, and the record it concerns.
                    CREATE TABLE tandem_audit_entry (
                        seq INTEGER PRIMARY KEY,
                        line TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL
                    ) STRICT;
                    CREATE INDEX tandem_audit_entry_record ON tandem_audit_entry(record_id);

                    -- The server's signed heads this replica has checked and kept, one per seq.
                    CREATE TABLE tandem_audit_checkpoint (
                        seq INTEGER PRIMARY KEY,
                        hash TEXT NOT NULL,
                        time TEXT NOT NULL,
                        public_key TEXT NOT NULL,
                        signature TEXT NOT NULL,
                        fetched_at TEXT NOT NULL
                    ) STRICT;

                    -- What `tandem get --as-of` needs to replay a pulled entry exactly.
                    ALTER TABLE tandem_history ADD COLUMN hlc TEXT;
                    ALTER TABLE tandem_history ADD COLUMN base_version INTEGER;
                    """)
            if try Setting.deviceKey.read(in: db) == nil {
                try Setting.deviceKey.write(SigningKey().privateKeyBase64, in: db)
            }
        }
        // A server restored from a backup (docs/operations.md): the replica keeps its own
        // acknowledged changes as signed for a while, the signature of every pulled change (to
        // hand them back), and the signed checkpoints its pulls reached (to notice the server
        // going back).
        migrator.registerMigration("v4-acknowledged") { db in
            try db.execute(
                sql: """
                    -- This replica's changes the server acknowledged (applied, merged, conflict, or
                    -- refused after checking their signature), as pushed and signed, with the seq the
                    -- server gave them; kept 30 days, and in any case the newest 10 000
                    -- (Replica.acknowledgedKeptFor, acknowledgedKeptAtLeast).
                    CREATE TABLE tandem_acknowledged (
                        change_id TEXT PRIMARY KEY NOT NULL,
                        seq INTEGER NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        change TEXT NOT NULL,
                        acknowledged_at INTEGER NOT NULL
                    ) STRICT;
                    CREATE INDEX tandem_acknowledged_seq ON tandem_acknowledged(seq);

                    -- The server's signed checkpoints of the entries this replica's pull pages reached
                    -- (the newest 64), presented at each sync.
                    CREATE TABLE tandem_pulled_checkpoint (
                        seq INTEGER PRIMARY KEY,
                        hash TEXT NOT NULL,
                        time TEXT NOT NULL,
                        signature TEXT NOT NULL
                    ) STRICT;

                    -- The device and signature of each pulled change: it can be handed back as it was.
                    ALTER TABLE tandem_history ADD COLUMN device TEXT;
                    ALTER TABLE tandem_history ADD COLUMN signature TEXT;
                    """)
        }
        // Bundles (docs/sync.md, Bundles): other replicas' signed changes this replica carries to
        // the server, and the device registrations their bundles hold.
        migrator.registerMigration("v5-bundles") { db in
            try db.execute(
                sql: """
                    -- Changes imported from another replica's bundle, as signed, in import order;
                    -- each leaves when the server has answered it.
                    CREATE TABLE tandem_carried (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        change_id TEXT NOT NULL UNIQUE,
                        device TEXT NOT NULL,
                        change TEXT NOT NULL
                    ) STRICT;

                    -- The device registration each imported bundle carries (tandem init --org).
                    CREATE TABLE tandem_carried_device (
                        device TEXT PRIMARY KEY NOT NULL,
                        public_key TEXT NOT NULL,
                        organisation TEXT NOT NULL
                    ) STRICT;
                    """)
        }
        // Personal data (SPEC §8, docs/sync.md "Personal data"): the openings of the commitments
        // this replica's changes and pulled entries hold, erased records, and the audit store's
        // openings beside its lines.
        migrator.registerMigration("v6-personal") { db in
            try db.execute(
                sql: """
                    -- The value and salt behind each commitment this replica may see (its own changes',
                    -- those pull pages and bundles brought), by the record it belongs to; the value as
                    -- JSON text. An erasure deletes the record's rows.
                    CREATE TABLE tandem_personal_value (
                        commitment TEXT PRIMARY KEY NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        salt TEXT NOT NULL,
                        value TEXT NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX tandem_personal_value_record ON tandem_personal_value(record_id);

                    -- The audit store's openings: those `GET /v1/history` sent beside entry `seq`.
                    CREATE TABLE tandem_audit_value (
                        commitment TEXT PRIMARY KEY NOT NULL,
                        seq INTEGER NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        salt TEXT NOT NULL,
                        value TEXT NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX tandem_audit_value_record ON tandem_audit_value(record_id);
                    CREATE INDEX tandem_audit_value_seq ON tandem_audit_value(seq);

                    -- 1 once the record's personal data was erased (tandem erase): no edit of it is taken.
                    ALTER TABLE tandem_record ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        return migrator
    }()

    /// `CREATE TABLE` for a schema table: `id` and exactly the schema's field names, so that
    /// `sqlite3 replica.sqlite 'select * from exchange'` shows what `tandem list exchange` does.
    /// STRICT, so that SQLite itself refuses a value of the wrong storage type.
    static func createTableSQL(for table: TableSchema) -> String {
        var columns = ["id TEXT PRIMARY KEY NOT NULL"]
        columns += table.fields.map { "\($0.name.quotedIdentifier) \($0.type.sqlType)" }
        var sql = "CREATE TABLE \(table.name.quotedIdentifier) (\(columns.joined(separator: ", "))) STRICT;"
        for field in table.fields where field.isUnique { sql += " " + uniqueIndexSQL(table: table, field: field) }
        return sql
    }

    static func uniqueIndexSQL(table: TableSchema, field: FieldSchema) -> String {
        let index = "tandem_unique_\(table.name)_\(field.name)".quotedIdentifier
        return "CREATE UNIQUE INDEX \(index) ON \(table.name.quotedIdentifier)(\(field.name.quotedIdentifier));"
    }
}

/// The settings a replica keeps in `tandem_meta`.
enum Setting: String, CaseIterable {
    case format, schema, device, hlc
    case createdAt = "created_at"
    case server, organisation, role
    case lastSync = "last_sync"
    /// The bearer token for `server` (the file is readable by its owner only).
    case token
    /// The seq up to which this replica has pulled the server's log.
    case cursor
    /// A PEM file of certificate authorities to trust for an `https` server (absolute path).
    case caFile = "ca_file"
    /// This replica's Ed25519 device key: its 32 private bytes in base64 (the file is 0600).
    case deviceKey = "device_key"
    /// The server URL the device key is registered with (`POST /v1/devices`), for the
    /// organisation in `organisation`; absent until it is.
    case deviceRegistered = "device_registered"
    /// The server's clock minus this device's, in milliseconds, as the latest exchange with the
    /// server measured it (``ClockOffset``); edits are stamped with the device clock plus it.
    case clockOffset = "clock_offset"
    /// The latest HLC of a change the server accepted that this replica has pulled: a change
    /// re-stamped at push is stamped after it.
    case seenClock = "seen_hlc"
    /// The server's history went back or forked and the repair is not finished: a
    /// ``RollbackState`` as JSON (docs/operations.md).
    case rollback
    /// The server's public key (base64), as its first signed pull page or incoming bundle gave
    /// it: every incoming bundle must be signed with it (docs/sync.md, Bundles).
    case serverKey = "server_key"

    func write(_ value: String?, in db: Database) throws {
        if let value {
            try db.execute(
                sql:
                    "INSERT INTO tandem_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [rawValue, value])
        } else {
            try db.execute(sql: "DELETE FROM tandem_meta WHERE key = ?", arguments: [rawValue])
        }
    }

    func read(in db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM tandem_meta WHERE key = ?", arguments: [rawValue])
    }

    static func readAll(in db: Database) throws -> [Setting: String] {
        var settings: [Setting: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM tandem_meta") {
            if let setting = Setting(rawValue: row["key"]) { settings[setting] = row["value"] }
        }
        return settings
    }
}
