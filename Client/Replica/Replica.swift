import Foundation
public import GRDB
public import TandemProtocol

/// An organisation's local replica: one SQLite file (WAL) holding one ordinary table per schema
/// table, plus Tandem's bookkeeping (`tandem_*` tables): settings, the outbox of changes not yet
/// pushed, the server versions of records.
///
/// The replica owns the file, its writer, the schema in force and the device's identity, and
/// reads records itself; each other job is a part it hands out (``ReplicaPart``):
/// ``editor`` edits records (every edit writes its row and its outbox entry in one transaction,
/// so no crash separates them), ``pulls`` applies pulled pages, ``conflicts`` is the conflict
/// cache, ``remote`` the server settings and ``audit`` the audit store.
///
/// ```swift
/// let replica = try Replica.create(at: path, schema: .partnership)
/// let round = try replica.editor.insert(into: "round", [Assignment("number", "5")])
/// let same = try replica.record(in: "round", id: round.id)
/// ```
public final class Replica: @unchecked Sendable {
    /// The file, or nil for an in-memory replica.
    public let path: String?
    /// The schema this replica holds (it moves to a newer version the server serves at a sync:
    /// ``adopt(_:)``).
    public var schema: Schema { lock.withLock { current.schema } }
    /// This replica's device id (the last part of its HLCs, and the `device` of its changes).
    public let device: String
    /// The device key's private bytes in base64 (`tandem_meta.device_key`); see ``deviceKey()``.
    let deviceKeyText: String
    let writer: any DatabaseWriter
    let clock: ReplicaClock
    private var current: (schema: Schema, statements: [String: TableSQL])
    private let lock = NSLock()

    /// The value of the `format` setting that marks a file as a Tandem replica.
    static let format = "tandem-replica/1"
    /// The page size of a replica file made by ``create(at:schema:clock:)``.
    static let pageSize = 16_384

    private init(
        path: String?, writer: any DatabaseWriter, schema: Schema, device: String, deviceKey: String,
        clock: ReplicaClock
    ) {
        self.path = path
        self.writer = writer
        self.device = device
        deviceKeyText = deviceKey
        self.clock = clock
        current = (schema, Self.statements(for: schema))
    }

    private static func statements(for schema: Schema) -> [String: TableSQL] {
        Dictionary(uniqueKeysWithValues: schema.tables.map { ($0.name, TableSQL($0)) })
    }

    /// Puts `schema` in force in this process (its tables already migrated).
    func replaceSchema(with schema: Schema) {
        let statements = Self.statements(for: schema)
        lock.withLock { current = (schema, statements) }
    }

    /// The prepared SQL texts of a table of this replica's schema.
    func sql(for table: TableSchema) -> TableSQL {
        lock.withLock { current.statements[table.name] } ?? TableSQL(table)
    }

