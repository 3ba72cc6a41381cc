import GRDB
public import TandemProtocol

/// The history for auditors (SPEC §8, docs/audit.md): device registrations, history pages,
/// checkpoints, and the store's own verification.
extension SQLiteServerStore {
    public func history(since: Int64, limit: Int) async throws -> [HistoryLine] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, entry FROM log WHERE seq > ? ORDER BY seq LIMIT ?"),
                arguments: [since, limit]
            ).map { row in HistoryLine(seq: row["seq"], line: row["entry"]) }
        }
    }

    /// The signed head. The last kept checkpoint when it is the head; else the head is signed
    /// now and kept.
    public func checkpoint(now: Int64) async throws -> Checkpoint {
        let serverKey = serverKey
        let time = Self.timestamp(now)
        if let kept = try await read({ db in try Self.checkpointAtHead(db: db) }) { return kept }
        return try await write { db in
            if let kept = try Self.checkpointAtHead(db: db) { return kept }
            guard let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1") else {
                throw ServerError(.unavailable, "empty", "the history is empty")
            }
            let checkpoint = Checkpoint(seq: head["seq"], hash: head["hash"], time: time, signedBy: serverKey)
            try Self.saveCheckpoint(checkpoint, db: db)
            return checkpoint
        }
    }

    private static func checkpointAtHead(db: Database) throws -> Checkpoint? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT c.seq, c.hash, c.time, c.public_key, c.signature FROM checkpoint c
                WHERE c.seq = (SELECT max(seq) FROM log)
                """
        ).map { row in
            Checkpoint(
                seq: row["seq"], hash: row["hash"], time: row["time"], publicKey: row["public_key"],
                signature: row["signature"])
        }
    }

    /// Checks the whole history as an auditor would (``HistoryVerification``): the chain, every
    /// signature, every kept checkpoint, and that the store's key is the one entry 1 registers.
    /// Reads entry by entry: memory does not grow with the history.
    ///
    /// - Returns: the report; its `failure` names the first bad seq.
    public func verify() throws -> HistoryVerification.Report {
        do {
            return try writer.read { db in
                var verification = HistoryVerification()
                // The columns the store looks entries up by must say what the entry says.
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT seq, change_id, tbl, record_id, entry, prev_hash, hash, item FROM log ORDER BY seq"
                )
                while let row = try rows.next(), verification.add(line: Array((row["entry"] as String).utf8)) {
                    guard let entry = verification.last else { continue }
                    func text(_ value: JSONValue?) -> String? {
                        if case let .string(text)? = value { text } else { nil }
                    }
                    let columns: [String?] = [
                        row["hash"], row["prev_hash"], row["change_id"], row["tbl"], row["record_id"],
                    ]
                    let said: [String?] = [
                        entry.hash, entry.prevHash, text(entry.change["change_id"]), text(entry.change["table"]),
                        text(entry.change["record_id"]),
                    ]
                    if row["seq"] as Int64 != entry.seq || columns != said {
                        verification.fail(
                            AuditFailure(
                                seq: entry.seq,
                                "the store's columns (seq, change_id, tbl, record_id, prev_hash, hash) disagree with the entry"
                            ))
                        break
                    }
                    // What pulls send of it must be what it says.
                    if let problem = DerivedForms.problem(item: row["item"], of: entry) {
                        verification.fail(problem)
                        break
                    }
                }
                let checkpoints = try Row.fetchAll(
                    db, sql: "SELECT seq, hash, time, public_key, signature FROM checkpoint ORDER BY seq"
                ).map { row in
                    Checkpoint(
                        seq: row["seq"], hash: row["hash"], time: row["time"], publicKey: row["public_key"],
                        signature: row["signature"])
                }
                let hashes = try db.cachedStatement(sql: "SELECT hash FROM log WHERE seq = ?")
                var report = verification.finish(checkpoints: checkpoints) { seq in
                    try? String.fetchOne(hashes, arguments: [seq])
                }
                // Seq 1 is the first bad seq whatever else is wrong later (a checkpoint the
                // replaced key signed, say): unless seq 1 has already been named.
                if (report.failure?.seq ?? .max) > 1, let registered = verification.serverKey,
                    registered != serverKey.publicKey
                {
                    report.failure = AuditFailure(
                        seq: 1, "the store's signing key is not the server key registered at seq 1 (replaced)")
                }
                if report.failure == nil { report.failure = try Self.recordFailure(schema: self.schema, db: db) }
                return report
            }
        } catch {
            throw ServerError(.unavailable, "storage", "the store failed: \(error)")
        }
    }

    /// The first record (by id) whose values — what pulls send of it — are not what its
    /// per-field state and the history say (``DerivedForms``).
    static func recordFailure(schema: Schema, db: Database) throws -> AuditFailure? {
        let records = try Row.fetchCursor(db, sql: "SELECT * FROM record ORDER BY id")
        let lines = try db.cachedStatement(sql: "SELECT entry FROM log WHERE change_id = ? AND signed = 1")
        while let row = try records.next() {
            let record = try record(row)
            var entries: [String: LogEntry] = [:]
            for id in DerivedForms.changeIDs(of: record) {
                guard let line = try String.fetchOne(lines, arguments: [id]) else { continue }
                entries[id] = try? LogEntry(json: JSONValue.parse(line))
            }
            if let failure = DerivedForms.problem(
                values: row["values_json"], of: record, seq: row["last_seq"], setBy: entries, schema: schema)
            {
                return failure
            }
        }
        return nil
    }
}

/// A registered device key (`POST /v1/devices`).
public struct DeviceRecord: Hashable, Sendable {
    public var device: String
    public var publicKey: String
    public var organisation: String?
    /// The seq of the history entry that registered it.
    public var seq: Int64

    /// `{"device", "public_key", "organisation", "seq"}`.
    public var json: JSONValue {
        .object([
            JSONMember("device", .string(device)), JSONMember("public_key", .string(publicKey)),
            JSONMember("organisation", organisation.map(JSONValue.string) ?? .null), JSONMember("seq", .int(seq)),
        ])
    }
}
