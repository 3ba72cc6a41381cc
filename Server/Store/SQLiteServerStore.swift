import Foundation
public import GRDB
import NIOPosix
import Synchronization
public import TandemProtocol

/// The server's store on SQLite (GRDB, WAL): the default, in `--data DIR/store.sqlite`.
///
/// Tables: `record` (each record's version and per-field state as JSON), `log` (the append-only
/// history, one entry a change received, gap-free `seq`), `conflict` (manual conflicts),
/// `reference`, `reference_count` and `unique_value` (what the merge asks about other records:
/// ``ReferenceIndex``), `token` (hashes only); `visibility` and `visibility_marker` (who may read
/// what, migration `v2`: docs/visibility.md). A push batch is one transaction.
///
/// ```swift
/// let (store, coordinator) = try SQLiteServerStore.create(directory: "/var/lib/tandem", now: now)
/// let results = try await store.push(changes, by: principal, now: now)
/// ```
public final class SQLiteServerStore: ServerStore, StoreAdapter, @unchecked Sendable {
    let writer: any DatabaseWriter
    /// The server's Ed25519 key (SPEC §8): signs checkpoints and the changes the server makes.
    public let serverKey: SigningKey
    /// The schema in force and its merge: replaced when `tandem-server schema apply` (in this
    /// process or another sharing the file) installs a new version — every read and write
    /// transaction first checks `server_meta.schema_version` (``refreshSchema(_:)``).
    private var current: (schema: Schema, merge: Merge)
    private let lock = NSLock()
    /// Checkpoints the log of a store kept in a file, after its write transactions.
    let checkpointer: WALCheckpointer?
    /// Records decoded by earlier batches (``RecordCache``).
    let records = RecordCache()
    /// The checkpoints signed in the last second.
    public let signedCheckpoints = SignedCheckpoints()
    /// The pushes waiting to be merged together.
    public let pushQueue = PushQueue()
    /// Read-only connections of their own for the short reads every request makes (a pull's, a
    /// token's: ``quickRead(_:)``), opened at the first such read (a store that serves none —
    /// an admin command's — opens no file more); none for a store not in a file.
    private let quickReaders = Mutex<[DatabaseQueue]?>(nil)
    private let quickReaderTurn = Atomic<Int>(0)
    /// A read-only connection of each event loop's own, read synchronously on its thread (``read(quick:_:)``).
    private let loopReaders = Mutex<[ObjectIdentifier: DatabaseQueue]>([:])

    static let fileName = "store.sqlite"

    init(writer: any DatabaseWriter, schema: Schema, serverKey: SigningKey) {
        self.writer = writer
        self.serverKey = serverKey
        checkpointer = (writer as? DatabasePool).map { WALCheckpointer(path: $0.path) }
        current = (schema, Merge(schema: schema))
    }

    /// The schema the server serves and merges with.
    public var schema: Schema { lock.withLock { current.schema } }
    var merge: Merge { lock.withLock { current.merge } }

    /// Takes up the schema version `server_meta` holds when it is not the one in force.
    func refreshSchema(_ db: Database) throws {
        let stored = try String.fetchOne(
            db.cachedStatement(sql: "SELECT value FROM server_meta WHERE key = 'schema_version'")
        ).flatMap(Int.init)
        guard let stored, stored != schema.version,
            let text = try String.fetchOne(db, sql: "SELECT value FROM server_meta WHERE key = 'schema'")
        else { return }
        let installed = try Schema.decode(Array(text.utf8))
        lock.withLock { current = (installed, Merge(schema: installed)) }
    }

