import GRDB
public import TandemProtocol

extension Replica {
    /// A record as it was at a point of the history (`tandem get TABLE ID --as-of SEQ|TIME`),
    /// rebuilt from the history this replica holds: the audit store's entries (complete, once
    /// `tandem audit pull` has run) and the log entries pulled after them (``RecordReplay``
    /// says how each entry is replayed). Pending local edits are not part of the history.
    ///
    /// ```swift
    /// let then = try replica.record(in: "exchange", id: "0193ab", asOf: try AsOfPoint(parsing: "2026-05-04"))
    /// ```
    ///
    /// - Parameter id: the record's id or a unique prefix (of a live record or of one the history knows).
    /// - Throws: `notFound` (66) when the record did not exist at that point (not yet created, or
    ///   deleted), when the history held has no entry of it, or when it starts after the
    ///   record's insert (a record that became visible later arrives without its past: an
    ///   auditor's or a coordinator's `tandem audit pull` fetches it); `usage` for a bad prefix.
    public func record(in tableName: String, id: String, asOf point: AsOfPoint) throws(ReplicaError) -> Record {
        let table = try table(tableName)
        return try read { db in
            let id = try Self.resolveHistoryID(id, in: table, db: db)
            let events = try AuditStore.recordEvents(of: id, in: table.name, db: db)
            guard let first = events.first else {
                throw ReplicaError(
                    .notFound,
                    "\(table.name) \(id): the history this replica holds has no entry of it (tandem sync; "
                        + "tandem audit pull for the whole history)")
            }
            guard RecordReplay.startsWithInsert(events) else {
                throw ReplicaError(
                    .notFound,
                    "\(table.name) \(id): the history this replica holds starts at seq \(first.seq), after the "
                        + "record was created; tandem audit pull (auditors, coordinators) fetches the whole history")
            }
            var replay = RecordReplay(table: table)
            for event in events {
                if Self.isAfter(event, point) { break }
                replay.apply(event)
            }
            guard let record = replay.record(id: id) else {
                if let deleted = replay.deletedAt {
                    throw ReplicaError(.notFound, "\(table.name) \(id) was deleted at seq \(deleted), before \(point)")
                }
                throw ReplicaError(.notFound, "\(table.name) \(id) did not exist yet at \(point)")
            }
            return record
        }
    }

    private static func isAfter(_ event: RecordEvent, _ point: AsOfPoint) -> Bool {
        switch point {
        case let .seq(seq): return event.seq > seq
        case let .time(time): return Timestamp.isEarlier(time, than: Timestamp.normalize(event.time) ?? event.time)
        }
    }
}
