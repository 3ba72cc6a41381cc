import Foundation
import GRDB
import TandemProtocol

/// The replica's side of a server that went back (docs/operations.md): what it keeps to notice
/// it (the signed checkpoints its pulls reached), what it keeps to hand back (its acknowledged
/// changes as signed, the signatures of pulled changes), and the repair's steps, each one
/// transaction.
extension Replica {
    /// How long an acknowledged change is kept as signed after the server acknowledged it
    /// (30 days), …
    public static let acknowledgedKeptFor: Int64 = 30 * 24 * 3600 * 1000
    /// … and how many of the newest are kept whatever their age (10 000).
    public static let acknowledgedKeptAtLeast = 10_000
    /// How many of the newest pulled checkpoints are kept (each a page's end).
    static let checkpointsKept = 64

    /// A change to hand back to the server: this replica's own (kept since it was acknowledged,
    /// or pulled back), or another device's it pulled.
    struct HandBack {
        var change: Change
        /// Its seq in the history this replica had seen.
        var seq: Int64
        var isOwn: Bool
    }

    /// Keeps the changes among `signed` (answered by `results`, in order) that the server logged —
    /// accepted, or refused for anything but their signature (a refusal the server loses is
    /// judged again when the change is handed back) — with their seqs, then forgets those beyond
    /// the bound (``acknowledgedKeptFor``, ``acknowledgedKeptAtLeast``).
    func keepAcknowledged(_ signed: [Change], results: [PushResult], in db: Database) throws {
        let now = clock.now()
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO tandem_acknowledged(change_id, seq, tbl, record_id, change, acknowledged_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        var kept = 0
        for (change, result) in zip(signed, results) where result.changeID == change.changeID {
            guard let seq = result.seq, SyncRules.disposition(of: result) != .rejected(reason: .signature) else {
                continue
            }
            try insert.execute(arguments: [
                change.changeID, seq, change.table, change.recordID, change.json.serialized(), now,
            ])
            kept += 1
        }
        guard kept > 0 else { return }
        try db.execute(
            sql: """
                DELETE FROM tandem_acknowledged WHERE acknowledged_at < ?
                    AND seq < (SELECT seq FROM tandem_acknowledged ORDER BY seq DESC LIMIT 1 OFFSET ?)
                """, arguments: [now - Self.acknowledgedKeptFor, Self.acknowledgedKeptAtLeast - 1])
    }

    /// Keeps a pull page's signed checkpoint, and the newest ``checkpointsKept`` only.
    func keep(_ checkpoint: Checkpoint, in db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO tandem_pulled_checkpoint(seq, hash, time, signature) VALUES (?, ?, ?, ?)",
            arguments: [checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.signature])
        try db.execute(
            sql: """
                DELETE FROM tandem_pulled_checkpoint
                WHERE seq < (SELECT seq FROM tandem_pulled_checkpoint ORDER BY seq DESC LIMIT 1 OFFSET ?)
                """, arguments: [Self.checkpointsKept - 1])
    }

    /// Forgets what a server acknowledged and signed (another server, or another identity).
    static func forgetServerHistory(in db: Database) throws {
        try db.execute(sql: "DELETE FROM tandem_acknowledged; DELETE FROM tandem_pulled_checkpoint")
        try Setting.rollback.write(nil, in: db)
        try Setting.serverKey.write(nil, in: db)
    }

    /// The pulled checkpoints kept, newest first (their `publicKey` is not kept: the server
    /// checks them with its own), and the highest seq of an acknowledged change kept.
    func heldHistory() throws(ReplicaError) -> (checkpoints: [Checkpoint], acknowledged: Int64?) {
        try read { db in
            let checkpoints = try Row.fetchAll(
                db, sql: "SELECT seq, hash, time, signature FROM tandem_pulled_checkpoint ORDER BY seq DESC"
            ).map { row in
                Checkpoint(
                    seq: row["seq"], hash: row["hash"], time: row["time"], publicKey: "", signature: row["signature"])
            }
            return (checkpoints, try Int64.fetchOne(db, sql: "SELECT max(seq) FROM tandem_acknowledged"))
        }
    }