    /// Creates a replica file at `path` (and its folder), readable by its owner only.
    ///
    /// - Throws: `cannotCreate` when something is already there or the place is not writable.
    public static func create(
        at path: String, schema: Schema = .partnership, clock: ReplicaClock = .system
    ) throws(ReplicaError) -> Replica {
        let files = FileManager.default
        if files.fileExists(atPath: path) {
            let kind = (try? open(at: path, clock: clock)) != nil ? "a Tandem replica" : "a file"
            throw ReplicaError(.cannotCreate, "\(path) already exists (\(kind)); not overwriting it")
        }
        let folder = (path as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty { try files.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        } catch {
            throw ReplicaError(.cannotCreate, "cannot create folder \(folder): \(Self.reason(error))")
        }
        // The replica holds personal data and, once synced, a token: owner-only from the start.
        // SQLite gives the -wal and -shm files the same mode.
        guard files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ReplicaError(.cannotCreate, "cannot create \(path): permission denied or no such folder")
        }
        do {
            var creating = configuration()
            // Before the first table: SQLite fixes the page size when it writes the file's first
            // page (a replica made earlier keeps its own). A bootstrap rewrites every leaf it
            // touches of the B-trees keyed by record id at each commit; with 16 KiB pages it makes
            // a quarter of the writes (a first pull of 100,000 records: half the system time).
            creating.prepareDatabase { db in try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)") }
            let writer = try DatabaseQueue(path: path, configuration: creating)
            return try create(in: writer, path: path, schema: schema, clock: clock)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? files.removeItem(atPath: path + suffix) }
            throw ReplicaError.from(error, path: path)
        }
    }

    /// Makes a new replica in `writer` (an empty database): Tandem's tables, the schema's tables,
    /// a device id and a device key (made by migration `v3`). Tests pass an in-memory `DatabaseQueue()`.
    public static func create(
        in writer: any DatabaseWriter, path: String? = nil, schema: Schema = .partnership, clock: ReplicaClock = .system
    ) throws(ReplicaError) -> Replica {
        var ids = UUIDv7Generator()
        let device = ids.next(milliseconds: clock.now())
        let deviceKey: String
        do {
            try migrator.migrate(writer)
            deviceKey = try writer.write { db in
                for table in schema.tables { try db.execute(sql: createTableSQL(for: table)) }
                let settings: [(Setting, String)] = [
                    (.format, format), (.schema, String(decoding: schema.encoded(), as: UTF8.self)),
                    (.device, device), (.createdAt, Self.timestamp(clock.now())),
                    (.hlc, HLC(milliseconds: 0, counter: 0, device: device).description),
                ]
                for (setting, value) in settings { try setting.write(value, in: db) }
                return try Setting.deviceKey.read(in: db) ?? ""
            }
        } catch {
            throw ReplicaError.from(error, path: path)
        }
        return Replica(path: path, writer: writer, schema: schema, device: device, deviceKey: deviceKey, clock: clock)
    }

    /// Opens the replica at `path`.
    ///
    /// - Throws: `notFound` when there is no file; `invalidData` when the file is not a Tandem
    ///   replica (another SQLite database, or not a database at all).
    public static func open(at path: String, clock: ReplicaClock = .system) throws(ReplicaError) -> Replica {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ReplicaError(.notFound, "no replica at \(path) (run `tandem init` to make one)")
        }
        guard !isFolder.boolValue else { throw ReplicaError(.invalidData, "\(path) is a folder, not a Tandem replica") }
        do {
            let writer = try DatabaseQueue(path: path, configuration: configuration())
            return try open(writer, path: path, clock: clock)
        } catch {
            throw ReplicaError.from(error, path: path)
        }
    }

    /// Opens an existing replica held by `writer`.
    public static func open(
        _ writer: any DatabaseWriter, path: String? = nil, clock: ReplicaClock = .system
    ) throws(ReplicaError) -> Replica {
        let place = path ?? "the database"
        do {
            let (settings, isMigrated, hasHistoryIndex) = try writer.read { db in
                guard try db.tableExists("tandem_meta") else {
                    throw ReplicaError(.invalidData, "\(place) is an SQLite database but not a Tandem replica")
                }
                return (
                    try Setting.readAll(in: db), try migrator.hasCompletedMigrations(db),
                    try HistoryRecordIndex.exists(in: db)
                )
            }
            guard settings[.format] == format, let schemaText = settings[.schema], let device = settings[.device] else {
                throw ReplicaError(.invalidData, "\(place) is not a Tandem replica of a format this tandem knows")
            }
            let schema: Schema
            do {
                schema = try Schema.decode(Array(schemaText.utf8))
            } catch {
                throw ReplicaError(.invalidData, "\(place): the stored schema is invalid: \(error.message)")
            }
            var deviceKey = settings[.deviceKey]
            if !isMigrated {
                try migrator.migrate(writer)
                deviceKey = try writer.read { db in try Setting.deviceKey.read(in: db) }
            } else if !hasHistoryIndex {
                // A first pull was cut short while the index was left out (HistoryRecordIndex).
                try writer.write { db in try HistoryRecordIndex.restore(in: db) }
            }
            return Replica(
                path: path, writer: writer, schema: schema, device: device, deviceKey: deviceKey ?? "", clock: clock)
        } catch {
            throw ReplicaError.from(error, path: path)
        }
    }

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = false
        configuration.prepareDatabase { db in
            // FULL: a committed edit survives power loss, not just a crash of the process.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Freed content is zeroed: an erased personal value (SPEC §8) leaves no byte of it in
            // the file's free space (the WAL is checkpointed after an erasure).
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return configuration
    }

    /// Runs `body` in one write transaction, turning every failure into a `ReplicaError`.
    func write<T>(_ body: (Database) throws -> T) throws(ReplicaError) -> T {
        do {
            return try writer.write(body)
        } catch {
            throw ReplicaError.from(error, path: path)
        }
    }

    /// Runs `body` in a read, turning every failure into a `ReplicaError`.
    func read<T>(_ body: (Database) throws -> T) throws(ReplicaError) -> T {
        do {
            return try writer.read(body)
        } catch {
            throw ReplicaError.from(error, path: path)
        }
    }

    /// The table called `name`, or `notFound` naming it.
    public func table(_ name: String) throws(ReplicaError) -> TableSchema {
        do {
            return try schema.table(named: name)
        } catch {
            throw ReplicaError(error)
        }
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }

    static func timestamp(_ milliseconds: Int64) -> String {
        Timestamp.string(milliseconds: milliseconds, withMilliseconds: false)
    }
}

/// The wall clock a replica reads, in milliseconds since the epoch; tests inject their own.
public struct ReplicaClock: Sendable {
    public var now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) { self.now = now }

    public static let system = ReplicaClock { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension Replica {
    /// Direct access to the database, for tests and tools inside this package: writes run in
    /// one transaction.
    package func withDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.write(body)
    }
}
