import GRDB
public import TandemProtocol
import TandemSQLite

/// The SQLite store as an adapter of the core (``StoreWork``): the facts a batch asks for, one
/// read a kind of fact, and its writes, one prepared statement a table, in the batch's one
/// write transaction.
extension SQLiteServerStore {
    /// Runs the work `make` builds (with the merge of the schema in force) in one write
    /// transaction, and returns it done.
    public func perform<Work: StoreWork>(_ make: @escaping @Sendable (Merge) -> Work) async throws -> Work {
        try await write { db in try Self.perform(make(self.merge), db: db, cache: self.records) }
    }

    static func perform<Work: StoreWork>(_ work: Work, db: Database, cache: RecordCache? = nil) throws -> Work {
        var work = work
        var request = try work.start(at: head(db: db))
        while let asked = request {
            request = try work.advance(with: facts(for: asked, db: db, cache: cache))
        }
        try write(work.writes, db: db)
        return work
    }

    /// The registered devices among `devices`.
    public func registrations(of devices: Set<String>) async throws -> [String: KnownDevice] {
        try await quickRead { db in
            var found: [String: KnownDevice] = [:]
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql:
                        "SELECT id, organisation, role, public_key FROM device WHERE id IN (SELECT value FROM json_each(?))"
                ),
                arguments: [Self.jsonArray(devices)])
            while let row = try rows.next() {
                found[row["id"]] = KnownDevice(
                    organisation: row["organisation"], role: Role(rawValue: row["role"]) ?? .member,
                    publicKey: row["public_key"])
            }
            return found
        }
    }

    static func head(db: Database) throws -> LogHead {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1"))
        else { return .empty }
        return LogHead(seq: row["seq"], hash: row["hash"] ?? LogEntry.genesisHash)
    }

    static func jsonArray(_ values: some Collection<String>) -> String {
        JSONValue.array(values.map(JSONValue.string)).serialized()
    }

    // MARK: - Facts

    /// - Parameter cache: records decoded before, reused while their last seq is the row's.
    static func facts(for request: FactRequest, db: Database, cache: RecordCache? = nil) throws -> Facts {
        var facts = Facts()
        facts.records.reserveCapacity(request.records.count)
        for id in request.records { facts.records.updateValue(nil, forKey: id) }
        if !request.records.isEmpty {
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT \(recordColumns), last_seq FROM record WHERE id IN (SELECT value FROM json_each(?))"),
                arguments: [jsonArray(request.records)])
            while let row = try rows.next() {
                let (id, lastSeq): (String, Int64) = (row[0], row[6])
                if let cached = cache?.record(id, lastSeq: lastSeq) {
                    facts.records[id] = cached
                } else {
                    let record = try currentRecord(row)
                    cache?.keep(record, lastSeq: lastSeq)
                    facts.records[id] = record
                }
            }
        }
        facts.readers.reserveCapacity(request.readers.count)
        for id in request.readers { facts.readers[id] = [] }
        if !request.readers.isEmpty {
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql:
                        "SELECT record_id, organisation FROM visibility WHERE record_id IN (SELECT value FROM json_each(?))"
                ), arguments: [jsonArray(request.readers)])
            while let row = try rows.next() { facts.readers[row[0], default: []].insert(row[1]) }
        }
        facts.grants.reserveCapacity(request.grants.count)
        for id in request.grants { facts.grants[id] = [:] }
        if !request.grants.isEmpty {
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT record_id, organisation, count FROM grant_count
                        WHERE record_id IN (SELECT value FROM json_each(?))
                        """), arguments: [jsonArray(request.grants)])
            while let row = try rows.next() {
                facts.grants[row[0], default: [:]][row[1]] = row[2]
            }
        }
        facts.withdrawn.reserveCapacity(request.withdrawn.count)
        for id in request.withdrawn { facts.withdrawn[id] = false }
        if !request.withdrawn.isEmpty {
            let ids = try String.fetchAll(
                db.cachedStatement(
                    sql: "SELECT record_id FROM withdrawn_grant WHERE record_id IN (SELECT value FROM json_each(?))"),
                arguments: [jsonArray(request.withdrawn)])
            for id in ids { facts.withdrawn[id] = true }
        }
        // Whether a record is referred to at all: its count, and its rows — counting stops past
        // what a batch could remove.
        let bound = request.referenceCounts.isEmpty ? 0 : 100_000
        for id in request.referenceCounts {
            facts.referenceCounts[id] =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT (SELECT count(*) FROM (SELECT 1 FROM reference WHERE target = ?1 LIMIT ?2))
                                + coalesce((SELECT count FROM reference_count WHERE target = ?1), 0)
                            """), arguments: [id, bound]) ?? 0
        }
        for key in request.uniques {
            facts.uniques.updateValue(
                try String.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT record_id FROM unique_value WHERE tbl = ? AND field = ? AND value = ?"),
                    arguments: [key.table, key.field, key.value]), forKey: key)
        }
        for key in request.groups {
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT g.* FROM reference r
                        JOIN record g ON g.id = r.source AND g.tbl = ? AND g.deleted = 0
                        WHERE r.target = ? AND r.field = ?
                        """), arguments: [key.table, key.target, key.field])
            facts.groups[key] = try rows.map { row in
                let member = try record(row)
                facts.records[member.id] = member
                return member.id
            }
        }
        facts.changeIDs.reserveCapacity(request.changeIDs.count)
        for id in request.changeIDs { facts.changeIDs.updateValue(nil, forKey: id) }
        if !request.changeIDs.isEmpty {
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT change_id, seq, entry FROM log
                        WHERE change_id IN (SELECT value FROM json_each(?)) AND signed = 1
                        """), arguments: [jsonArray(request.changeIDs)])
            while let row = try rows.next() {
                facts.changeIDs[row[0]] = HistoryLine(seq: row[1], line: row[2])
            }
        }
        for id in request.conflicts { facts.conflicts.updateValue(nil, forKey: id) }
        for id in request.conflicts {
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT id, tbl, record_id, field, incoming, status, seq FROM conflict WHERE id = ?"),
                    arguments: [id])
            else { continue }
            facts.conflicts[id] = ConflictRow(
                id: id, table: row["tbl"], recordID: row["record_id"], field: row["field"],
                incoming: try JSONValue.parse(row["incoming"] as String), seq: row["seq"],
                isOpen: row["status"] == "open")
        }
        for id in request.devices {
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT organisation, role, public_key, seq FROM device WHERE id = ?"),
                arguments: [id])
            facts.devices.updateValue(
                row.map { row in
                    DeviceRow(
                        id: id, organisation: row["organisation"], role: Role(rawValue: row["role"]) ?? .member,
                        publicKey: row["public_key"], seq: row["seq"])
                }, forKey: id)
        }
        return facts
    }

    // MARK: - Writes

    static func write(_ writes: BatchWrites, db: Database) throws {
        let log = try db.cachedStatement(
            sql: """
                INSERT INTO log(seq, change_id, time, tbl, record_id, entry, prev_hash, hash, signed, item)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for row in writes.log {
            try log.execute(binding: [
                row.seq.databaseValue, row.changeID.databaseValue, row.time.databaseValue, row.table.databaseValue,
                row.recordID.databaseValue, row.line.databaseValue, row.prevHash.databaseValue, row.hash.databaseValue,
                row.isSigned.databaseValue, row.item.databaseValue,
            ])
        }
        for (table, rows) in [("pull_feed", writes.feed), ("feed_gap", writes.feedGaps)] where !rows.isEmpty {
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO \(table)(organisation, seq) VALUES (?, ?)")
            for row in rows { try insert.execute(binding: [row.organisation.databaseValue, row.seq.databaseValue]) }
        }
        for checkpoint in writes.checkpoints { try saveCheckpoint(checkpoint, db: db) }
        let record = try db.cachedStatement(
            sql: """
                INSERT INTO record(id, tbl, version, deleted, last_seq, state, values_json) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
                    last_seq = excluded.last_seq, state = excluded.state, values_json = excluded.values_json
                """)
        for (state, seq) in writes.records.values {
            let kept = RecordForm.encode(state.fields, isErased: state.isErased)
            try record.execute(binding: [
                state.id.databaseValue, state.table.databaseValue, state.version.databaseValue,
                state.isDeleted.databaseValue, seq.databaseValue, kept.state.databaseValue, kept.values.databaseValue,
            ])
        }
        let holds = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO reference(target, source, field) VALUES (?, ?, ?)")
        let drops = try db.cachedStatement(sql: "DELETE FROM reference WHERE target = ? AND source = ? AND field = ?")
        for (row, isHeld) in writes.references {
            try (isHeld ? holds : drops).execute(binding: [
                row.target.databaseValue, row.source.databaseValue, row.field.databaseValue,
            ])
        }
        // (A store that migration `v8-reference-count` has not reached yet moves none: its
        // migrations write grants only.)
        if writes.referenceCountDeltas.contains(where: { $0.value != 0 }) {
            let counted = try db.cachedStatement(
                sql: """
                    INSERT INTO reference_count(target, count) VALUES (?, ?)
                    ON CONFLICT(target) DO UPDATE SET count = count + excluded.count
                    """)
            let uncounted = try db.cachedStatement(sql: "DELETE FROM reference_count WHERE target = ? AND count <= 0")
            for (target, delta) in writes.referenceCountDeltas where delta != 0 {
                try counted.execute(binding: [target.databaseValue, delta.databaseValue])
                if delta < 0 { try uncounted.execute(binding: [target.databaseValue]) }
            }
        }
        let holder = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO unique_value(tbl, field, value, record_id) VALUES (?, ?, ?, ?)")
        let freed = try db.cachedStatement(sql: "DELETE FROM unique_value WHERE tbl = ? AND field = ? AND value = ?")
        for (key, id) in writes.uniques {
            if let id {
                try holder.execute(binding: [
                    key.table.databaseValue, key.field.databaseValue, key.value.databaseValue, id.databaseValue,
                ])
            } else {
                try freed.execute(binding: [key.table.databaseValue, key.field.databaseValue, key.value.databaseValue])
            }
        }
        let restored = try db.cachedStatement(sql: "DELETE FROM withdrawn_grant WHERE record_id = ?")
        for id in writes.restoredGrants { try restored.execute(binding: [id.databaseValue]) }
        let grant = try db.cachedStatement(
            sql: """
                INSERT INTO grant_count(record_id, organisation, count) VALUES (?, ?, ?)
                ON CONFLICT(record_id, organisation) DO UPDATE SET count = count + excluded.count
                """)
        let ungranted = try db.cachedStatement(
            sql: "DELETE FROM grant_count WHERE record_id = ? AND organisation = ? AND count <= 0")
        for (id, deltas) in writes.grantDeltas {
            for (organisation, delta) in deltas where delta != 0 {
                try grant.execute(binding: [id.databaseValue, organisation.databaseValue, delta.databaseValue])
                if delta < 0 { try ungranted.execute(binding: [id.databaseValue, organisation.databaseValue]) }
            }
        }
        let sees = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO visibility(record_id, organisation) VALUES (?, ?)")
        let unsees = try db.cachedStatement(sql: "DELETE FROM visibility WHERE record_id = ? AND organisation = ?")
        for (id, changes) in writes.visibility {
            for (organisation, isReader) in changes {
                try (isReader ? sees : unsees).execute(binding: [id.databaseValue, organisation.databaseValue])
            }
        }
        let marker = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO visibility_marker(organisation, seq, record_id, kind) VALUES (?, ?, ?, ?)")
        for row in writes.markers {
            try marker.execute(binding: [
                row.organisation.databaseValue, row.seq.databaseValue, row.recordID.databaseValue,
                row.kind.rawValue.databaseValue,
            ])
        }
        let device = try db.cachedStatement(
            sql: "INSERT INTO device(id, organisation, role, public_key, seq) VALUES (?, ?, ?, ?, ?)")
        for row in writes.devices {
            try device.execute(binding: [
                row.id.databaseValue, row.organisation.databaseValue, row.role.rawValue.databaseValue,
                row.publicKey.databaseValue, row.seq.databaseValue,
            ])
        }
        let resolved = try db.cachedStatement(
            sql: "UPDATE conflict SET status = 'resolved', resolved_seq = ? WHERE id = ?")
        for (id, seq) in writes.resolvedConflicts {
            try resolved.execute(binding: [seq.databaseValue, id.databaseValue])
        }
        let conflict = try db.cachedStatement(
            sql:
                "INSERT INTO conflict(id, tbl, record_id, field, incoming, status, seq) VALUES (?, ?, ?, ?, ?, 'open', ?)"
        )
        for row in writes.conflicts {
            try conflict.execute(binding: [
                row.id.databaseValue, row.table.databaseValue, row.recordID.databaseValue, row.field.databaseValue,
                row.incoming.serialized().databaseValue, row.seq.databaseValue,
            ])
        }
        // (A store that migration `v6-personal` has not reached yet writes none: its migrations
        // write grants only.)
        guard !writes.openings.isEmpty || !writes.erasures.isEmpty else { return }
        let opening = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO personal_value(commitment, seq, tbl, record_id, salt, value)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        for row in writes.openings {
            try opening.execute(binding: [
                row.commitment.databaseValue, row.seq.databaseValue, row.table.databaseValue,
                row.recordID.databaseValue, row.salt.databaseValue, row.value.databaseValue,
            ])
        }
        let forget = try db.cachedStatement(sql: "DELETE FROM personal_value WHERE record_id = ?")
        let close = try db.cachedStatement(
            sql: """
                UPDATE conflict SET incoming = 'null', status = 'resolved', resolved_seq = coalesce(resolved_seq, ?)
                WHERE record_id = ? AND field IN (SELECT value FROM json_each(?))
                """)
        for erasure in writes.erasures {
            try forget.execute(binding: [erasure.recordID.databaseValue])
            try close.execute(binding: [
                erasure.seq.databaseValue, erasure.recordID.databaseValue, jsonArray(erasure.fields).databaseValue,
            ])
        }
    }
}
