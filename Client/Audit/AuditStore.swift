import GRDB
import TandemProtocol

/// The audit store inside the replica (migration `v3`): the server's history lines as
/// `tandem audit pull` fetched them (`tandem_audit_entry`), and the signed checkpoints it checked
/// and kept (`tandem_audit_checkpoint`).
///
/// ```swift
/// let report = try replica.audit.verify()
/// try replica.audit.export(as: .csv) { print($0, terminator: "") }
/// ```
public struct AuditStore: ReplicaPart {
    let replica: Replica

    /// One new history line, checked to chain on the entry before it, ready to be stored.
    struct Entry {
        var seq: Int64
        var line: String
        var hash: String
        var table: String
        var recordID: String
        /// The openings sent beside the entry (kept in `tandem_audit_value`, not in the line).
        var values = Openings()
        /// Whether the entry is an erasure (`tandem erase`): the record's openings go.
        var isErasure = false
    }

    /// The last entry held: its seq and hash (0 and 64 zeros when there is none).
    func head() throws(ReplicaError) -> (seq: Int64, hash: String) {
        try read { db in try Self.head(in: db) }
    }

    static func head(in db: Database) throws -> (seq: Int64, hash: String) {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM tandem_audit_entry ORDER BY seq DESC LIMIT 1")
        else { return (0, LogEntry.genesisHash) }
        return (row["seq"], row["hash"])
    }

    /// Stores one page of new entries in one transaction, if the head is still `head` (another
    /// process may have pulled meanwhile): each line, and the openings beside it in
    /// `tandem_audit_value`. An erasure entry deletes every copy of its record's values in the
    /// file (``Replica/applyErasure(of:in:db:)``: openings, conflicts, refused and pending edits; the
    /// synced row's personal fields), and once the page is written the WAL is emptied into the file
    /// (``Replica/checkpointAfterErasure()``): no byte of an erased value stays in the store.
    ///
    /// - Returns: false when the head moved: nothing was written.
    func append(_ rows: [Entry], after head: Int64) throws(ReplicaError) -> Bool {
        let (appended, erased) = try write { db -> (Bool, Bool) in
            guard try Self.head(in: db).seq == head else { return (false, false) }
            let statement = try db.cachedStatement(
                sql: "INSERT INTO tandem_audit_entry(seq, line, hash, tbl, record_id) VALUES (?, ?, ?, ?, ?)")
            let value = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO tandem_audit_value(commitment, seq, tbl, record_id, salt, value)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
            var erased = false
            for row in rows {
                try statement.execute(arguments: [row.seq, row.line, row.hash, row.table, row.recordID])
                for (commitment, opening) in row.values.byCommitment {
                    try value.execute(arguments: [
                        commitment, row.seq, row.table, row.recordID, opening.salt, opening.value.serialized(),
                    ])
                }
                if row.isErasure {
                    // Every copy of the record's values in this file goes, the synced row's too:
                    // its next sync brings the erased record itself.
                    try replica.applyErasure(of: row.recordID, in: row.table, db: db)
                    if let table = try? schema.table(named: row.table), !table.personalFields.isEmpty {
                        let columns = table.personalFields.sorted().map { "\($0.quotedIdentifier) = NULL" }
                        let name = table.name.quotedIdentifier
                        try db.execute(
                            sql: "UPDATE \(name) SET \(columns.joined(separator: ", ")) WHERE id = ?",
                            arguments: [row.recordID])
                    }
                    erased = true
                }
            }
            return (true, erased)
        }
        if erased { try replica.checkpointAfterErasure() }
        return appended
    }

    /// The openings the audit store keeps, by seq, in seq order, as a cursor: what `audit verify`
    /// and `audit export` lay beside the lines.
    static func values(in db: Database) throws -> RowCursor {
        try Row.fetchCursor(
            db, sql: "SELECT seq, commitment, salt, value FROM tandem_audit_value ORDER BY seq, commitment")
    }

    /// The hash of entry `seq` as its stored line says (64 zeros for seq 0); nil when there is
    /// no such entry.
    static func hash(at seq: Int64, in db: Database) throws -> String? {
        if seq == 0 { return LogEntry.genesisHash }
        guard
            let line = try String.fetchOne(
                db, sql: "SELECT line FROM tandem_audit_entry WHERE seq = ?", arguments: [seq]),
            case let .string(hash)? = try? JSONValue.parse(line)["hash"]
        else { return nil }
        return hash
    }

