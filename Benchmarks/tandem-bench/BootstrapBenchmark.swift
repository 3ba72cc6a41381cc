// §7.3 A new replica bootstrapped from a store of N records (`tandem init --server`, a child
// process, against a real `tandem-server` serving the store §7.1 filled): its wall time and peak
// memory, beside raw SQLite inserting N rows and the same command against a store of only the
// set-up records. §7.4 A no-op sync of that replica, in process: nothing to push, nothing to pull.

import Foundation
import GRDB
import TandemClient
import TandemProtocol
import TandemServer
import TandemTesting

/// `serve` with rate limits off: the benchmark is the only client.
private let unlimited = ["--push-rate", "0", "--pull-rate", "0"]

func runBootstrapBenchmark(options: Options, scratch: URL, store: HeldStore?) async throws {
    let held: HeldStore
    let target = options.bootstrap > 0 ? options.bootstrap : options.held.max()!
    if let store, store.records >= target {
        held = store
    } else {
        // Its own store: round a person for every 100 exchanges (at least 1,000), since the merge
        // slows with the exchanges a person already has (§7.1) and a fill round 1,000 persons to a
        // million would take hours; the pull does not depend on it.
        let persons = max(1000, target / 100)
        held = try await HeldStore(
            directory: scratch.appendingPathComponent("bootstrap-store").path, persons: persons)
        let filling = now()
        let pushing = try await held.fill(to: target)
        say(
            "  (filled a store round \(grouped(persons)) persons to \(grouped(held.records)) records in "
                + "\(grouped(Int((now() - filling) / 1000))) s: \(grouped(rate(held.records, milliseconds: pushing))) "
                + "changes/s pushing)")
    }
    let records = held.records
    // For profiling `tandem init --server` again without the fill: keep a copy of the store, and
    // its coordinator token in `token` beside it (`tandem-server serve --data KEEP/data`).
    if let keep = ProcessInfo.processInfo.environment["TANDEM_BENCH_KEEP_BOOTSTRAP"] {
        try? FileManager.default.removeItem(atPath: keep)
        try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: held.directory, toPath: keep + "/data")
        try Data(held.coordinatorToken.utf8).write(to: URL(fileURLWithPath: keep + "/token"))
    }
    let tandem = BinaryRunner.binaryDirectory.appendingPathComponent("tandem").path

    // The floor of the memory: the same bootstrap of a store holding the set-up records only.
    let small = try await HeldStore(directory: scratch.appendingPathComponent("small-store").path)
    let smallServer = try ServerProcess.serving(
        existing: small.directory, coordinatorToken: small.coordinatorToken, arguments: unlimited)
    let smallPath = scratch.appendingPathComponent("small-replica.sqlite").path
    let smallRun = measure(
        tandem, ["init", "--server", smallServer.url, "--token", small.coordinatorToken, "--db", smallPath],
        pollMicroseconds: 1000)
    smallServer.stop()
    if smallRun.status != 0 { fail("tandem init --server (small store) exited \(smallRun.status)") }

    // The server verifies the whole history when it starts (54 s of CPU for a million entries),
    // beside serving: timed before it is done, the bootstrap would share the two cores with it.
    let serverLog = scratch.appendingPathComponent("bootstrap-server.log").path
    let server = try ServerProcess.serving(
        existing: held.directory, coordinatorToken: held.coordinatorToken, arguments: unlimited, logLevel: "info",
        log: serverLog)
    defer { server.stop() }
    let verifying = now()
    waitForVerification(log: serverLog)
    say(
        "  (the server verified the store's history in \(grouped(Int((now() - verifying) / 1000))) s before the bootstrap)"
    )
    let path = scratch.appendingPathComponent("bootstrap-replica.sqlite").path
    let run = measure(
        tandem, ["init", "--server", server.url, "--token", held.coordinatorToken, "--db", path],
        pollMicroseconds: 5000)
    if run.status != 0 { fail("tandem init --server exited \(run.status)") }
    let pulledExchanges = try await DatabaseQueue(path: path).read { db in
        try Int.fetchOne(db, sql: "SELECT count(*) FROM exchange") ?? 0
    }
    guard pulledExchanges == records - 3 - held.persons.count else {
        fail(
            "the bootstrapped replica holds \(pulledExchanges) exchanges, expected \(records - 3 - held.persons.count)")
    }

    // The floor of the time: raw SQLite inserting as many rows, one statement, one transaction.
    let rows = RawRows(count: records, round: held.round, home: held.home, host: held.host, persons: held.persons)
    let raw = RawTable(path: scratch.appendingPathComponent("raw-bootstrap.sqlite").path).insert(
        count: records, row: rows.row)

    say("")
    say(
        "§7.3 bootstrap: `tandem init --server` (child process) of a store holding \(grouped(records)) records "
            + "(exchanges round \(grouped(held.persons.count)) persons)")
    let seconds = run.milliseconds / 1000
    say(
        "  " + padded("wall time, start to exit", 50) + "\(String(format: "%.2f", seconds)) s  "
            + "\(grouped(rate(records, milliseconds: run.milliseconds))) records/s")
    say(
        "  " + padded("floor: raw SQLite insert of as many rows", 50) + "\(String(format: "%.2f", raw / 1000)) s  "
            + "\(grouped(rate(records, milliseconds: raw))) rows/s  (ratio bootstrap/raw "
            + "\(ratio(run.milliseconds / raw)))")
    say(
        "  " + padded("peak RSS of the child", 50) + "\(grouped(run.maxRSSKiB / 1024)) MiB"
            + "  (VmHWM of /proc/PID/status, polled every 5 ms while it runs)")
    say(
        "  " + padded("floor: the same, store of 1,003 set-up records", 50)
            + "\(grouped(smallRun.maxRSSKiB / 1024)) MiB"
            + "  \(grouped(Int(smallRun.milliseconds))) ms  (ratio \(ratio(Double(run.maxRSSKiB) / Double(max(smallRun.maxRSSKiB, 1)))))"
    )
    Targets.shared.judge(
        "§7.3 bootstrap of \(grouped(records)) records, time",
        measured: "\(String(format: "%.2f", seconds)) s (raw SQLite floor \(String(format: "%.2f", raw / 1000)) s, "
            + "ratio \(ratio(run.milliseconds / raw)))",
        target: records == 1_000_000
            ? "<= 15 s" : "<= 15 s for 1,000,000, pro rata \(String(format: "%.2f", 15 * Double(records) / 1e6)) s",
        passed: run.milliseconds <= 15_000 * Double(records) / 1_000_000)
    Targets.shared.judge(
        "§7.3 bootstrap of \(grouped(records)) records, peak RSS of the `tandem` child",
        measured:
            "\(grouped(run.maxRSSKiB / 1024)) MiB (floor, 1,003 records: \(grouped(smallRun.maxRSSKiB / 1024)) MiB)",
        target: "<= 100 MB", passed: Double(run.maxRSSKiB) * 1024 <= 100_000_000)
    Targets.shared.judge(
        "§7.3 bootstrap pull rate, \(grouped(records)) records",
        measured: "\(grouped(rate(records, milliseconds: run.milliseconds))) records/s "
            + "(raw SQLite floor \(grouped(rate(records, milliseconds: raw))) rows/s)",
        target: ">= 100,000 items/s", passed: rate(records, milliseconds: run.milliseconds) >= 100_000)

    // §7.4 Nothing to push or pull: a sync in process, the replica and the store holding N records.
    let replica = try Replica.open(at: path)
    let engine = try SyncEngine.connecting(replica)
    _ = try engine.sync()
    var syncs: [Double] = []
    var trips: [Double] = []
    for _ in 0..<max(options.edits, 9) {
        var start = now()
        let summary = try engine.sync()
        syncs.append(now() - start)
        if summary.pushed != 0 || summary.pulled != 0 { fail("a no-op sync moved \(summary)") }
        start = now()
        _ = try engine.api.whoAmI()
        trips.append(now() - start)
    }
    let noOp = median(syncs)
    let trip = median(trips)
    say("")
    say("§7.4 no-op sync in process (nothing to push or pull), replica and store holding \(grouped(records)) records")
    say(
        "  " + padded("median of \(syncs.count) syncs", 50) + String(format: "%.2f ms", noOp) + "  (min "
            + String(format: "%.2f", syncs.min()!) + ", max " + String(format: "%.2f", syncs.max()!) + ")")
    say(
        "  " + padded("floor: one HTTP request (GET whoami), median", 50) + String(format: "%.2f ms", trip)
            + "  (ratio \(ratio(noOp / trip)))")
    Targets.shared.judge(
        "§7.4 no-op sync, \(grouped(records)) records",
        measured: String(format: "%.2f ms median", noOp)
            + " (floor: one HTTP round trip \(String(format: "%.2f", trip)) ms, ratio \(ratio(noOp / trip)))",
        target: "<= 5 ms", passed: noOp <= 5)
}

/// Waits until the server's log says its start-up verification of the history ended (at most
/// 20 minutes).
private func waitForVerification(log: String) {
    let deadline = Date().addingTimeInterval(1200)
    while Date() < deadline {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        if text.contains("history verified") || text.contains("FAILS VERIFICATION")
            || text.contains("could not be verified")
        {
            return
        }
        Thread.sleep(forTimeInterval: 0.2)
    }
    fail("the server did not finish verifying its history in 20 minutes")
}
