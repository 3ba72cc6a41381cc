import Foundation
import GRDB

/// Copies the store's write-ahead log into the database file on a connection of its own, after
/// write transactions, so that a push's commit only appends to the log and syncs it: the
/// checkpoint's copying and its sync of the database file no longer sit on the writer's path
/// (docs/operations.md, "Durability and checkpoints").
///
/// One checkpoint runs at a time and commits that arrive meanwhile are folded into the next.
/// A checkpoint is `PASSIVE`: it never waits for the writer or readers, and copies what it can.
/// The writer keeps SQLite's own checkpoint as a safety net for a log that grows past
/// ``writerFallbackPages`` pages while the background is behind.
final class WALCheckpointer: @unchecked Sendable {
    /// The writer's `wal_autocheckpoint`: SQLite checkpoints on the writer only past this many
    /// pages (40 MiB), which the background keeps from happening under any ordinary load.
    static let writerFallbackPages = 10_000

    private let path: String
    private let queue = DispatchQueue(label: "tandem.wal-checkpoint", qos: .utility)
    private let lock = NSLock()
    private var isScheduled = false
    /// Opened on first use, on `queue` only.
    private var connection: DatabaseQueue?

    init(path: String) { self.path = path }

    /// A write transaction committed: schedules a checkpoint unless one is waiting to start.
    func committed() {
        let schedule = lock.withLock {
            defer { isScheduled = true }
            return !isScheduled
        }
        guard schedule else { return }
        queue.async { [self] in
            lock.withLock { isScheduled = false }
            checkpoint()
        }
    }

    /// Waits for the checkpoint under way, if any (tests, and closing).
    func drain() { queue.sync {} }

    private func checkpoint() {
        do {
            if connection == nil {
                var configuration = Configuration()
                configuration.busyMode = .timeout(1)
                connection = try DatabaseQueue(path: path, configuration: configuration)
            }
            _ = try connection?.inDatabase { db in try db.checkpoint(.passive) }
        } catch {
            // Nothing is lost: the log still holds every commit, and the writer's own checkpoint
            // (``writerFallbackPages``) or the next attempt copies it.
            connection = nil
        }
    }
}
