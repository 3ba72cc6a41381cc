import Foundation
import GRDB
import TandemProtocol
import TandemSQLite

extension Replica {
    /// Applies one page of the server's log in one transaction, then moves the cursor to
    /// `page.next`.
    ///
    /// For each item: the record's server version goes to `tandem_record`; its row is written
    /// from the server's state (every schema field, absent ones NULL) or deleted; its log entry
    /// goes to `tandem_history`; and the changes still in the outbox for it are laid over the row
    /// again (``SyncRules/rebase(server:pending:)``), so local reads keep showing the user's own
    /// edits until the server has them. The outbox is frozen first, so that every pending value
    /// lives in the outbox and rows can be rewritten freely. The device clock takes in the
    /// page's latest clock (``SyncRules/latestClock(in:)``), so an edit made after seeing
    /// another's is stamped later than it, even when this device's wall clock lags.
    ///
    /// The openings beside the page (`values`, SPEC §8) are kept under the record of the entry
    /// that holds each commitment; an erasure (an entry whose op is `erase`) removes every copy
    /// of the record's personal values (``applyErasure(of:in:db:)``), and once the page is
    /// written the WAL is emptied into the file (``checkpointAfterErasure()``).
    ///
    /// - Parameter since: the cursor the page was asked from.
    /// - Returns: false when the cursor is no longer `since` (another process pulled meanwhile):
    ///   nothing was written, and the caller should continue from the current cursor.
    @discardableResult
    func applyPullPage(_ page: PulledPage, since: Int64) throws(ReplicaError) -> Bool {
        let (applied, erased) = try write { db -> (Bool, Bool) in
            guard try Self.cursor(in: db) == since else { return (false, false) }
            // A page dirties more B-tree pages than SQLite's default 2 MiB cache holds: they were
            // spilled to the WAL and read back, half the pull's system time. 16 MiB holds a page's.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            try freezeOutbox(in: db)
            var writer = RowWriter()
            var pending = try pendingEdits(of: page.items, db: db)
            var erased = false
            for item in page.items {
                if item.isVisible, let entry = item.entry, entry.op == .erase {
                    try applyErasure(of: item.recordID, in: item.table, db: db)
                    // Its pending edits left the outbox: later items of the record rebase none.
                    pending[item.recordID] = nil
                    try apply(item, pending: [], db: db, writer: &writer)
                    erased = true
                    continue
                }
                try apply(item, pending: pending[item.recordID] ?? [], db: db, writer: &writer)
                if !page.values.isEmpty { try keepOpenings(page.values, of: item, db: db) }
            }
            if let remote = SyncRules.latestClock(in: page.items) {
                let local = try currentHLC(in: db)
                if local < remote {
                    try Setting.hlc.write(local.receiving(remote, now: try correctedNow(in: db)).description, in: db)
                }
                if try Setting.seenClock.read(in: db).flatMap(HLC.init).map({ $0 < remote }) ?? true {
                    try Setting.seenClock.write(remote.description, in: db)
                }
            }
            if let checkpoint = page.checkpoint, checkpoint.seq == page.next {
                try keep(checkpoint, in: db)
                // The key incoming bundles must be signed with (docs/sync.md, Bundles).
                if try Setting.serverKey.read(in: db) == nil {
                    try Setting.serverKey.write(checkpoint.publicKey, in: db)
                }
            }
            try Setting.cursor.write(String(max(page.next, since)), in: db)
            return (true, erased)
        }
        if erased { try checkpointAfterErasure() }
        return applied
    }

    /// Keeps the openings among `values` of the commitments the item's entry holds, under its
    /// record (not for a record erased already: nothing of its values is kept any more).
    private func keepOpenings(_ values: Openings, of item: PulledItem, db: Database) throws {
        guard item.isVisible, let entry = item.entry, try !Self.isErased(item.recordID, db: db) else { return }
        var held: [String] = []
        for text in [entry.fields, entry.outcome] where text.contains(Commitment.member) {
            held += Sealing.commitments(in: try JSONValue.parse(text))
        }
        try Self.keep(values, of: (item.table, item.recordID), holding: held, db: db)
    }

