import Foundation
import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    /// Merges one change the server makes (signed with its key) inside the transaction `db`.
    func receiveServerChange(_ change: Change, by author: Author, now: Int64, db: Database) throws -> PushBatch {
        let change = serverSigned(change)
        return try Self.perform(
            PushBatch(
                [ReceivedChange(change: change, author: author, isSigned: true)], merge: merge, now: now,
                serverKey: serverKey), db: db)
    }

    /// Signs `change` with the server's key, as the server's own device.
    func serverSigned(_ change: Change) -> Change {
        var change = change
        change.device = DeviceRegistry.serverDevice
        return change.signed(with: serverKey)
    }

    /// Appends one history entry (a change the server makes that is not a record's: a device
    /// registration, a schema installation) on the head, and returns its seq.
    static func appendLog(
        _ change: Change, author: Author, outcome: Outcome, now: Int64, serverKey: SigningKey, db: Database
    ) throws -> Int64 {
        var chain = LogChain(head: try head(db: db), serverKey: serverKey)
        var writes = BatchWrites()
        let seq = chain.append(change, by: author, outcome: outcome, now: now, to: &writes)
        try write(writes, db: db)
        return seq
    }

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
