import GRDB
import TandemProtocol

/// The pulled history's index by record (`tandem_history_record`), left out while a first pull
/// fills an empty history and built once, when the last page is written.
///
/// Record ids arrive in no particular order, so each page's inserts into the index touch most of
/// its leaf pages, and every commit wrote them all to the WAL again: a third of a bootstrap's
/// writes. SQLite builds the index from the finished table by sorting, in a fraction of that.
///
/// Only speed depends on the index: every read of `tandem_history` by record gives the same rows
/// without it. It is there again before anything that looks records up in bulk runs — a page
/// that removes records (a departure, an erasure) or ends the pull — and when a replica is
/// opened: a pull cut short (a crash, a lost connection) leaves it out until the next pull ends
/// or the next `tandem` command opens the replica.
enum HistoryRecordIndex {
    static let name = "tandem_history_record"
    /// As migration `v2` made it.
    static let creation = "CREATE INDEX tandem_history_record ON tandem_history(record_id)"

    static func exists(in db: Database) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?)", arguments: [name])
            ?? false
    }

    /// Before `page` is written, in its transaction: drops the index when the page is the first
    /// of several into an empty history, builds it when the page needs it or ends the pull.
    static func prepare(for page: PulledPage, since: Int64, db: Database) throws {
        let isNeeded = !page.more || page.items.contains { !$0.isVisible || $0.entry?.op == .erase }
        if try exists(in: db) {
            guard !isNeeded, since == 0, try isHistoryEmpty(in: db) else { return }
            try db.execute(sql: "DROP INDEX \(name)")
        } else if isNeeded {
            // SQLite sorts the keys in as much memory as the page cache may hold: a small cache
            // while it sorts keeps a million ids from raising the peak memory (the rest goes
            // through temporary files), then the page's cache again.
            let cache = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
            try db.execute(sql: "PRAGMA cache_size = -4096")
            try db.execute(sql: creation)
            try db.execute(sql: "PRAGMA cache_size = \(cache)")
        }
    }

    private static func isHistoryEmpty(in db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM tandem_history)") ?? true
    }

    /// Builds the index if a pull cut short left it out (``Replica/open(_:path:clock:)``).
    static func restore(in db: Database) throws {
        if try !exists(in: db) { try db.execute(sql: creation) }
    }
}
