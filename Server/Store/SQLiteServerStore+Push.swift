import Foundation
import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    public func push(_ changes: [Change], by principal: Principal, now: Int64) async throws -> [PushResult] {
        try await write { db in
            var devices = DeviceCache()
            return try changes.map { change in
                // A coordinator may carry another organisation's change (a replica handing back
                // what a restored server lost): it is judged as its device's organisation's.
                let author = try devices.author(of: change, pushedBy: principal.author(device: change.device), db: db)
                return try self.receive(change, by: author, now: now, devices: &devices, db: db)
            }
        }
    }

    /// Receives one change: a duplicate returns the first result; anything else is checked for
    /// its device's signature, merged, logged with the next seq, and its record, references and
    /// conflicts written.
    func receive(
        _ change: Change, by author: Author, now: Int64, devices: inout DeviceCache, db: Database
    ) throws -> PushResult {
        if let first = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT seq, entry FROM log WHERE change_id = ? AND signed = 1"),
            arguments: [change.changeID])
        {
            let outcome = try JSONValue.parse(first["entry"] as String)["outcome"].map { json throws(ProtocolError) in
                try Outcome(json: json)
            }
            return PushResult(
                changeID: change.changeID, status: .duplicate, seq: first["seq"], version: outcome?.version,
                reason: outcome?.reason)
        }
        let result: Merge.Result
        // The signature first: whatever else the server decides, the history can then prove who
        // sent it. A change refused for it is logged but does not take its change id (see `signed`).
        let isSigned = try devices.isSigned(change, by: author, serverKey: serverKey, db: db)
        if !isSigned {
            result = .rejected("signature")
        } else if !Identifier.isUUID(change.changeID) {
            result = .rejected("schema:change_id")
        } else if author.role == .auditor {
            result = .rejected("not_permitted")
        } else {
            let current = try loadRecord(change.recordID, db: db)
            let context = StoreMergeContext(db: db)
            result = merge.apply(change, by: author, to: current, now: now, context: context)
            if let failure = context.failure { throw failure }
        }
        let seq = try Self.appendLog(
            change, author: author, outcome: result.outcome, now: now, serverKey: serverKey, isSigned: isSigned, db: db)
        if let state = result.state { try saveRecord(state, seq: seq, db: db) }
        for conflict in result.openConflicts {
            try db.cachedStatement(
                sql:
                    "INSERT INTO conflict(id, tbl, record_id, field, incoming, status, seq) VALUES (?, ?, ?, ?, ?, 'open', ?)"
            ).execute(arguments: [
                UUIDv7Generator.id(at: HLC(milliseconds: now, counter: Int(seq % 4096), device: "")), change.table,
                change.recordID, conflict.field, conflict.lost.serialized(), seq,
            ])
        }
        return PushResult(
            changeID: change.changeID, status: result.outcome.status, seq: seq, version: result.outcome.version,
            reason: result.outcome.reason)
    }

    /// Signs `change` with the server's key, as the server's own device.
    func serverSigned(_ change: Change) -> Change {
        var change = change
        change.device = DeviceRegistry.serverDevice
        return change.signed(with: serverKey)
    }

    /// Appends one history entry, chained on the last one, and returns its seq (the next one:
    /// seqs are gap-free). Every ``checkpointInterval`` entries the head is signed and kept.
    static func appendLog(
        _ change: Change, author: Author, outcome: Outcome, now: Int64, serverKey: SigningKey, isSigned: Bool = true,
        db: Database
    ) throws -> Int64 {
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1"))
        let seq = (head?["seq"] as Int64? ?? 0) + 1
        let (entry, line) = LogEntry.chained(
            seq: seq, time: timestamp(now), author: author, change: change.json, outcome: outcome.json,
            prevHash: head?["hash"] as String? ?? LogEntry.genesisHash)
        try db.cachedStatement(
            sql: """
                INSERT INTO log(seq, change_id, time, tbl, record_id, entry, prev_hash, hash, signed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            seq, change.changeID, entry.time, change.table, change.recordID, line, entry.prevHash, entry.hash,
            isSigned,
        ])
        if seq % checkpointInterval == 0 {
            try saveCheckpoint(Checkpoint(seq: seq, hash: entry.hash, time: entry.time, signedBy: serverKey), db: db)
        }
        return seq
    }

    /// How often (in entries) the store signs and keeps its head on its own.
    static let checkpointInterval: Int64 = 1000

    static func saveCheckpoint(_ checkpoint: Checkpoint, db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO checkpoint(seq, hash, time, public_key, signature) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [
            checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.publicKey, checkpoint.signature,
        ])
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ milliseconds: Int64) -> String { Timestamp.string(milliseconds: milliseconds) }
}

/// The registered devices a push batch has looked up, so that a batch from one device reads
/// its key once.
struct DeviceCache {
    private typealias Registration = (organisation: String?, role: Role, publicKey: String)
    private var keys: [String: Registration?] = [:]

    /// Whether `change` is signed by its device's registered key, the device being registered
    /// for `author`'s organisation (or being the server's own, signed by `serverKey`).
    mutating func isSigned(_ change: Change, by author: Author, serverKey: SigningKey, db: Database) throws -> Bool {
        if change.device == DeviceRegistry.serverDevice { return change.isSigned(by: serverKey.publicKey) }
        guard let registered = try registration(of: change.device, db: db),
            registered.organisation == author.organisation
        else { return false }
        return change.isSigned(by: registered.publicKey)
    }

    /// Who `change` is judged as when `pusher` pushes it (``DeviceRegistry/author(pushedBy:registered:)``).
    mutating func author(of change: Change, pushedBy pusher: Author, db: Database) throws -> Author {
        guard change.device != DeviceRegistry.serverDevice else { return pusher }
        let registered = try registration(of: change.device, db: db)
        return DeviceRegistry.author(pushedBy: pusher, registered: registered.map { ($0.organisation, $0.role) })
    }

    private mutating func registration(of device: String, db: Database) throws -> Registration? {
        if let cached = keys[device] { return cached }
        let registered = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT organisation, role, public_key FROM device WHERE id = ?"),
            arguments: [device]
        ).map { row -> Registration in
            (row["organisation"], Role(rawValue: row["role"]) ?? .member, row["public_key"])
        }
        keys[device] = .some(registered)
        return registered
    }
}
