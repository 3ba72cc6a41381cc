import GRDB
import TandemProtocol

extension Replica {
    /// The time to stamp edits with: the device's wall clock plus its offset from the server's,
    /// as the latest exchange with the server measured it (0 before any).
    func correctedNow(in db: Database) throws -> Int64 {
        clock.now() + (try Self.clockOffset(in: db) ?? 0)
    }

    /// The device's HLC and its offset from the server's clock, read once for a transaction of
    /// edits (a bulk import advances it 100 000 times).
    func editClock(in db: Database) throws -> EditClock {
        EditClock(hlc: try currentHLC(in: db), offset: try Self.clockOffset(in: db) ?? 0)
    }

    /// The device clock's offset from the server's (server minus device, milliseconds), as the
    /// latest exchange measured it; nil before any exchange with a server.
    static func clockOffset(in db: Database) throws -> Int64? {
        try Setting.clockOffset.read(in: db).flatMap { Int64($0) }
    }

    /// Keeps `measured` (the server's clock minus the device's, freshly measured; nil: none was,
    /// keep the last one) and corrects the
    /// clocks of every change still in the outbox, and the device's, in one transaction
    /// (``SyncRules/correctClocks(pending:device:shift:now:seen:)``): stamps made with the old
    /// offset move by the difference, and any still ahead of the server's time is stamped anew.
    /// Called before a push signs its changes, and after a sync, so that a device whose clock is
    /// wrong never has a change refused for `clock`.
    ///
    /// - Returns: how many pending changes were re-stamped.
    @discardableResult
    func correctClocks(offset measured: Int64?) throws(ReplicaError) -> Int {
        try write { db in
            let stored = try Self.clockOffset(in: db)
            let offset = measured ?? stored ?? 0
            let shift = offset - (stored ?? 0)
            if measured != nil { try Setting.clockOffset.write(String(offset), in: db) }
            let now = try correctedNow(in: db)
            let rows = try Row.fetchAll(db, sql: "SELECT seq, hlc FROM tandem_outbox ORDER BY seq")
            let stamps = rows.map { HLC($0["hlc"] as String) ?? HLC(milliseconds: 0, counter: 0, device: device) }
            let seen = try Setting.seenClock.read(in: db).flatMap(HLC.init)
            let deviceClock = try currentHLC(in: db)
            let corrected = SyncRules.correctClocks(
                pending: stamps, device: deviceClock, shift: shift, now: now, seen: seen)
            var changed = 0
            let update = try db.cachedStatement(sql: "UPDATE tandem_outbox SET hlc = ? WHERE seq = ?")
            for (row, (before, after)) in zip(rows, zip(stamps, corrected.pending)) where before != after {
                try update.execute(arguments: [after.description, row["seq"] as Int64])
                changed += 1
            }
            if corrected.device != deviceClock { try Setting.hlc.write(corrected.device.description, in: db) }
            return changed
        }
    }

    /// The device clock's offset from the server's, as last measured; nil before any exchange.
    public func clockOffset() throws(ReplicaError) -> Int64? {
        try read { db in try Self.clockOffset(in: db) }
    }
}

/// The device's HLC during a transaction of edits, advanced by each with the corrected wall clock.
struct EditClock {
    var hlc: HLC
    /// The server's clock minus the device's (``Setting/clockOffset``).
    let offset: Int64

    /// Advances the clock for an edit made at device time `wall`; returns its stamp.
    mutating func advance(wall: Int64) -> HLC {
        hlc = hlc.advanced(now: wall + offset)
        return hlc
    }
}

extension Replica {
    /// The replica's clock, read from its settings.
    func currentHLC(in db: Database) throws -> HLC {
        try Setting.hlc.read(in: db).flatMap(HLC.init) ?? HLC(milliseconds: 0, counter: 0, device: device)
    }
}
