import Foundation
import TandemProtocol

/// Records as the store last decoded them, by id, each with the seq of the entry that last
/// wrote it: a batch reads a record's row (cheap) and decodes its state (JSON, the dear part)
/// only when that seq moved. The persons, rounds and organisations every exchange refers to are
/// read by every batch and decoded once.
///
/// Only rows read from committed data go in (never what a batch is about to write: a batch
/// that rolls back would leave a seq another change reuses), so a hit is always the stored
/// record — also when another process wrote the file meanwhile, since its write moved the seq.
final class RecordCache: @unchecked Sendable {
    /// Past this many records the cache starts afresh: a bound on memory (a few KiB a record, so
    /// tens of MiB at most), not an eviction policy. The records every batch reads — persons,
    /// rounds, organisations — number in the thousands.
    static let capacity = 20_000

    private let lock = NSLock()
    private var records: [String: (lastSeq: Int64, state: RecordState)] = [:]

    /// The record `id` as decoded when its last entry was `lastSeq`, if it still is.
    func record(_ id: String, lastSeq: Int64) -> RecordState? {
        lock.withLock {
            guard let cached = records[id], cached.lastSeq == lastSeq else { return nil }
            return cached.state
        }
    }

    func keep(_ state: RecordState, lastSeq: Int64) {
        lock.withLock {
            if records.count >= Self.capacity { records.removeAll(keepingCapacity: true) }
            records[state.id] = (lastSeq, state)
        }
    }
}
