import GRDB
import TandemProtocol

/// Erasure on the replica's side (SPEC §8, `tandem erase`): what an erasure pulled (or brought by
/// a bundle, or an audit pull) removes, and the edits an erased record refuses.
extension Replica {
    /// Whether the record's personal data was erased (as far as this replica has pulled).
    static func isErased(_ id: String, db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT erased FROM tandem_record WHERE id = ?"), arguments: [id]) ?? false
    }

    /// Refuses an edit of an erased record (`set`, `rm`, `retry`): the server would reject it
    /// `erased`.
    static func refuseErased(_ id: String, table: TableSchema, db: Database) throws {
        guard try isErased(id, db: db) else { return }
        throw ReplicaError(
            .invalidData,
            "\(table.name) \(id): its personal data was erased (tandem erase); it can no longer be edited (erased)")
    }

    /// An erasure pulled (or brought by a bundle): the record is marked erased and every other
    /// copy of its personal values in the replica goes — the openings (the replica's and its
    /// audit store's), the cached conflicts, the personal values of refused changes; its pending
    /// edits leave the outbox for the refused changes (reason `erased`: the server would refuse
    /// them), without their personal values; changes carried for it from bundles are dropped;
    /// plain values that entries from before commitments left in its pulled history and its
    /// acknowledged changes become null.
    /// The row itself is written from the item (its personal fields null). The caller
    /// checkpoints the WAL once the transaction is committed (``checkpointAfterErasure()``).
    func applyErasure(of recordID: String, in tableName: String, db: Database) throws {
        try db.execute(sql: "UPDATE tandem_record SET erased = 1 WHERE id = ?", arguments: [recordID])
        for table in ["tandem_personal_value", "tandem_audit_value", "tandem_conflict"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE record_id = ?", arguments: [recordID])
        }
        let personal = schema.personalFields(of: tableName)
        let pending = try Row.fetchAll(
            db, sql: "SELECT \(OutboxRow.columns) FROM tandem_outbox WHERE record_id = ? ORDER BY seq",
            arguments: [recordID]
        ).map(OutboxRow.init)
        var ids = UUIDv7Generator()
        let now = clock.now()
        for row in pending {
            var change = row.change(device: device)
            if change.changeID.isEmpty { change.changeID = ids.next(milliseconds: now) }
            change.fields = change.fields.filter { !personal.contains($0.key) }
            try db.execute(
                sql: """
                    INSERT INTO tandem_rejected(change_id, tbl, record_id, reason, change) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(change_id) DO UPDATE SET reason = excluded.reason, change = excluded.change
                    """,
                arguments: [
                    change.changeID, change.table, change.recordID, RejectionReason.erased.rawValue,
                    change.json.serialized(),
                ])
        }
        try db.execute(sql: "DELETE FROM tandem_outbox WHERE record_id = ?", arguments: [recordID])
        for row in try Row.fetchAll(
            db, sql: "SELECT change_id, change FROM tandem_rejected WHERE record_id = ? AND change IS NOT NULL",
            arguments: [recordID])
        {
            guard var change = try? Change(json: JSONValue.parse(row["change"] as String)) else { continue }
            change.fields = change.fields.filter { !personal.contains($0.key) }
            try db.execute(
                sql: "UPDATE tandem_rejected SET change = ? WHERE change_id = ?",
                arguments: [change.json.serialized(), row["change_id"] as String])
        }
        try db.execute(
            sql: "DELETE FROM tandem_carried WHERE json_extract(change, '$.record_id') = ?", arguments: [recordID])
        try dropPlainValues(of: recordID, personal: personal, db: db)
    }

    /// Entries pulled from a server from before personal data was committed to hold plain
    /// values: the replica's copies of them (`tandem_history`, and its own changes kept as
    /// signed in `tandem_acknowledged`) lose them — null in their place. The audit store keeps its
    /// lines whole: they are the chain, which the server's answer counts as `unerasable`.
    private func dropPlainValues(of recordID: String, personal: Set<String>, db: Database) throws {
        guard !personal.isEmpty else { return }
        for row in try Row.fetchAll(
            db, sql: "SELECT seq, fields, outcome FROM tandem_history WHERE record_id = ?", arguments: [recordID])
        {
            let before = (row["fields"] as String, row["outcome"] as String)
            guard let fields = try? JSONValue.parse(before.0), let outcome = try? JSONValue.parse(before.1) else {
                continue
            }
            let after = (
                Sealing.withoutPlainValues(fields, personal: personal).serialized(),
                Sealing.withoutPlainValues(inOutcome: outcome, personal: personal).serialized()
            )
            guard after != before else { continue }
            try db.execute(
                sql: "UPDATE tandem_history SET fields = ?, outcome = ? WHERE seq = ?",
                arguments: [after.0, after.1, row["seq"] as Int64])
        }
        for row in try Row.fetchAll(
            db, sql: "SELECT change_id, change FROM tandem_acknowledged WHERE record_id = ?", arguments: [recordID])
        {
            guard var change = try? Change(json: JSONValue.parse(row["change"] as String)) else { continue }
            let before = change.fields
            let after = Sealing.withoutPlainValues(
                .object(before.map { JSONMember($0.key, $0.value) }), personal: personal)
            guard case let .object(members) = after else { continue }
            change.fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            guard change.fields != before else { continue }
            try db.execute(
                sql: "UPDATE tandem_acknowledged SET change = ? WHERE change_id = ?",
                arguments: [change.json.serialized(), row["change_id"] as String])
        }
    }

    /// Empties the WAL into the file after an erasure, so that no byte of an erased value stays
    /// in it (the file's freed space is zeroed: `secure_delete`). A reader holding the WAL open
    /// (another process) can keep it from being emptied; the next erasure or a later checkpoint
    /// finishes the job.
    func checkpointAfterErasure() throws(ReplicaError) {
        do {
            try writer.writeWithoutTransaction { db in
                _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } catch {
            throw ReplicaError.from(error, path: path)
        }
    }
}
