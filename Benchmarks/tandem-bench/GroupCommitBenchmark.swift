// Group commit (`PushQueue`): many replicas each pushing a small edit at once — the shape of the
// load test's pushes — straight into the store, SQLite and then PostgreSQL: `--clients` pushers
// (at most 200), each pushing one signed exchange insert at a time, `--window` changes in all;
// once with every push merged alone (one transaction each, as before group commit: the queue's
// limit set to 1) and once grouped, in the same run, on the same store.

import Foundation
import TandemProtocol
import TandemServer
import TandemTesting

func runGroupCommitBenchmark(options: Options, scratch: URL) async throws {
    let pushers = min(options.clients, 200)
    let count = options.window
    say("")
    say(
        "group commit: \(pushers) pushers at once, each pushing one signed exchange at a time, \(grouped(count)) "
            + "changes in all, straight into the store (no HTTP)")
    say("  " + padded("store", 12) + padded("one transaction a push", 26) + padded("grouped", 22) + "grouped/alone")
    for postgres in [false, true] {
        let database = postgres ? try await TestPostgres.newDatabase() : nil
        let held = try await HeldStore(
            directory: scratch.appendingPathComponent(postgres ? "group-pg" : "group-sqlite").path, database: database)
        guard let queue = (held.store as? any StoreAdapter)?.pushQueue else { fail("the store is not an adapter") }
        var rates: [Double] = []
        for limit in [1, PushQueue.groupLimit] {
            queue.limit = limit
            let milliseconds = try await held.pushConcurrently(held.exchanges(count), pushers: pushers)
            rates.append(Double(count) / milliseconds * 1000)
        }
        say(
            "  " + padded(postgres ? "PostgreSQL" : "SQLite", 12) + padded("\(grouped(Int(rates[0]))) changes/s", 26)
                + padded("\(grouped(Int(rates[1]))) changes/s", 22) + ratio(rates[1] / rates[0]))
    }
}