    /// The changes still in the outbox for the page's records, by record, in edit order: one
    /// read a page.
    private func pendingEdits(of items: [PulledItem], db: Database) throws -> [String: [SyncRules.PendingEdit]] {
        let ids = JSONValue.array(Set(items.map(\.recordID)).map(JSONValue.string)).serialized()
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT \(OutboxRow.columns) FROM tandem_outbox
                    WHERE record_id IN (SELECT value FROM json_each(?)) ORDER BY seq
                    """), arguments: [ids]
        ).map(OutboxRow.init)
        var pending: [String: [SyncRules.PendingEdit]] = [:]
        for row in rows {
            pending[row.recordID, default: []].append(SyncRules.PendingEdit(op: row.op, fields: row.fields ?? [:]))
        }
        return pending
    }

    /// The entry's `author`, `fields` and `outcome` are stored as the server sent them
    /// (``PulledEntry``): text a conforming server renders as `json.serialized()` does.
    private func apply(
        _ item: PulledItem, pending: [SyncRules.PendingEdit], db: Database, writer: inout RowWriter
    ) throws {
        guard item.isVisible else { return try remove(item, pending: pending, db: db, writer: &writer) }
        let record = try db.cachedStatement(
            sql: """
                INSERT INTO tandem_record(id, tbl, version) VALUES (?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET tbl = excluded.tbl, version = excluded.version
                """)
        let key: [DatabaseValue] = [item.recordID.databaseValue, item.table.databaseValue, item.version.databaseValue]
        try record.execute(binding: key)
        if let entry = item.entry {
            let history = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO tandem_history
                        (seq, tbl, record_id, version, time, author, op, fields, outcome, change_id, hlc, base_version,
                         device, signature)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let arguments: [DatabaseValue] = [
                item.seq.databaseValue, item.table.databaseValue, item.recordID.databaseValue,
                entry.version.databaseValue, entry.time.databaseValue, entry.author.databaseValue,
                entry.op.rawValue.databaseValue, entry.fields.databaseValue, entry.outcome.databaseValue,
                entry.changeID.databaseValue, entry.hlc.databaseValue, entry.baseVersion.databaseValue,
                entry.device.databaseValue, entry.signature.databaseValue,
            ]
            try history.execute(binding: arguments)
        }
        // A table this replica's schema does not have (a newer server): history only.
        guard let table = try? schema.table(named: item.table) else { return }
        let server = item.isDeleted ? nil : item.record
        let values = SyncRules.rebase(server: server, pending: pending)
        try writer.write(values, id: item.recordID, in: table, isServerState: pending.isEmpty, db: db)
    }
}

extension Replica {
    /// A record that stopped being visible to this replica's organisation leaves it (this is not
    /// a delete: the server still has it): its row, its server version, its pulled history and
    /// its cached conflicts and the personal values it held go. Changes still in the outbox for it stay and are pushed as usual —
    /// the server answers them (typically `not_permitted`, listed by `tandem status`), so nothing
    /// the user typed is lost; meanwhile the row shows only what they make by themselves (a
    /// pending insert), as the rebase on no server state does (docs/visibility.md).
    fileprivate func remove(
        _ item: PulledItem, pending: [SyncRules.PendingEdit], db: Database, writer: inout RowWriter
    ) throws {
        for table in ["tandem_record", "tandem_history", "tandem_conflict", "tandem_personal_value"] {
            let column = table == "tandem_record" ? "id" : "record_id"
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(column) = ?").execute(arguments: [item.recordID])
        }
        guard let table = try? schema.table(named: item.table) else { return }
        let values = SyncRules.rebase(server: nil, pending: pending)
        try writer.write(values, id: item.recordID, in: table, isServerState: pending.isEmpty, db: db)
    }
}

/// Writes rows as the pull settles them: an upsert of every field, or a delete.
///
/// Unique values can collide for a moment: a row pulled early may take a value that another
/// row still holds locally because that row's own item comes later in the log, or because a
/// pending edit gave it the value (the server will reject that edit: `unique:FIELD`). The
/// server's state wins: a pure server row takes the value and the other row's field is set to
/// NULL (its own item, or the rejection's, corrects it); a row showing pending edits leaves the
/// colliding field NULL (the outbox still holds the value the user typed).
struct RowWriter {
    private var upserts: [String: String] = [:]

    mutating func write(
        _ values: [String: JSONValue]?, id: String, in table: TableSchema, isServerState: Bool, db: Database
    ) throws {
        let name = table.name.quotedIdentifier
        guard let values else {
            try db.cachedStatement(sql: "DELETE FROM \(name) WHERE id = ?").execute(arguments: [id])
            return
        }
        var fields = table.fields.map { field -> FieldValue in
            guard let json = values[field.name] else { return .null }
            return (try? FieldValue(json: json, for: field, in: table.name)) ?? .null
        }
        let sql = upsert(for: table)
        for attempt in 0..<2 {
            do {
                // Asked for on each attempt: GRDB drops a statement that failed from its cache.
                let statement = try db.cachedStatement(sql: sql)
                var arguments: [DatabaseValue] = []
                arguments.reserveCapacity(fields.count + 1)
                arguments.append(id.databaseValue)
                for field in fields { arguments.append(field.databaseValue) }
                try statement.execute(binding: arguments)
                return
            } catch let error as DatabaseError
                where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE && attempt == 0
            {
                for (position, field) in table.fields.enumerated() where field.isUnique && !fields[position].isNull {
                    let column = field.name.quotedIdentifier
                    let holder = try String.fetchOne(
                        db, sql: "SELECT id FROM \(name) WHERE \(column) = ? AND id != ? LIMIT 1",
                        arguments: [fields[position].databaseValue, id])
                    guard holder != nil else { continue }
                    if isServerState {
                        try db.execute(
                            sql: "UPDATE \(name) SET \(column) = NULL WHERE \(column) = ? AND id != ?",
                            arguments: [fields[position].databaseValue, id])
                    } else {
                        fields[position] = .null
                    }
                }
            }
        }
    }

    private mutating func upsert(for table: TableSchema) -> String {
        if let sql = upserts[table.name] { return sql }
        let columns = ["id"] + table.fields.map(\.name.quotedIdentifier)
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = table.fields.map { "\($0.name.quotedIdentifier) = excluded.\($0.name.quotedIdentifier)" }
        var sql = "INSERT INTO \(table.name.quotedIdentifier) (\(columns.joined(separator: ", "))) VALUES (\(marks))"
        sql +=
            updates.isEmpty
            ? " ON CONFLICT(id) DO NOTHING" : " ON CONFLICT(id) DO UPDATE SET " + updates.joined(separator: ", ")
        upserts[table.name] = sql
        return sql
    }
}

extension Replica {
    /// Forgets what was pulled, keeping the rows that pending changes touch: every other record,
    /// the server versions, the pulled history, the cursor (for `sync --resync`).
    func forgetPulledState() throws(ReplicaError) {
        try write { db in try forgetPulledState(in: db) }
    }

    func forgetPulledState(in db: Database) throws {
        try freezeOutbox(in: db)
        for table in schema.tables {
            try db.execute(
                sql: "DELETE FROM \(table.name.quotedIdentifier) WHERE id NOT IN (SELECT record_id FROM tandem_outbox)")
        }
        try db.execute(sql: "DELETE FROM tandem_record; DELETE FROM tandem_history")
        try Setting.cursor.write("0", in: db)
    }

    /// Records the end of a successful sync.
    func recordSync(at milliseconds: Int64) throws(ReplicaError) {
        try write { db in try Setting.lastSync.write(Self.timestamp(milliseconds), in: db) }
    }
}
