import Foundation
import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    public func push(_ changes: [Change], by principal: Principal, now: Int64) async throws -> [PushResult] {
        try await write { db in
            try changes.map { change in
                try self.receive(change, by: principal.author(device: change.device), now: now, db: db)
            }
        }
    }

    /// Receives one change: a duplicate returns the first result; anything else is merged,
    /// logged with the next seq, and its record, references and conflicts written.
    func receive(_ change: Change, by author: Author, now: Int64, db: Database) throws -> PushResult {
        if let first = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT seq, outcome FROM log WHERE change_id = ?"), arguments: [change.changeID])
        {
            let outcome = try Outcome(json: JSONValue.parse(first["outcome"] as String))
            return PushResult(
                changeID: change.changeID, status: .duplicate, seq: first["seq"], version: outcome.version,
                reason: outcome.reason)
        }
        let result: Merge.Result
        if !Identifier.isUUID(change.changeID) {
            result = .rejected("schema:change_id")
        } else if author.role == .auditor {
            result = .rejected("not_permitted")
        } else {
            let current = try loadRecord(change.recordID, db: db)
            let context = StoreMergeContext(db: db)
            result = merge.apply(change, by: author, to: current, now: now, context: context)
            if let failure = context.failure { throw failure }
        }
        let seq = try appendLog(change, author: author, outcome: result.outcome, now: now, db: db)
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

    /// Appends one history entry and returns its seq (the next one: seqs are gap-free).
    func appendLog(_ change: Change, author: Author, outcome: Outcome, now: Int64, db: Database) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO log(change_id, time, tbl, record_id, author, change, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            change.changeID, Self.timestamp(now), change.table, change.recordID, author.json.serialized(),
            change.json.serialized(), outcome.json.serialized(),
        ])
        return db.lastInsertedRowID
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ milliseconds: Int64) -> String { Timestamp.string(milliseconds: milliseconds) }
}