    /// The rollback being repaired, if any.
    public func rollbackState() throws(ReplicaError) -> RollbackState? {
        try read { db in try Self.rollbackState(in: db) }
    }

    static func rollbackState(in db: Database) throws -> RollbackState? {
        try Setting.rollback.read(in: db).flatMap { text in (try? JSONValue.parse(text)).flatMap(RollbackState.init) }
    }

    func saveRollbackState(_ state: RollbackState?) throws(ReplicaError) {
        try write { db in try Setting.rollback.write(state.map { $0.json.serialized() }, in: db) }
    }

    /// Starts a repair: keeps `state`, and forgets the checkpoints of the history the server lost.
    func beginRollbackRepair(_ state: RollbackState) throws(ReplicaError) {
        try write { db in
            try Setting.rollback.write(state.json.serialized(), in: db)
            try db.execute(sql: "DELETE FROM tandem_pulled_checkpoint WHERE seq > ?", arguments: [state.forkSeq])
        }
    }

    /// The changes this replica may hand back that the server may have lost (seen at a seq after
    /// `fork`), in the order the history had them: its own acknowledged ones, and the pulled ones
    /// it may carry (``DeviceRegistry/mayCarry(_:by:)``; rejected ones are left out: they changed
    /// nothing). An auditor's replica hands back nothing.
    func changesToHandBack(after fork: Int64) throws(ReplicaError) -> [HandBack] {
        try read { db in
            let settings = try Setting.readAll(in: db)
            guard let role = settings[.role].flatMap(Role.init(rawValue:)), role == .member || role == .coordinator
            else { return [] }
            let carrier = Author(organisation: settings[.organisation], role: role, device: device)
            var found: [HandBack] = []
            var seen = Set<String>()
            for row in try Row.fetchAll(
                db, sql: "SELECT seq, change FROM tandem_acknowledged WHERE seq > ? ORDER BY seq", arguments: [fork])
            {
                let change = try Change(json: JSONValue.parse(row["change"] as String))
                if seen.insert(change.changeID).inserted {
                    found.append(HandBack(change: change, seq: row["seq"], isOwn: true))
                }
            }
            let pulled = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, tbl, record_id, op, fields, outcome, author, change_id, hlc, base_version, device, signature
                    FROM tandem_history WHERE seq > ? AND signature IS NOT NULL AND device IS NOT NULL
                        AND hlc IS NOT NULL AND base_version IS NOT NULL
                    ORDER BY seq
                    """, arguments: [fork])
            for row in pulled {
                let changeID: String = row["change_id"]
                guard !seen.contains(changeID),
                    case let .string(status)? = try JSONValue.parse(row["outcome"] as String)["status"],
                    status != Outcome.Status.rejected.rawValue,
                    let author = try? Author(json: JSONValue.parse(row["author"] as String)),
                    DeviceRegistry.mayCarry(author, by: carrier),
                    let op = Operation(rawValue: row["op"])
                else { continue }
                let change = Change(
                    changeID: changeID, table: row["tbl"], recordID: row["record_id"], op: op,
                    fields: try OutboxRow.decodeFields(row["fields"]), baseVersion: row["base_version"],
                    hlc: row["hlc"], device: row["device"], signature: row["signature"])
                seen.insert(changeID)
                found.append(HandBack(change: change, seq: row["seq"], isOwn: change.device == device))
            }
            return found.sorted { $0.seq < $1.seq }
        }
    }

    /// Records the server's answers to changes handed back: an own change stays kept under the
    /// seq of its new entry (the server may lose that one too); one it now refuses is also listed
    /// by `tandem status` like any rejection (and leaves that list if a later hand-back is
    /// accepted). Others' changes are their authors' business.
    func recordHandedBack(_ results: [PushResult], for sent: [HandBack]) throws(ReplicaError) {
        try write { db in
            for (item, result) in zip(sent, results) where item.isOwn && result.changeID == item.change.changeID {
                if let seq = result.seq {
                    try db.execute(
                        sql: "UPDATE tandem_acknowledged SET seq = ? WHERE change_id = ?",
                        arguments: [seq, item.change.changeID])
                }
                switch SyncRules.disposition(of: result) {
                case .accepted:
                    try db.execute(
                        sql: "DELETE FROM tandem_rejected WHERE change_id = ?", arguments: [item.change.changeID])
                case let .rejected(reason):
                    var change = item.change
                    change.signature = nil
                    // Kept as typed: the values, not their commitments (nulls once erased).
                    let held = Sealing.commitments(in: .object(change.fields.map { JSONMember($0, $1) }))
                    let openings = try Self.openings(of: held, db: db)
                    change.fields = change.fields.mapValues { Self.opened($0, with: openings) }
                    try db.execute(
                        sql: """
                            INSERT INTO tandem_rejected(change_id, tbl, record_id, reason, change) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT(change_id) DO UPDATE SET reason = excluded.reason
                            """,
                        arguments: [
                            change.changeID, change.table, change.recordID, reason.rawValue, change.json.serialized(),
                        ])
                }
            }
        }
    }

    /// Moves the replica back to what the server really holds, in one transaction: the pulled
    /// history after `fork` is forgotten (the server's entries at those seqs are others, or
    /// none); a record this replica took from that lost history, and that no change handed back
    /// brings again (`covered`), is fetched again through an earlier entry of it, or — when this
    /// replica knows none — leaves (the server has it only if someone hands it back); the cursor
    /// moves back (``SyncRules/cursor(afterRollbackTo:current:refetch:)``) so that the next pull
    /// brings every entry after `fork`, reused seqs included. Pending changes stay, and rows
    /// showing them are rebased as their records arrive.
    ///
    /// A member's replica also holds records that came (or went) with a change of who may read
    /// them (docs/visibility.md), which its pulled history does not show: it forgets what it
    /// pulled and pulls everything again, as `sync --resync` does (its replica is its
    /// organisation's share of the data).
    ///
    /// - Returns: `state`, rewound.
    func rewind(_ state: RollbackState, covered: Set<String>) throws(ReplicaError) -> RollbackState {
        try write { db in
            var rewound = state
            rewound.isRewound = true
            if try Setting.role.read(in: db) == Role.member.rawValue {
                try db.execute(sql: "DELETE FROM tandem_conflict")
                try forgetPulledState(in: db)
                rewound.pulledFrom = 0
                try Setting.rollback.write(rewound.json.serialized(), in: db)
                return rewound
            }
            let fork = state.forkSeq
            let touched = try Row.fetchAll(
                db,
                sql: """
                    SELECT record_id, tbl FROM tandem_history WHERE seq > ?
                    UNION SELECT record_id, tbl FROM tandem_acknowledged WHERE seq > ?
                    """, arguments: [fork, fork])
            var refetch: [Int64] = []
            for row in touched {
                let id: String = row["record_id"]
                guard !covered.contains(id) else { continue }
                if let seq = try Int64.fetchOne(
                    db, sql: "SELECT max(seq) FROM tandem_history WHERE record_id = ? AND seq <= ?",
                    arguments: [id, fork])
                {
                    refetch.append(seq)
                    continue
                }
                let pending =
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM tandem_outbox WHERE record_id = ?", arguments: [id]) ?? 0
                guard pending == 0 else { continue }
                if let table = try? schema.table(named: row["tbl"]) {
                    try db.execute(sql: "DELETE FROM \(table.name.quotedIdentifier) WHERE id = ?", arguments: [id])
                }
                try db.execute(sql: "DELETE FROM tandem_record WHERE id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM tandem_conflict WHERE record_id = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM tandem_history WHERE seq > ?", arguments: [fork])
            try db.execute(sql: "DELETE FROM tandem_pulled_checkpoint WHERE seq > ?", arguments: [fork])
            let current = try Self.cursor(in: db)
            let cursor = SyncRules.cursor(afterRollbackTo: fork, current: current, refetch: refetch)
            if cursor != current { try Setting.cursor.write(String(cursor), in: db) }
            rewound.pulledFrom = cursor
            try Setting.rollback.write(rewound.json.serialized(), in: db)
            return rewound
        }
    }
}