    /// The server's key, as entry 1 registers it.
    static func serverKey(in db: Database) throws -> String? {
        guard let line = try String.fetchOne(db, sql: "SELECT line FROM tandem_audit_entry WHERE seq = 1"),
            case let .string(key)? = try? JSONValue.parse(line)["change"]?["fields"]?["public_key"]
        else { return nil }
        return key
    }

    /// The checkpoints kept, in seq order.
    static func checkpoints(in db: Database) throws -> [Checkpoint] {
        try Row.fetchAll(
            db, sql: "SELECT seq, hash, time, public_key, signature FROM tandem_audit_checkpoint ORDER BY seq"
        ).map {
            Checkpoint(
                seq: $0["seq"], hash: $0["hash"], time: $0["time"], publicKey: $0["public_key"],
                signature: $0["signature"])
        }
    }

    /// Keeps a checkpoint that was checked against the entries held (one per seq).
    func keep(_ checkpoint: Checkpoint) throws(ReplicaError) {
        let now = Replica.timestamp(replica.clock.now())
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO tandem_audit_checkpoint(seq, hash, time, public_key, signature, fetched_at)
                    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(seq) DO NOTHING
                    """,
                arguments: [
                    checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.publicKey, checkpoint.signature, now,
                ])
        }
    }

    /// How many entries the audit store holds.
    public func entryCount() throws(ReplicaError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_audit_entry") ?? 0 }
    }
}

extension AuditStore {
    /// Every history entry of a record this replica holds, in seq order: the audit store's up
    /// to its head (complete), then the pulled log entries after it (`tandem_history`). Each
    /// commitment (SPEC §8) reads as the value its kept opening gives, or null when none is kept
    /// (erased, or never shown to this replica).
    static func recordEvents(of id: String, in table: String, db: Database) throws -> [RecordEvent] {
        let head = try Self.head(in: db).seq
        let kept = try Replica.openings(ofRecord: id, db: db)
        func opened(_ value: JSONValue) -> JSONValue { Replica.opened(value, with: kept) }
        var events: [RecordEvent] = []
        let lines = try String.fetchAll(
            db, sql: "SELECT line FROM tandem_audit_entry WHERE record_id = ? AND tbl = ? ORDER BY seq",
            arguments: [id, table])
        for line in lines {
            guard let json = try? JSONValue.parse(line), let entry = try? LogEntry(json: json),
                let change = try? Change(json: entry.change)
            else {
                throw ReplicaError(
                    .invalidData,
                    "the audit store holds an entry of \(table) \(id) that cannot be read (tandem audit verify)")
            }
            let outcome = opened(entry.outcome)
            events.append(
                RecordEvent(
                    seq: entry.seq, time: entry.time, author: entry.author, op: change.op,
                    fields: change.fields.mapValues(opened), baseVersion: change.baseVersion, hlc: change.hlc,
                    outcome: (try? Outcome(json: outcome)) ?? .rejected(RejectionReason(rawValue: "unreadable")),
                    fieldsJSON: opened(entry.change["fields"] ?? .object([])), outcomeJSON: outcome))
        }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT seq, time, author, op, fields, outcome, hlc, base_version FROM tandem_history
                WHERE record_id = ? AND tbl = ? AND seq > ? ORDER BY seq
                """, arguments: [id, table, head])
        for row in rows {
            let author = (try? JSONValue.parse(row["author"] as String)).flatMap { try? Author(json: $0) }
            let fields = opened((try? JSONValue.parse(row["fields"] as String)) ?? .object([]))
            let outcome = opened((try? JSONValue.parse(row["outcome"] as String)) ?? .null)
            var fieldValues: [String: JSONValue] = [:]
            if case let .object(members) = fields { for member in members { fieldValues[member.key] = member.value } }
            events.append(
                RecordEvent(
                    seq: row["seq"], time: row["time"], author: author ?? Author(organisation: nil, role: .server),
                    op: TandemProtocol.Operation(rawValue: row["op"]) ?? .update, fields: fieldValues,
                    baseVersion: row["base_version"], hlc: row["hlc"],
                    outcome: (try? Outcome(json: outcome)) ?? .rejected(RejectionReason(rawValue: "unreadable")),
                    fieldsJSON: fields, outcomeJSON: outcome))
        }
        return events
    }
}

extension Replica {
    /// The audit store of this replica.
    public var audit: AuditStore { AuditStore(replica: self) }
}
