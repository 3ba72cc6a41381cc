// The sync figures (issues #3, #9 §7.2–7.4): push + merge of N changes over HTTP into a real
// `tandem-server` process (the CLI's libcurl transport, signatures made and checked) beside the
// Ed25519 verification floor of the same signatures (1 core, all cores); pull of N items into a
// fresh replica beside raw SQLite inserting the same rows; a no-op sync — beside raw SQLite
// upserting the same rows (C API, one transaction) in the same run.

import Foundation
import GRDBSQLite
import TandemClient
import TandemProtocol
import TandemServer
import TandemTesting

/// Raw SQLite: N upserts of the same exchange rows into a table already holding them (the
/// server's work without Tandem), one prepared statement, one transaction.
func rawUpsert(path: String, ids: [String], notes: [String]) -> Double {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { fail("cannot open \(path)") }
    defer { sqlite3_close(db) }
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", nil, nil, nil)
    sqlite3_exec(
        db, "CREATE TABLE exchange (id TEXT PRIMARY KEY NOT NULL, status TEXT, notes TEXT, version INTEGER) STRICT",
        nil,
        nil, nil)
    let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    var statement: OpaquePointer?
    let start = now()
    sqlite3_exec(db, "BEGIN", nil, nil, nil)
    sqlite3_prepare_v2(
        db,
        "INSERT INTO exchange(id, status, notes, version) VALUES (?, 'confirmed', ?, 1) ON CONFLICT(id) DO UPDATE SET status = excluded.status, notes = excluded.notes, version = exchange.version + 1",
        -1, &statement, nil)
    for (id, note) in zip(ids, notes) {
        sqlite3_bind_text(statement, 1, id, -1, transient)
        sqlite3_bind_text(statement, 2, note, -1, transient)
        guard sqlite3_step(statement) == SQLITE_DONE else { fail(String(cString: sqlite3_errmsg(db))) }
        sqlite3_reset(statement)
    }
    sqlite3_finalize(statement)
    sqlite3_exec(db, "COMMIT", nil, nil, nil)
    return now() - start
}