    /// Creates `directory` if needed and a new store in it, with a first coordinator token.
    ///
    /// - Throws: ``ServerError`` code `exists` when the directory already holds a store.
    public static func create(
        directory: String, schema: Schema = .partnership, now: Int64
    ) throws -> (store: SQLiteServerStore, coordinatorToken: String) {
        let path = (directory as NSString).appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: path) {
            throw ServerError(.exists, "\(directory) already holds a Tandem store")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ServerError(.cannotCreate, "cannot create \(directory): \(error.localizedDescription)")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration())
        } catch {
            throw ServerError(.cannotCreate, "cannot create \(path): \(error)")
        }
        let store = try create(in: pool, schema: schema, now: now)
        let token = Tokens.make()
        try store.writeSync { db in
            try insert(Tokens.row(for: token, role: .coordinator, organisation: nil, now: now), db: db)
        }
        return (store, token)
    }

    /// Makes the store's tables in an empty database (tests pass an in-memory `DatabaseQueue`).
    public static func create(
        in writer: any DatabaseWriter, schema: Schema = .partnership, now: Int64 = ServerClock.wall()
    ) throws -> SQLiteServerStore {
        do {
            try migrator.migrate(writer)
            let key = try writer.write { db in
                try db.execute(
                    sql: "INSERT INTO server_meta(key, value) VALUES ('format', ?), ('schema', ?)",
                    arguments: [format, schema.json.serialized()])
                return try serverKey(db: db, now: now)
            }
            return SQLiteServerStore(writer: writer, schema: schema, serverKey: key)
        } catch {
            throw ServerError(.cannotCreate, "cannot create the store: \(error)")
        }
    }

    /// Opens the store in `directory`.
    ///
    /// - Throws: ``ServerError`` code `no_store` when there is none.
    public static func open(directory: String) throws -> SQLiteServerStore {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ServerError(.noStore, "no Tandem store in \(directory) (run tandem-server init)")
        }
        do {
            return try open(try DatabasePool(path: path, configuration: configuration()))
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.cannotOpen, "cannot open \(path): \(error)")
        }
    }

    /// Opens the store held by `writer`.
    public static func open(_ writer: any DatabaseWriter) throws -> SQLiteServerStore {
        do {
            try migrator.migrate(writer)
            let meta = try writer.read { db in
                try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, value FROM server_meta").map {
                        ($0["key"] as String, $0["value"] as String)
                    })
            }
            guard meta["format"] == format, let text = meta["schema"] else {
                throw ServerError(.notAStore, "not a Tandem store")
            }
            let key =
                try meta[signingKeyName].map { text in try SigningKey(privateKeyBase64: text) }
                ?? writer.write { db in try serverKey(db: db, now: ServerClock.wall()) }
            let store = SQLiteServerStore(writer: writer, schema: try Schema.decode(Array(text.utf8)), serverKey: key)
            // A store made before the programme's rules existed takes them up as its next version.
            if let upgraded = addingBundledConstraints(to: store.schema) {
                _ = try store.writeSync { db in
                    try store.install(
                        SchemaWork(upgraded, over: store.schema, now: ServerClock.wall(), serverKey: key), db: db)
                }
            }
            return store
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.cannotOpen, "cannot open the store: \(error)")
        }
    }

    static let format = "tandem-store/1"

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = false
        configuration.prepareDatabase { db in
            // A page cache of 64 MiB (SQLite's default is 2 MiB): the indexes a push walks stay in memory.
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA cache_size = -65536")
            // What is deleted or overwritten is zeroed in the file, so that an erased personal
            // value (`tandem erase`, SPEC §8) leaves no byte behind in freed space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Checkpoints run beside the writer (``WALCheckpointer``); this is the fallback.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerFallbackPages)")
        }
        return configuration
    }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE server_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
                    CREATE TABLE token (
                        id TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
                        organisation TEXT, created_at TEXT NOT NULL, revoked_at TEXT
                    ) STRICT;
                    CREATE TABLE record (
                        id TEXT PRIMARY KEY NOT NULL, tbl TEXT NOT NULL, version INTEGER NOT NULL,
                        deleted INTEGER NOT NULL, last_seq INTEGER NOT NULL, state TEXT NOT NULL
                    ) STRICT;
                    CREATE INDEX record_last_seq ON record(last_seq);
                    CREATE TABLE log (
                        seq INTEGER PRIMARY KEY, change_id TEXT NOT NULL, time TEXT NOT NULL, tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL, author TEXT NOT NULL, change TEXT NOT NULL, outcome TEXT NOT NULL,
                        prev_hash TEXT, hash TEXT
                    ) STRICT;
                    CREATE UNIQUE INDEX log_change ON log(change_id);
                    CREATE INDEX log_record ON log(record_id);
                    CREATE TABLE conflict (
                        id TEXT PRIMARY KEY NOT NULL, tbl TEXT NOT NULL, record_id TEXT NOT NULL, field TEXT NOT NULL,
                        incoming TEXT NOT NULL, status TEXT NOT NULL, seq INTEGER NOT NULL, resolved_seq INTEGER
                    ) STRICT;
                    CREATE INDEX conflict_record ON conflict(record_id);
                    CREATE TABLE reference (
                        target TEXT NOT NULL, source TEXT NOT NULL, field TEXT NOT NULL, PRIMARY KEY (target, source, field)
                    ) STRICT, WITHOUT ROWID;
                    -- Every applied change rewrites its record's references: found by source.
                    CREATE INDEX reference_source ON reference(source);
                    CREATE TABLE unique_value (
                        tbl TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, record_id TEXT NOT NULL,
                        PRIMARY KEY (tbl, field, value)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX unique_value_record ON unique_value(record_id);
                    """)
        }
        migrator.registerMigration("v2") { db in
            // Who may read what (docs/visibility.md).
            try db.execute(
                sql: """
                    CREATE TABLE visibility (
                        record_id TEXT NOT NULL, organisation TEXT NOT NULL, PRIMARY KEY (record_id, organisation)
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE visibility_marker (
                        organisation TEXT NOT NULL, seq INTEGER NOT NULL, record_id TEXT NOT NULL,
                        kind TEXT NOT NULL CHECK (kind = 'arrival' OR kind = 'departure'),
                        PRIMARY KEY (organisation, seq, record_id)
                    ) STRICT, WITHOUT ROWID;
                    """)
            // Grants are worked out without the records whose grants were withdrawn (`v4-grants`).
            try db.execute(sql: withdrawnGrantTable)
            // A store made before: the bundled schema gains its visibility, and every record's
            // readers are worked out. Members' replicas already hold what they pulled then;
            // `tandem sync --resync` trims them.
            guard var schema = try storedSchema(db: db) else { return }
            if let upgraded = addingBundledVisibility(to: schema) {
                schema = upgraded
                try db.execute(
                    sql: "UPDATE server_meta SET value = ? WHERE key = 'schema'",
                    arguments: [schema.json.serialized()])
            }
            try VisibilityTracker(schema: schema).rebuild(db: db)
        }
        migrator.registerMigration("v3") { db in
            // The tamper-evident history (docs/audit.md): each entry kept as its RFC 8785 line,
            // chained by hash; device keys; signed checkpoints. Entries made before are chained
            // as they are (their changes carry no signatures, which `verify` reports).
            try db.execute(
                sql: """
                    ALTER TABLE log ADD COLUMN entry TEXT;
                    CREATE TABLE device (
                        id TEXT PRIMARY KEY NOT NULL, organisation TEXT, role TEXT NOT NULL,
                        public_key TEXT NOT NULL, seq INTEGER NOT NULL
                    ) STRICT;
                    CREATE TABLE checkpoint (
                        seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, time TEXT NOT NULL,
                        public_key TEXT NOT NULL, signature TEXT NOT NULL
                    ) STRICT;
                    """)
            var previous = LogEntry.genesisHash
            let rows = try Row.fetchAll(db, sql: "SELECT seq, time, author, change, outcome FROM log ORDER BY seq")
            for row in rows {
                let entry = LogEntry(
                    seq: row["seq"], time: row["time"], author: try Author(json: JSONValue.parse(row["author"])),
                    change: try JSONValue.parse(row["change"]), outcome: try JSONValue.parse(row["outcome"]),
                    prevHash: previous)
                try db.execute(
                    sql: "UPDATE log SET entry = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [entry.line, entry.prevHash, entry.hash, entry.seq])
                previous = entry.hash
            }
            // A change whose signature did not verify is kept as evidence but does not hold its
            // change id: the genuine change may still come (and a forger cannot squat on an id).
            try db.execute(
                sql: """
                    ALTER TABLE log DROP COLUMN author;
                    ALTER TABLE log DROP COLUMN change;
                    ALTER TABLE log DROP COLUMN outcome;
                    ALTER TABLE log ADD COLUMN signed INTEGER NOT NULL DEFAULT 1;
                    DROP INDEX log_change;
                    CREATE UNIQUE INDEX log_change ON log(change_id) WHERE signed = 1;
                    CREATE INDEX log_unsigned_change ON log(change_id) WHERE signed = 0;
                    """)
        }
        migrator.registerMigration("v4-grants") { db in
            // A reference never widens what a member sees (docs/security.md): an exchange that
            // breaks its table's constraints (its person does not work for its home) no longer
            // grants sight of the persons it refers to. Stores made before the rule may hold
            // such exchanges: their grants are withdrawn now, and their readers lose the persons
            // at the next seq (the departures reach replicas with the next entry written).
            try db.execute(sql: withdrawnGrantTable)
            // The rules as they will hold once the bundled constraints are installed (at open).
            guard let schema = try storedSchema(db: db) else { return }
            try VisibilityTracker(schema: addingBundledConstraints(to: schema) ?? schema)
                .withdrawGrantsBreakingConstraints(db: db)
        }
        migrator.registerMigration("v4-rollback") { db in
            // Checkpoints presented by replicas and auditors that the store no longer held
            // (docs/operations.md): the evidence that it went back, for `verify`.
            try db.execute(
                sql: """
                    CREATE TABLE rollback_report (
                        seq INTEGER NOT NULL, hash TEXT NOT NULL, signed_time TEXT NOT NULL, signature TEXT NOT NULL,
                        head_seq INTEGER NOT NULL, store_hash TEXT, role TEXT NOT NULL, token_id TEXT NOT NULL,
                        time TEXT NOT NULL,
                        PRIMARY KEY (seq, hash)
                    ) STRICT;
                    """)
        }
        migrator.registerMigration("v5-core") { db in
            // The server core (docs/merge.md): records kept as their values (what a pull sends)
            // beside their stamps; log entries kept also as a pull sends them; counted grants
            // (docs/visibility.md) — per personal record and organisation, how many live records
            // grant it sight, kept by deltas as records change instead of finding the grantors
            // again on every change. Indexes nothing reads any more go.
            try db.execute(
                sql: """
                    ALTER TABLE record ADD COLUMN values_json TEXT;
                    ALTER TABLE log ADD COLUMN item TEXT;
                    CREATE TABLE grant_count (
                        record_id TEXT NOT NULL, organisation TEXT NOT NULL, count INTEGER NOT NULL,
                        PRIMARY KEY (record_id, organisation)
                    ) STRICT, WITHOUT ROWID;
                    DROP INDEX IF EXISTS record_last_seq;
                    DROP INDEX IF EXISTS log_record;
                    DROP INDEX IF EXISTS reference_source;
                    DROP INDEX IF EXISTS unique_value_record;
                    """)
            let records = try Row.fetchCursor(db, sql: "SELECT * FROM record")
            let keep = try db.makeStatement(sql: "UPDATE record SET state = ?, values_json = ? WHERE id = ?")
            while let row = try records.next() {
                let kept = RecordForm.encode(try record(row).fields)
                try keep.execute(arguments: [kept.state, kept.values, row["id"] as String])
            }
            let entries = try Row.fetchCursor(db, sql: "SELECT seq, entry FROM log")
            let item = try db.makeStatement(sql: "UPDATE log SET item = ? WHERE seq = ?")
            while let row = try entries.next() {
                // An entry that does not parse (a tampered store, which `verify` names) has none.
                guard let logged = try? LogEntry(json: JSONValue.parse(row["entry"] as String)),
                    let rendered = DerivedForms.item(of: logged)
                else { continue }
                try item.execute(arguments: [rendered.serialized(), row["seq"] as Int64])
            }
            guard let schema = try storedSchema(db: db) else { return }
            try countGrants(schema: addingBundledConstraints(to: schema) ?? schema, db: db)
        }
        migrator.registerMigration("v6-personal") { db in
            // Personal values beside the history (SPEC §8, docs/audit.md "Personal data"): the
            // openings of the commitments entries hold, by commitment, found by entry (pulls, the
            // history) and by record (an erasure deletes them). Entries made before hold their
            // values in plain, inside the chain: `sealed_since` is where they end.
            try db.execute(
                sql: """
                    CREATE TABLE personal_value (
                        commitment TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL, tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL, salt TEXT NOT NULL, value TEXT NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX personal_value_seq ON personal_value(seq);
                    CREATE INDEX personal_value_record ON personal_value(record_id);
                    INSERT INTO server_meta(key, value)
                        SELECT 'sealed_since', CAST(coalesce(max(seq), 0) AS TEXT) FROM log;
                    -- An auditor's token issued with --personal receives personal values.
                    ALTER TABLE token ADD COLUMN personal INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v7-feed") { db in
            // The pull feed (docs/visibility.md "The pull feed"): per organisation, the entries its
            // members may have to receive, so that a member's pull reads its own entries instead
            // of scanning everyone's. Entries made before go in the feeds of those who may read
            // them now: the same entries a pull sent them before.
            try db.execute(sql: feedTable)
            guard let schema = try storedSchema(db: db) else { return }
            let open = jsonArray(schema.tables.filter { !Visibility.isRestricted($0) }.map(\.name))
            let hidden = jsonArray(SchemaRegistry.pseudoTables)
            try db.execute(
                sql:
                    "INSERT INTO pull_feed(organisation, seq) SELECT ?, seq FROM log WHERE tbl IN (SELECT value FROM json_each(?))",
                arguments: [FeedRow.everyone, open])
            let restricted =
                "l.tbl NOT IN (SELECT value FROM json_each(?)) AND l.tbl NOT IN (SELECT value FROM json_each(?))"
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO pull_feed(organisation, seq)
                        SELECT v.organisation, l.seq FROM log l JOIN visibility v ON v.record_id = l.record_id
                        WHERE \(restricted)
                    """, arguments: [open, hidden])
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO pull_feed(organisation, seq)
                        SELECT json_extract(l.entry, '$.author.organisation'), l.seq FROM log l
                        LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
                        WHERE r.id IS NULL AND json_extract(l.entry, '$.author.organisation') IS NOT NULL AND \(restricted)
                    """, arguments: [open, hidden])
        }
        migrator.registerMigration("v8-reference-count") { db in
            // References kept as rows only where the merge asks which records refer to one, counted
            // everywhere else (``ReferenceIndex``, docs/merge.md "References"): an exchange's home
            // and host no longer write a row each.
            try db.execute(
                sql: """
                    CREATE TABLE reference_count (
                        target TEXT PRIMARY KEY NOT NULL, count INTEGER NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    """)
            guard let schema = try storedSchema(db: db) else { return }
            try indexReferences(schema: schema, db: db)
        }
        return migrator
    }()

    /// Per organisation, the entries its members may have to receive (``FeedRow``), by seq,
    /// and where each gained sight of a record whose earlier entries are not in it.
    static let feedTable = """
        CREATE TABLE pull_feed (
            organisation TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (organisation, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE feed_gap (
            organisation TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (organisation, seq)
        ) STRICT, WITHOUT ROWID;
        """

    /// Indexes the references of every live record again, as `schema` keeps them
    /// (``ReferenceIndex``): a store made before `reference_count`, or one installing a schema
    /// whose rules group by other fields.
    static func indexReferences(schema: Schema, db: Database) throws {
        try db.execute(sql: "DELETE FROM reference; DELETE FROM reference_count")
        let index = ReferenceIndex(schema: schema)
        let tables = schema.tables.filter { $0.fields.contains { $0.type == .ref } }.map(\.name)
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT \(recordColumns) FROM record WHERE deleted = 0 AND tbl IN (SELECT value FROM json_each(?))",
            arguments: [jsonArray(tables)])
        var page: [RecordState] = []
        while let row = try rows.next() {
            page.append(try currentRecord(row))
            guard page.count == ServerCore.verificationPage else { continue }
            try write(index.writes(indexing: page, in: schema), db: db)
            page = []
        }
        try write(index.writes(indexing: page, in: schema), db: db)
    }

    /// Counts the grants of sight of every live record whose grants are not withdrawn (a store
    /// made before counted grants).
    static func countGrants(schema: Schema, db: Database) throws {
        var counts: [String: [String: Int]] = [:]
        for table in schema.tables where Visibility.grantsSight(table) {
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT * FROM record WHERE tbl = ? AND deleted = 0
                        AND id NOT IN (SELECT record_id FROM withdrawn_grant)
                    """, arguments: [table.name])
            while let row = try rows.next() {
                let record = try record(row)
                for grant in Visibility.grants(in: schema, table: table, id: record.id, values: record.values) {
                    counts[grant.person, default: [:]][grant.organisation, default: 0] += 1
                }
            }
        }
        var writes = BatchWrites()
        writes.grantDeltas = counts
        try write(writes, db: db)
    }

    /// The store's schema (nil in a store being created).
    static func storedSchema(db: Database) throws -> Schema? {
        try String.fetchOne(db, sql: "SELECT value FROM server_meta WHERE key = 'schema'").map { text in
            try Schema.decode(Array(text.utf8))
        }
    }

    /// The records whose grants of sight are withdrawn (docs/visibility.md), made by `v4-grants`
    /// — or by `v2` for a store that works its grants out before `v4-grants` runs.
    static let withdrawnGrantTable =
        "CREATE TABLE IF NOT EXISTS withdrawn_grant (record_id TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL) STRICT"

    static let signingKeyName = "signing_key"

    /// The store's key, made (and registered as entry 1 of the history, or the next entry of a
    /// store made before keys existed) when there is none yet.
    static func serverKey(db: Database, now: Int64) throws -> SigningKey {
        if let text = try String.fetchOne(
            db, sql: "SELECT value FROM server_meta WHERE key = ?", arguments: [signingKeyName])
        {
            return try SigningKey(privateKeyBase64: text)
        }
        let key = SigningKey()
        try db.execute(
            sql: "INSERT INTO server_meta(key, value) VALUES (?, ?)", arguments: [signingKeyName, key.privateKeyBase64])
        _ = try perform(
            DeviceWork(
                DeviceRegistry.serverDevice, publicKey: key.publicKey, organisation: nil, role: .server, now: now,
                serverKey: key), db: db)
        return key
    }

    // MARK: - Running work

    func writeSync<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            defer { checkpointer?.committed() }
            return try writer.write { db in
                try refreshSchema(db)
                return try body(db)
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.storage, "the store failed: \(error)")
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            defer { checkpointer?.committed() }
            return try await writer.write { db in
                try self.refreshSchema(db)
                return try body(db)
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.storage, "the store failed: \(error)")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await read(on: writer, body)
    }

    /// A short read (a pull page's, a token's) on a connection of its own, taken in turn: a read
    /// through the pool hops to the pool's semaphore queue, then to a reader's queue; this one
    /// goes straight to its connection's queue and back. Long reads (history, digests, verify)
    /// stay on the pool, so that they never hold up these.
    func quickRead<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await read(quick: true, body)
    }

    /// The quick readers, opened the first time (none for a store not in a file).
    private func openQuickReaders() -> [DatabaseQueue] {
        quickReaders.withLock { readers in
            if let readers { return readers }
            var opened: [DatabaseQueue] = []
            if let pool = writer as? DatabasePool {
                for _ in 0..<max(2, ProcessInfo.processInfo.activeProcessorCount) {
                    if let reader = Self.readOnlyConnection(to: pool) { opened.append(reader) }
                }
            }
            readers = opened
            return opened
        }
    }

    /// A quick read (``quickRead(_:)``) when `quick`, else a read through the pool.
    ///
    /// On a request's event loop (``EventLoopPinnedChannel``) it reads the loop's own connection
    /// right there, on the loop's thread: no hop to another thread and back (−14 % of the
    /// server's CPU a request under the load test, docs/benchmarks.md). Elsewhere it runs on a
    /// quick reader's queue, not on the calling thread: read synchronously on a Swift
    /// concurrency thread, it cost more CPU a request and a longer tail (each read blocked one of
    /// the few threads every request needs).
    func read<T: Sendable>(quick: Bool, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if quick, let reader = loopReader() {
            // On a request's event loop: its own connection, read right here (no other thread
            // ever uses it, so GRDB's queue runs the read on this thread).
            return try await storeFailures { try reader.unsafeRead { db in try self.quickTransaction(db, body) } }
        }
        let readers = quick ? openQuickReaders() : []
        guard !readers.isEmpty else { return try await read(body) }
        let turn = quickReaderTurn.wrappingAdd(1, ordering: .relaxed).oldValue
        let reader = readers[Int(UInt(bitPattern: turn) % UInt(readers.count))]
        return try await storeFailures { try await reader.unsafeRead { db in try self.quickTransaction(db, body) } }
    }

    /// One read transaction, begun and ended with statements prepared once: GRDB's `read`
    /// prepares its `BEGIN` and `COMMIT` again at every read, 4–5 % of a no-op pull's CPU.
    private func quickTransaction<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN DEFERRED").execute()
        do {
            try refreshSchema(db)
            let value = try body(db)
            try db.cachedStatement(sql: "COMMIT").execute()
            return value
        } catch {
            try? db.cachedStatement(sql: "ROLLBACK").execute()
            throw error
        }
    }

    /// The read-only connection of the event loop whose thread this is (opened the first time),
    /// or nil off a loop and for a store not in a file.
    private func loopReader() -> DatabaseQueue? {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop, let pool = writer as? DatabasePool else {
            return nil
        }
        return loopReaders.withLock { readers in
            if let reader = readers[ObjectIdentifier(loop)] { return reader }
            guard let reader = Self.readOnlyConnection(to: pool) else { return nil }
            readers[ObjectIdentifier(loop)] = reader
            return reader
        }
    }

    /// A read-only connection of its own to `pool`'s file, or nil when it cannot be opened (the
    /// caller reads through the pool instead).
    private static func readOnlyConnection(to pool: DatabasePool) -> DatabaseQueue? {
        var configuration = configuration()
        configuration.readonly = true
        return try? DatabaseQueue(path: pool.path, configuration: configuration)
    }

    /// `work`, with any failure but a ``ServerError`` reported as the store's (`storage`).
    private func storeFailures<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.storage, "the store failed: \(error)")
        }
    }

    private func read<T: Sendable>(on reader: any DatabaseReader, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        try await storeFailures {
            try await reader.read { db in
                try self.refreshSchema(db)
                return try body(db)
            }
        }
    }
}
