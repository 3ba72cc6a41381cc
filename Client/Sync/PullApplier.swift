import Foundation
import GRDB
import TandemProtocol
import TandemSQLite

/// Applies the pages a pull fetches (`GET /v1/pull`) and the pages an incoming bundle carries to
/// the replica: rows, server versions, pulled history, the openings beside them, erasures, and
/// the cursor.
///
/// ```swift
/// guard try replica.pulls.apply(page, since: cursor) else { /* another process pulled */ }
/// ```
struct PullApplier: ReplicaPart {
    let replica: Replica

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
    /// of the record's personal values (``Replica/applyErasure(of:in:db:)``), and once the page is
    /// written the WAL is emptied into the file (``Replica/checkpointAfterErasure()``).
    ///
    /// Pages can follow the first one in the same transaction (`following`): each commit rewrites
    /// every leaf its inserts touched of the B-trees keyed by record id (the record table's,
    /// `tandem_record`), and ids arrive in no order, so fewer, larger commits write less. The
    /// cursor moves with each page as if it had been committed alone.
    ///
    /// - Parameters:
    ///   - since: the cursor the page was asked from.
    ///   - following: called in the transaction after each page is written, with that page: the
    ///     next page and the cursor it was asked from, to be written in the same transaction, or
    ///     nil to commit. It must not wait for the network (the write lock is held).
    /// - Returns: false when the cursor is no longer `since` (another process pulled meanwhile):
    ///   nothing was written, and the caller should continue from the current cursor.
    @discardableResult
    func apply(
        _ page: consuming PulledPage, since: Int64,
        following: (PulledPage) throws(ReplicaError) -> (page: PulledPage, since: Int64)? = { _ in nil }
    ) throws(ReplicaError) -> Bool {
        // Each page is held only until the next one takes its place: in memory, the page being
        // written and the one being fetched, as with a transaction a page.
        var first: PulledPage? = consume page
        let (applied, erased) = try write { db -> (Bool, Bool) in
            guard try Replica.cursor(in: db) == since, let page = first.take() else { return (false, false) }
            var current = (page: page, since: since)
            var erased = false
            while true {
                erased = try writePage(current.page, since: current.since, db: db) || erased
                guard let next = try following(current.page) else { break }
                current = next
            }
            return (true, erased)
        }
        if erased { try replica.checkpointAfterErasure() }
        return applied
    }

    /// Writes one page in the caller's transaction and moves the cursor to `page.next`. Returns
    /// whether the page erased a record.
    private func writePage(_ page: PulledPage, since: Int64, db: Database) throws -> Bool {
        // A page dirties more B-tree pages than SQLite's default 2 MiB cache holds: they were
        // spilled to the WAL and read back, half the pull's system time. 16 MiB holds a page's.
        try db.execute(sql: "PRAGMA cache_size = -16384")
        try replica.freezeOutbox(in: db)
        try HistoryRecordIndex.prepare(for: page, since: since, db: db)
        var writer = RowWriter()
        let statements = try Statements(db)
        var pending = try pendingEdits(of: page.items, db: db)
        var erased = false
        for item in page.items {
            if item.isVisible, let entry = item.entry, entry.op == .erase {
                try replica.applyErasure(of: item.recordID, in: item.table, db: db)
                // Its pending edits left the outbox: later items of the record rebase none.
                pending[item.recordID] = nil
                try apply(item, pending: [], db: db, statements: statements, writer: &writer)
                erased = true
                continue
            }
            try apply(
                item, pending: pending[item.recordID] ?? [], db: db, statements: statements, writer: &writer)
            if !page.values.isEmpty { try keepOpenings(page.values, of: item, db: db) }
        }
        if let remote = SyncRules.latestClock(in: page.items) {
            let local = try replica.currentHLC(in: db)
            if local < remote {
                try Setting.hlc.write(
                    local.receiving(remote, now: try replica.correctedNow(in: db)).description, in: db)
            }
            if try Setting.seenClock.read(in: db).flatMap(HLC.init).map({ $0 < remote }) ?? true {
                try Setting.seenClock.write(remote.description, in: db)
            }
        }
        if let checkpoint = page.checkpoint, checkpoint.seq == page.next {
            try replica.keep(checkpoint, in: db)
            // The key incoming bundles must be signed with (docs/sync.md, Bundles).
            if try Setting.serverKey.read(in: db) == nil {
                try Setting.serverKey.write(checkpoint.publicKey, in: db)
            }
        }
        try Setting.cursor.write(String(max(page.next, since)), in: db)
        return erased
    }