func runSyncBenchmark(options: Options, scratch: URL) throws {
    let binaries = BinaryRunner.binaryDirectory
    guard FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent("tandem-server").path) else {
        fail("no tandem-server binary beside tandem-bench (build it: swift build -c release --product tandem-server)")
    }
    let server = try ServerProcess.start(arguments: ["--push-rate", "0", "--pull-rate", "0"])  // no rate limits
    defer { server.stop() }
    let token = server.coordinatorToken
    let remote = Remote(server: server.url, token: token)

    // A coordinator's replica with N new exchanges waiting to be pushed.
    let writerPath = scratch.appendingPathComponent("writer.sqlite").path
    let (writer, _) = try SyncEngine.createReplica(
        at: writerPath, remote: remote, transport: try CurlTransport(server: server.url, token: token))
    let setup = try Setup(replica: writer, path: writerPath)
    // A thousand employees, each on rows/1000 exchanges, as a programme has them.
    let personsPath = scratch.appendingPathComponent("persons.csv").path
    try ("organisation,full_name\n" + (0..<1000).map { "\(setup.home),Employee \($0)\n" }.joined())
        .write(toFile: personsPath, atomically: false, encoding: .utf8)
    _ = try writer.editor.importCSV(into: "person", from: personsPath)
    let persons = try writer.records(in: "person").map(\.id)
    let workload = Workload(rows: options.rows, setup: setup, persons: persons)
    let csvPath = scratch.appendingPathComponent("sync.csv").path
    try workload.csv.write(toFile: csvPath, atomically: false, encoding: .utf8)
    _ = try writer.editor.importCSV(into: "exchange", from: csvPath)
    let engine = try SyncEngine.connecting(writer)

    var start = now()
    let pushed = try engine.push()
    let pushTime = now() - start
    guard pushed.rejected.isEmpty, pushed.pushed >= options.rows else {
        fail("push: \(pushed.pushed) answered, \(pushed.rejected.count) rejected")
    }

    // A fresh replica pulls everything.
    let readerPath = scratch.appendingPathComponent("reader.sqlite").path
    start = now()
    let (reader, pulled) = try SyncEngine.createReplica(
        at: readerPath, remote: remote, transport: try CurlTransport(server: server.url, token: token))
    let pullTime = now() - start
    let pulledRows = try reader.records(in: "exchange").count
    guard pulledRows == options.rows else { fail("pulled \(pulledRows) exchanges, expected \(options.rows)") }

    // Nothing changed: a sync is a push of nothing and one empty pull page.
    let readerEngine = try SyncEngine.connecting(reader)
    _ = try readerEngine.sync()
    var noOps: [Double] = []
    for _ in 0..<max(options.edits, 5) {
        start = now()
        _ = try readerEngine.sync()
        noOps.append(now() - start)
    }
    let tandem = binaries.appendingPathComponent("tandem").path
    var processNoOps: [Double] = []
    for _ in 0..<max(options.edits, 5) { processNoOps.append(spawn(tandem, ["sync", "--db", readerPath])) }

    let raw = rawUpsert(
        path: scratch.appendingPathComponent("raw-upsert.sqlite").path, ids: workload.ids, notes: workload.notes)
    let rawInserting = rawInsert(
        path: scratch.appendingPathComponent("raw-insert.sqlite").path, workload: workload, setup: setup)

    // The floor of the push: the signatures it carried (read back from the server's history),
    // checked by swift-crypto alone.
    let signatures = try waitForValue {
        try await pushedSignatures(data: server.data, device: writer.device, publicKey: writer.devicePublicKey())
    }
    guard signatures.count >= options.rows else {
        fail("found \(signatures.count) of the \(options.rows) pushed signatures in the history")
    }
    let floor = Ed25519Floor.measure(signatures)

    func perSecond(_ count: Int, _ milliseconds: Double) -> String {
        "\(grouped(Int(Double(count) / milliseconds * 1000)))/s"
    }
    say("")
    say(padded("metric", 58) + "      time  rate")
    say(
        padded("3 push + merge of \(options.rows) changes over HTTP", 58) + figure(pushTime) + " ms  "
            + perSecond(options.rows, pushTime))
    say(
        padded("3 pull of \(pulled.pulled) items into a fresh replica", 58) + figure(pullTime)
            + " ms  "
            + perSecond(pulled.pulled, pullTime))
    say(
        padded("3 raw SQLite upsert of the same rows (1 txn)", 58) + figure(raw) + " ms  "
            + perSecond(options.rows, raw))
    say(padded("3 ratio push / raw upsert", 58) + figure(pushTime / raw) + " x")
    say(
        padded("3 raw SQLite insert of the same rows (1 txn)", 58) + figure(rawInserting) + " ms  "
            + perSecond(options.rows, rawInserting))
    say(padded("3 no-op sync, in process (median)", 58) + figure(median(noOps)) + " ms")
    say(padded("3 no-op `tandem sync` process, start to exit (median)", 58) + figure(median(processNoOps)) + " ms")
    say("  " + floor.line)

    let pushRate = Double(options.rows) / pushTime * 1000
    say("")
    say("§7.2 push over HTTP, end to end (client signs, libcurl, tandem-server checks and merges), batches of 500")
    Targets.shared.judge(
        "§7.2 push of \(grouped(options.rows)) changes over HTTP / Ed25519 floor on all \(floor.cores) cores",
        measured: "\(grouped(Int(pushRate))) changes/s vs \(grouped(Int(floor.allCores)))/s = "
            + "\(ratio(pushRate / floor.allCores)) (1-core floor \(grouped(Int(floor.oneCore)))/s: "
            + "\(ratio(pushRate / floor.oneCore)))",
        target: ">= 0.80x the all-core floor", passed: pushRate >= 0.8 * floor.allCores)
    say("§7.3 pull into a fresh replica, in process (SyncEngine.createReplica, as `tandem init --server`)")
    let pullRate = Double(pulled.pulled) / pullTime * 1000
    Targets.shared.judge(
        "§7.3 pull of \(grouped(pulled.pulled)) items into a fresh replica",
        measured: "\(grouped(Int(pullRate))) items/s (raw SQLite insert floor "
            + "\(grouped(rate(options.rows, milliseconds: rawInserting))) rows/s, ratio "
            + "\(ratio(pullRate / (Double(options.rows) / rawInserting * 1000))))",
        target: ">= 100,000 items/s", passed: pullRate >= 100_000)
}

/// The signatures of the changes `device` pushed, from the store's history.
func pushedSignatures(data: String, device: String, publicKey: String) async throws -> [RawSignature] {
    let store = try SQLiteServerStore.open(directory: data)
    var signatures: [RawSignature] = []
    var since: Int64 = 0
    while true {
        let lines = try await store.history(since: since, limit: 10_000)
        guard let last = lines.last else { break }
        for line in lines {
            let entry = try LogEntry(json: JSONValue.parse(line.line))
            let change = try Change(json: entry.change)
            if change.device == device, let signature = RawSignature(change, publicKey: publicKey) {
                signatures.append(signature)
            }
        }
        since = last.seq
    }
    return signatures
}
