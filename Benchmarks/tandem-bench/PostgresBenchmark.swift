// Issue 10 §6: push + merge on the PostgreSQL store, as §7.1 measures it on SQLite (exchange inserts
// signed beforehand, windows pushed in batches of 500, timed at each `--held` size), one store
// object ("instance") against two on the same database pushing at once, and beside each window the
// floor of the same run: PostgreSQL inserting as many rows into a plain table holding as many, in
// batches of 500 with one UNNEST statement each, one transaction a batch.
//
// The database: a new one on the cluster TANDEM_TEST_POSTGRES names (scripts/bench.sh starts a
// throwaway cluster with scripts/with-postgres.sh; fsync off there — a figure of the store's work,
// not of a disk).

import Foundation
import PostgresNIO
import TandemProtocol
import TandemServer
import TandemTesting

func runPostgresBenchmark(options: Options, scratch: URL) async throws {
    guard (try? TestPostgres.clusterURL()) != nil else {
        fail(
            "--only postgres needs a PostgreSQL cluster: run scripts/bench.sh (it starts one), or set TANDEM_TEST_POSTGRES"
        )
    }
    let url = try await TestPostgres.newDatabase()
    let held = try await HeldStore(
        directory: scratch.appendingPathComponent("pg-held").path, database: url)
    let second = try await StoreLocation.postgres(try PostgresURL(url), directory: nil).open()
    let floor = try await PostgresFloor(url: url)
    let window = options.window
    say("")
    say(
        "§10.6 merge of exchange inserts into the PostgreSQL store (as §7.1: no HTTP, signed beforehand, round 1,000 "
            + "persons, windows in batches of 500; one store object, then two on the same database pushing at once)")
    say(
        "  " + padded("held", 11) + padded("window", 9) + padded("merge, 1 instance", 24)
            + padded("excl. sig.", 13) + padded("2 instances", 14) + padded("raw PostgreSQL floor", 26)
            + "merge/raw")
    var windows: [MergeWindow] = []
    for size in options.held {
        try await held.fillSaying(to: size)
        try await floor.fill(to: held.records)
        let (changes, records, merge, verification) = try await held.timeWindow(window)
        // Two instances at once: half the window through each.
        let pair = held.exchanges(window)
        let halves = [Array(pair[..<(window / 2)]), Array(pair[(window / 2)...])]
        let both = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, half) in halves.enumerated() {
                let store = index == 0 ? held.store : second
                let principal = held.principal
                group.addTask {
                    for first in stride(from: 0, to: half.count, by: 500) {
                        let results = try await store.push(
                            Array(half[first..<min(first + 500, half.count)]), by: principal,
                            now: Int64(Date().timeIntervalSince1970 * 1000))
                        if let refused = results.first(where: { $0.status != .applied }) { fail("push: \(refused)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let twoRate = Double(window) / (now() - both) * 1000
        let rawTime = try await floor.insert(changes.map(RawTable.row(of:)))
        let measured = MergeWindow(
            held: records, milliseconds: merge, verification: verification, raw: rawTime, count: changes.count)
        windows.append(measured)
        say(
            "  " + padded(grouped(records), 11) + padded(grouped(window), 9)
                + padded("\(grouped(Int(merge))) ms \(grouped(Int(measured.rate)))/s", 24)
                + padded("\(grouped(Int(measured.rateWithoutVerification)))/s", 13)
                + padded("\(grouped(Int(twoRate)))/s", 14)
                + padded("\(grouped(Int(rawTime))) ms \(grouped(Int(measured.rawRate))) rows/s", 26)
                + ratio(measured.rate / measured.rawRate))
    }
    say(
        "  (2 instances: two store objects, each its own connection pool, on the one database; writers queue on its lock)"
    )
    for measured in windows {
        Targets.shared.judge(
            "§10.6 PostgreSQL merge excl. signature check, \(grouped(measured.held)) held",
            measured: "\(grouped(Int(measured.rateWithoutVerification))) changes/s "
                + "(\(grouped(Int(measured.rate)))/s with it; raw PostgreSQL floor \(grouped(Int(measured.rawRate))) rows/s)",
            target: ">= 25,000 changes/s", passed: measured.rateWithoutVerification >= 25_000)
    }
    if let first = windows.first, let last = windows.last, windows.count > 1 {
        Targets.shared.judge(
            "§10.6 PostgreSQL merge rate at \(grouped(last.held)) held / at \(grouped(first.held)) held",
            measured: "\(ratio(last.rate / first.rate)) (raw floor \(ratio(last.rawRate / first.rawRate)))",
            target: ">= 0.80x", passed: last.rate >= 0.8 * first.rate)
    }
}

/// The floor: exchange rows into a plain PostgreSQL table (no index but its key), 500 a statement.
final class PostgresFloor: @unchecked Sendable {
    let url: String
    private(set) var rows = 0

    init(url: String) async throws {
        self.url = url
        try await TestPostgres.execute(
            """
            CREATE TABLE raw_exchange (
                id text PRIMARY KEY, round text, person text, home text, host text, starts_on text, ends_on text,
                status text, goals text, notes text)
            """, in: url)
    }

    /// Adds filler rows (untimed) until the table holds `count`.
    func fill(to count: Int) async throws {
        var filler: [[String?]] = []
        while rows + filler.count < count {
            let index = rows + filler.count
            filler.append([
                "filler-\(index)", "r", "p\(index % 1000)", "h", "o", "2026-05-04", "2026-05-08", "confirmed", nil,
                "note \(index)",
            ])
            if filler.count == 20_000 {
                _ = try await insert(filler)
                filler = []
            }
        }
        if !filler.isEmpty { _ = try await insert(filler) }
    }

    /// Inserts `values` in batches of 500; the milliseconds it took.
    func insert(_ values: [[String?]]) async throws -> Double {
        let batch = values
        let start = now()
        try await TestPostgres.with(url) { client in
            for first in stride(from: 0, to: batch.count, by: 500) {
                let part = batch[first..<min(first + 500, batch.count)]
                var bindings = PostgresBindings()
                for column in 0..<10 { bindings.append(part.map { $0[column] ?? "" }) }
                try await client.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO raw_exchange
                            SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                $7::text[], $8::text[], $9::text[], $10::text[])
                            """, binds: bindings))
            }
        }
        rows += values.count
        return now() - start
    }
}