    /// Keeps the openings among `values` of the commitments the item's entry holds, under its
    /// record (not for a record erased already: nothing of its values is kept any more).
    private func keepOpenings(_ values: Openings, of item: PulledItem, db: Database) throws {
        guard item.isVisible, let entry = item.entry, try !Replica.isErased(item.recordID, db: db) else { return }
        var held: [String] = []
        for text in [entry.fields, entry.outcome] where text.contains(Commitment.member) {
            held += Sealing.commitments(in: try JSONValue.parse(text))
        }
        try Replica.keep(values, of: (item.table, item.recordID), holding: held, db: db)
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
        _ item: PulledItem, pending: [SyncRules.PendingEdit], db: Database, statements: Statements,
        writer: inout RowWriter
    ) throws {
        guard item.isVisible else { return try remove(item, pending: pending, db: db, writer: &writer) }
        let key: [DatabaseValue] = [item.recordID.databaseValue, item.table.databaseValue, item.version.databaseValue]
        try statements.record.execute(binding: key)
        if let entry = item.entry {
            let arguments: [DatabaseValue] = [
                item.seq.databaseValue, item.table.databaseValue, item.recordID.databaseValue,
                entry.version.databaseValue, entry.time.databaseValue, entry.author.databaseValue,
                entry.op.rawValue.databaseValue, entry.fields.databaseValue, entry.outcome.databaseValue,
                entry.changeID.databaseValue, entry.hlc.databaseValue, entry.baseVersion.databaseValue,
                entry.device.databaseValue, entry.signature.databaseValue,
            ]
            try statements.history.execute(binding: arguments)
        }
        // A table this replica's schema does not have (a newer server): history only.
        guard let table = writer.table(named: item.table, in: schema) else { return }
        let server = item.isDeleted ? nil : item.record
        // With nothing pending the server's state is the row (null fields are written as NULL
        // either way): no copy of its values.
        let values = pending.isEmpty ? server : SyncRules.rebase(server: server, pending: pending)
        try writer.write(values, id: item.recordID, in: table, isServerState: pending.isEmpty, db: db)
    }

    /// An item's server version and log entry, prepared once a page.
    private struct Statements {
        let record: Statement
        let history: Statement

        init(_ db: Database) throws {
            record = try db.cachedStatement(
                sql: """
                    INSERT INTO tandem_record(id, tbl, version) VALUES (?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET tbl = excluded.tbl, version = excluded.version
                    """)
            history = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO tandem_history
                        (seq, tbl, record_id, version, time, author, op, fields, outcome, change_id, hlc, base_version,
                         device, signature)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
        }
    }

    /// A record that stopped being visible to this replica's organisation leaves it (this is not
    /// a delete: the server still has it): its row, its server version, its pulled history and
    /// its cached conflicts and the personal values it held go. Changes still in the outbox for it stay and are pushed as usual —
    /// the server answers them (typically `not_permitted`, listed by `tandem status`), so nothing
    /// the user typed is lost; meanwhile the row shows only what they make by themselves (a
    /// pending insert), as the rebase on no server state does (docs/visibility.md).
    private func remove(
        _ item: PulledItem, pending: [SyncRules.PendingEdit], db: Database, writer: inout RowWriter
    ) throws {
        for table in ["tandem_record", "tandem_history", "tandem_conflict", "tandem_personal_value"] {
            let column = table == "tandem_record" ? "id" : "record_id"
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(column) = ?").execute(arguments: [item.recordID])
        }
        guard let table = writer.table(named: item.table, in: schema) else { return }
        let values = SyncRules.rebase(server: nil, pending: pending)
        try writer.write(values, id: item.recordID, in: table, isServerState: pending.isEmpty, db: db)
    }
}

extension Replica {
    /// What applies pulled pages to this replica.
    var pulls: PullApplier { PullApplier(replica: self) }
}
