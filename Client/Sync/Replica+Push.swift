import GRDB
import TandemProtocol

/// A change the server refused: what `tandem status` lists, and what `sync` counts on stderr.
public typealias Rejection = ReplicaStatus.Rejection

/// A change in the outbox, as the sync engine reads it.
struct OutboxRow {
    var seq: Int64
    var table: String
    var recordID: String
    var op: Operation
    /// The fields it sets: nil for an unfrozen insert (the row holds its values).
    var fields: [String: JSONValue]?
    var baseVersion: Int64
    var hlc: String
    var changeID: String?

    static let columns = "seq, tbl, record_id, op, fields, base_version, hlc, change_id"

    init(row: Row) throws {
        seq = row["seq"]
        table = row["tbl"]
        recordID = row["record_id"]
        op = Operation(rawValue: row["op"]) ?? .update
        fields = try (row["fields"] as String?).map(Self.decodeFields)
        baseVersion = row["base_version"]
        hlc = row["hlc"]
        changeID = row["change_id"]
    }

    static func decodeFields(_ text: String) throws -> [String: JSONValue] {
        guard case let .object(members) = try JSONValue.parse(text) else { return [:] }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    static func encodeFields(_ fields: [String: JSONValue]) -> String {
        JSONValue.object(fields.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) }).serialized()
    }

    /// The change as it is pushed; only frozen rows (with a change id) are.
    func change(device: String) -> Change {
        Change(
            changeID: changeID ?? "", table: table, recordID: recordID, op: op, fields: fields ?? [:],
            baseVersion: baseVersion, hlc: hlc, device: device)
    }
}

extension Replica {
    /// Freezes every unsent change in one transaction: gives it a change id and, for an insert,
    /// writes the record's values into the entry. From then on the change is never coalesced
    /// with later edits, and every retry sends the same bytes under the same id, which the
    /// server answers with `duplicate` once it has it.
    ///
    /// - Returns: how many changes were frozen.
    @discardableResult
    public func freezeOutbox() throws(ReplicaError) -> Int {
        try write { db in try freezeOutbox(in: db) }
    }

    @discardableResult
    func freezeOutbox(in db: Database) throws -> Int {
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(OutboxRow.columns) FROM tandem_outbox WHERE change_id IS NULL ORDER BY seq"
        ).map(OutboxRow.init)
        guard !rows.isEmpty else { return 0 }
        var ids = UUIDv7Generator()
        let now = try correctedNow(in: db)
        for row in rows {
            var fields = row.fields
            if row.op == .insert, fields == nil {
                fields = try currentValues(of: row.recordID, in: row.table, db: db) ?? [:]
            }
            try db.execute(
                sql: "UPDATE tandem_outbox SET change_id = ?, fields = ? WHERE seq = ?",
                arguments: [ids.next(milliseconds: now), fields.map(OutboxRow.encodeFields), row.seq])
        }
        return rows.count
    }

    /// The non-NULL values of a record as the replica holds it, as wire JSON; nil when there is
    /// no such row (or table).
    func currentValues(of id: String, in tableName: String, db: Database) throws -> [String: JSONValue]? {
        guard let table = try? schema.table(named: tableName), let record = try fetchRecord(id, in: table, db: db)
        else { return nil }
        return record.values.mapValues(\.json)
    }

    /// Up to `limit` frozen changes after outbox seq `after`, in edit order.
    func frozenChanges(after seq: Int64, limit: Int) throws(ReplicaError) -> [OutboxRow] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(OutboxRow.columns) FROM tandem_outbox
                    WHERE change_id IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?
                    """, arguments: [seq, limit]
            ).map(OutboxRow.init)
        }
    }

    /// Records the server's answer to a push in one transaction: each answered change leaves the
    /// outbox; a rejected one is kept in `tandem_rejected` with its reason (and the change, so
    /// nothing typed is lost), and a rejected insert's row goes (the server has no such record).
    /// The cursor moves back when an answer concerns an entry already pulled past
    /// (``SyncRules/cursor(after:current:)``). The ones the server logged are kept as signed
    /// (`signed`: the changes as sent) for a while, to hand back to a server that loses them
    /// (``keepAcknowledged(_:results:in:)``), and the openings of their commitments (`openings`,
    /// by change) in `tandem_personal_value`, so that `history` and `get --as-of` read them.
    ///
    /// - Returns: the rejections.
    func recordPushResults(
        _ results: [PushResult], for sent: [OutboxRow], signed: [Change], openings: [[Opening]] = []
    ) throws(ReplicaError) -> [Rejection] {
        let (rejections, erased) = try write { db -> ([Rejection], Bool) in
            try keepAcknowledged(signed, results: results, in: db)
            for (row, made) in zip(sent, openings) where !made.isEmpty {
                try Self.keep(made, table: row.table, recordID: row.recordID, db: db)
            }
            var rejections: [Rejection] = []
            var rejectedInserts: [(table: String, id: String)] = []
            for (row, result) in zip(sent, results) {
                guard result.changeID == row.changeID else {
                    throw ReplicaError(
                        .internal, "the server answered change \(result.changeID) where \(row.changeID ?? "?") was sent"
                    )
                }
                try db.execute(sql: "DELETE FROM tandem_outbox WHERE seq = ?", arguments: [row.seq])
                guard case let .rejected(reason) = SyncRules.disposition(of: result) else { continue }
                let rejection = Rejection(
                    changeID: result.changeID, table: row.table, recordID: row.recordID, reason: reason, op: row.op,
                    fields: row.fields ?? [:])
                try db.execute(
                    sql: """
                        INSERT INTO tandem_rejected(change_id, tbl, record_id, reason, change) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(change_id) DO UPDATE SET reason = excluded.reason
                        """,
                    arguments: [
                        rejection.changeID, rejection.table, rejection.recordID, rejection.reason.rawValue,
                        row.change(device: device).json.serialized(),
                    ])
                rejections.append(rejection)
                if row.op == .insert { rejectedInserts.append((row.table, row.recordID)) }
            }
            // A change refused because its record is erased: the erasure reached the server first,
            // and this replica may never pull its entry (a record it came to see afterwards
            // arrives whole), so every copy of the record's values here goes now, as for an
            // erasure pulled (``applyErasure(of:in:db:)``).
            var erased = false
            for (row, result) in zip(sent, results) where result.reason == .erased {
                try applyErasure(of: row.recordID, in: row.table, db: db)
                erased = true
            }
            for (tableName, id) in rejectedInserts {
                guard let table = try? schema.table(named: tableName) else { continue }
                let pending =
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_outbox WHERE record_id = ?", arguments: [id])
                    ?? 0
                if pending == 0 {
                    try db.execute(sql: "DELETE FROM \(table.name.quotedIdentifier) WHERE id = ?", arguments: [id])
                }
            }
            let cursor = try Self.cursor(in: db)
            let moved = SyncRules.cursor(after: results, current: cursor)
            if moved != cursor { try Setting.cursor.write(String(moved), in: db) }
            return (rejections, erased)
        }
        if erased { try checkpointAfterErasure() }
        return rejections
    }
}
