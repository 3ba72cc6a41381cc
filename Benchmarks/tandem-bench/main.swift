// tandem-bench: the figures issues #2 and #9 ask for, each beside a floor measured in the same run.
//
//   import     bulk import of N exchange rows through the replica vs. raw SQLite (C API, prepared
//              statement, one transaction); one `tandem set` process vs. spawning /bin/true.
//   sync       §7.2 push of N changes over HTTP into a real `tandem-server` vs. the Ed25519
//              verification floor (1 core and all cores); §7.3 pull of N items into a fresh
//              replica; a no-op sync (SyncBenchmark).
//   store      §7.1 merge of pre-signed exchange inserts straight into an SQLiteServerStore
//              holding 10k, 100k, 1M… records (`--held`) vs. raw SQLite inserting as many rows,
//              with signature verification timed alone (StoreBenchmark).
//   bootstrap  §7.3 `tandem init --server` of the largest held store as a child process (time,
//              peak RSS); §7.4 no-op sync with those records (BootstrapBenchmark).
//   audit      §7.5 `tandem audit pull` + `audit verify` of E entries vs. the Ed25519 floor
//              (AuditBenchmark).
//   bundle     `tandem bundle export` of N pending changes and `bundle import` of the file on another
//              replica: MB/s, changes/s, bytes a change, vs. gzip and Ed25519 alone (BundleBenchmark).
//   check      issue 11 §7: `tandem check` of a replica holding N exchanges, in process and as a
//              process, vs. a raw SQLite scan of the same rows (CheckBenchmark).
//   personal   issue 14 §6: sealing personal values, pushing and pulling them with commitments vs. the
//              same shape without, and erasing a person with 1,000 entries (PersonalBenchmark).
//
// Every §7 figure ends in a PASS/FAIL line against its target, and the run ends with a summary of
// them; a missed target exits 0 unless `--strict`.
//
// Usage: tandem-bench [--rows N] [--reps R] [--edits K] [--entries E] [--held H1,H2,…] [--window W]
//                     [--bootstrap N] [--only PART[,PART…]] [--strict]
//        (defaults 100000, 5, 30, 1000000, "10000,N" (N alone when under 10000), min(10000, N/2))

import Foundation
import GRDB
import GRDBSQLite
import TandemClient
import TandemProtocol

struct Options {
    static let allParts = [
        "import", "sync", "store", "bootstrap", "audit", "postgres", "load", "bundle", "check", "personal", "group",
    ]

    var rows = 100_000
    var reps = 5
    var edits = 30
    var entries = 1_000_000
    /// Records the store holds when each merge window is timed (ascending).
    var held: [Int] = []
    /// Changes merged (and timed) at each held size.
    var window = 0
    /// Records the bootstrap's store holds; 0: the largest held size (the store part's store).
    var bootstrap = 0
    /// The load test's clients, and how long it runs.
    var clients = 2_000
    var seconds = 20
    var strict = false
    var parts: Set<String> = Set(Options.allParts)

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            switch flag {
            case "--strict":
                strict = true
                continue
            case "--only":
                let names = (iterator.next() ?? "").split(separator: ",").map { $0 == "merge" ? "store" : String($0) }
                guard !names.isEmpty, names.allSatisfy(Options.allParts.contains) else { usage() }
                parts = Set(names)
                continue
            case "--held":
                let sizes = (iterator.next() ?? "").split(separator: ",").map {
                    Int($0.replacingOccurrences(of: "_", with: ""))
                }
                guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { usage() }
                held = Array(Set(sizes.map { $0! })).sorted()
                continue
            default: break
            }
            guard let text = iterator.next(), let value = Int(text.replacingOccurrences(of: "_", with: "")), value > 0
            else { usage() }
            switch flag {
            case "--rows": rows = value
            case "--reps": reps = value
            case "--edits": edits = value
            case "--entries": entries = value
            case "--window": window = value
            case "--bootstrap": bootstrap = value
            case "--clients": clients = value
            case "--seconds": seconds = value
            default: usage()
            }
        }
        if held.isEmpty { held = rows <= 10_000 ? [rows] : [10_000, rows] }
        if window == 0 { window = min(10_000, max(rows / 2, 1)) }
    }

    func usage() -> Never {
        FileHandle.standardError.write(
            Data(
                """
                usage: tandem-bench [--rows N] [--reps R] [--edits K] [--entries E] [--held H1,H2,...] [--window W]
                                    [--bootstrap N] [--clients C] [--seconds S]
                                    [--only import|sync|store|bootstrap|audit|postgres|load|bundle|check|personal|group[,...]]
                                    [--strict]

                """.utf8))
        exit(64)
    }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// Milliseconds of CPU this process has used (every thread, user and system).
func processCPU() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

func fail(_ text: String) -> Never {
    FileHandle.standardError.write(Data("tandem-bench: \(text)\n".utf8))
    exit(70)
}

let options = Options(CommandLine.arguments)
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-bench-\(getpid())")
try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: scratch) }

/// A replica with the records the exchanges refer to.
struct Setup {
    let replica: Replica
    let path: String
    let round, home, host, person: String

    init(path: String) throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try self.init(replica: try Replica.create(at: path), path: path)
    }

    init(replica: Replica, path: String) throws {
        self.path = path
        self.replica = replica
        round = try replica.editor.insert(into: "round", [Assignment("number", "5")]).id
        home = try replica.editor.insert(into: "organisation", [.init("name", "Ministry"), .init("sector", "public")])
            .id
        host = try replica.editor.insert(into: "organisation", [.init("name", "Kovina"), .init("sector", "private")]).id
        person = try replica.editor.insert(into: "person", [.init("organisation", home), .init("full_name", "Ana")]).id
    }
}

/// The exchange rows both sides insert: ids made in advance for the raw side, the CSV for the replica.
struct Workload {
    let ids: [String]
    let notes: [String]
    let csv: String

    /// `persons`: the employees the exchanges go round (the setup's one when empty).
    init(rows: Int, setup: Setup, persons: [String] = []) {
        let persons = persons.isEmpty ? [setup.person] : persons
        var generator = UUIDv7Generator()
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        ids = (0..<rows).map { generator.next(milliseconds: start + Int64($0 / 200)) }
        let letters = Array("abcdefghijklmnopqrstuvwxyz ")
        var random = SystemRandomNumberGenerator()
        notes = (0..<rows).map { _ in String((0..<100).map { _ in letters.randomElement(using: &random)! }) }
        var csv = "round,person,home,host,starts_on,ends_on,status,notes\n"
        csv.reserveCapacity(rows * 260)
        for index in 0..<rows {
            csv +=
                "\(setup.round),\(persons[index % persons.count]),\(setup.home),\(setup.host),2026-05-04,2026-05-08,confirmed,\(notes[index])\n"
        }
        self.csv = csv
    }
}

/// Raw SQLite: the replica's own exchange table DDL, one prepared INSERT, one transaction.
/// With `withOutbox`, also one row a record into a copy of the replica's outbox table (same
/// indexes): the floor of the design that writes a change beside every row.
func rawInsert(path: String, workload: Workload, setup: Setup, withOutbox: Bool = false) -> Double {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { fail("cannot open \(path)") }
    defer { sqlite3_close(db) }
    func exec(_ sql: String) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { fail(String(cString: sqlite3_errmsg(db))) }
    }
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL")
    exec(
        "CREATE TABLE exchange (id TEXT PRIMARY KEY NOT NULL, round TEXT, person TEXT, home TEXT, host TEXT, starts_on TEXT, ends_on TEXT, status TEXT, goals TEXT, notes TEXT) STRICT"
    )
    exec(
        """
        CREATE TABLE tandem_outbox (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, record_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete'), fields TEXT,
            base_version INTEGER NOT NULL, hlc TEXT NOT NULL, change_id TEXT) STRICT;
        CREATE INDEX tandem_outbox_record ON tandem_outbox(record_id);
        CREATE UNIQUE INDEX tandem_outbox_change ON tandem_outbox(change_id) WHERE change_id IS NOT NULL;
        """)
    let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    var statement: OpaquePointer?
    var outbox: OpaquePointer?
    let start = now()
    exec("BEGIN")
    sqlite3_prepare_v2(db, "INSERT INTO exchange VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &statement, nil)
    sqlite3_prepare_v2(
        db,
        "INSERT INTO tandem_outbox(tbl, record_id, op, fields, base_version, hlc) VALUES ('exchange', ?, 'insert', NULL, 0, ?)",
        -1, &outbox, nil)
    let hlc = "001763812345678.00000.0193a1b2-c3d4-7e5f-8a6b-000000000001"
    let fixed = [setup.round, setup.person, setup.home, setup.host, "2026-05-04", "2026-05-08", "confirmed"]
    for index in 0..<workload.ids.count {
        sqlite3_bind_text(statement, 1, workload.ids[index], -1, transient)
        for (offset, value) in fixed.enumerated() {
            sqlite3_bind_text(statement, Int32(offset + 2), value, -1, transient)
        }
        sqlite3_bind_null(statement, 9)
        sqlite3_bind_text(statement, 10, workload.notes[index], -1, transient)
        guard sqlite3_step(statement) == SQLITE_DONE else { fail(String(cString: sqlite3_errmsg(db))) }
        sqlite3_reset(statement)
        if withOutbox {
            sqlite3_bind_text(outbox, 1, workload.ids[index], -1, transient)
            sqlite3_bind_text(outbox, 2, hlc, -1, transient)
            guard sqlite3_step(outbox) == SQLITE_DONE else { fail(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(outbox)
        }
    }
    sqlite3_finalize(statement)
    sqlite3_finalize(outbox)
    exec("COMMIT")
    return now() - start
}

/// Runs a process to its end (posix_spawn + waitpid, as a shell does) and returns its wall
/// time in milliseconds. Foundation's `Process` adds tens of milliseconds of its own on Linux.
func spawn(_ executable: String, _ arguments: [String]) -> Double {
    let result = measure(executable, arguments, sampleMemory: false)
    if result.status != 0 {
        fail("\(executable) \(arguments.joined(separator: " ")) exited with status \(result.status)")
    }
    return result.milliseconds
}

func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func figure(_ value: Double) -> String {
    let text = String(format: "%.1f", value)
    return String(repeating: " ", count: max(0, 9 - text.count)) + text
}

do {
    say(
        "tandem-bench: \(options.rows) rows, \(options.reps) repetitions, \(options.edits) edits, "
            + "held \(options.held.map(grouped).joined(separator: ", ")), window \(grouped(options.window)), "
            + "\(grouped(options.entries)) audit entries, \(ProcessInfo.processInfo.activeProcessorCount) cores")
    if options.parts.contains("import") { try runImportBenchmark() }
    if options.parts.contains("sync") { try runSyncBenchmark(options: options, scratch: scratch) }
    var heldStore: HeldStore?
    if options.parts.contains("store") {
        heldStore = try waitForValue { try await runStoreBenchmark(options: options, scratch: scratch) }
    }
    if options.parts.contains("bootstrap") {
        let store = heldStore
        try waitFor { try await runBootstrapBenchmark(options: options, scratch: scratch, store: store) }
    }
    if options.parts.contains("postgres") { try await runPostgresBenchmark(options: options, scratch: scratch) }
    if options.parts.contains("load") { try await runLoadBenchmark(options: options, scratch: scratch) }
    if options.parts.contains("group") { try await runGroupCommitBenchmark(options: options, scratch: scratch) }
    if options.parts.contains("audit") {
        try waitFor { try await runAuditBenchmark(options: options, scratch: scratch) }
    }
    if options.parts.contains("bundle") { try runBundleBenchmark(options: options, scratch: scratch) }
    if options.parts.contains("check") { try runCheckBenchmark(options: options, scratch: scratch) }
    if options.parts.contains("personal") { try await runPersonalBenchmark(options: options, scratch: scratch) }
} catch {
    fail("\(error)")
}
let missed = Targets.shared.summarise()
if options.strict && missed > 0 {
    try? FileManager.default.removeItem(at: scratch)
    exit(1)
}

func runImportBenchmark() throws {
    say("")
    let setupPath = scratch.appendingPathComponent("replica.sqlite").path
    var workload: Workload?
    var replicaTimes: [Double] = []
    var rawTimes: [Double] = []
    var ratios: [Double] = []
    var floorTimes: [Double] = []
    var floorRatios: [Double] = []
    for rep in 0..<options.reps {
        let setup = try Setup(path: setupPath)
        workload = Workload(rows: options.rows, setup: setup)
        let csvPath = scratch.appendingPathComponent("exchanges.csv").path
        try workload!.csv.write(toFile: csvPath, atomically: false, encoding: .utf8)
        // Alternate which side goes first, so neither always runs on a warmer cache.
        var replicaTime = 0.0
        var rawTime = 0.0
        let measureReplica = {
            let start = now()
            let count = try setup.replica.editor.importCSV(into: "exchange", from: csvPath)
            replicaTime = now() - start
            if count != options.rows { fail("imported \(count) rows, expected \(options.rows)") }
        }
        let rawPath = scratch.appendingPathComponent("raw.sqlite").path
        if rep % 2 == 0 {
            try measureReplica()
            rawTime = rawInsert(path: rawPath, workload: workload!, setup: setup)
        } else {
            rawTime = rawInsert(path: rawPath, workload: workload!, setup: setup)
            try measureReplica()
        }
        let floorTime = rawInsert(path: rawPath, workload: workload!, setup: setup, withOutbox: true)
        replicaTimes.append(replicaTime)
        rawTimes.append(rawTime)
        ratios.append(replicaTime / rawTime)
        floorTimes.append(floorTime)
        floorRatios.append(floorTime / rawTime)
    }
    func row(_ name: String, _ values: [Double], unit: String = "ms", rate: Bool = true) -> String {
        let line =
            padded(name, 58) + " " + [median(values), values.min()!, values.max()!].map(figure).joined(separator: " ")
            + " " + unit
        return rate ? line + "  (\(Int(Double(options.rows) / median(values) * 1000)) rows/s)" : line
    }
    say(padded("metric", 58) + "    median       min       max")
    say(row("1 import \(options.rows) exchanges through the replica (CSV, 1 txn)", replicaTimes))
    say(row("1 raw SQLite C API insert of the same rows (1 txn)", rawTimes))
    say(row("1 ratio replica / raw (per repetition; target <= 1.5)", ratios, unit: "x", rate: false))
    say(row("1 raw C insert + one outbox row each (the design's floor)", floorTimes))
    say(row("1 ratio floor / raw", floorRatios, unit: "x", rate: false))

    // 2. One edit, as a user makes it: a whole `tandem set` process on the replica holding N rows.
    let tandem = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("tandem").path
    guard FileManager.default.isExecutableFile(atPath: tandem) else { fail("no tandem binary beside tandem-bench") }
    let replica = try Replica.open(at: setupPath)
    let target = try replica.records(in: "exchange", limit: 1)[0].id
    var edits: [Double] = []
    var trues: [Double] = []
    for index in 0..<(options.edits + 3) {
        let status = index % 2 == 0 ? "draft" : "confirmed"
        let edit = spawn(tandem, ["set", "exchange", target, "status=\(status)", "--db", setupPath])
        let floor = spawn("/bin/true", [])
        if index >= 3 {  // the first runs warm the page cache
            edits.append(edit)
            trues.append(floor)
        }
    }
    let record = try replica.record(in: "exchange", id: target)
    if record["status"] != .text(options.edits % 2 == 0 ? "draft" : "confirmed") && options.edits > 0 {
        // The last edit must be visible: the timing measured real work.
        say("warning: last edit not visible (status \(record["status"].plainText))")
    }
    say(row("2 one `tandem set` process, start to exit", edits, rate: false) + "  (target <= 10 ms)")
    say(row("2 spawn /bin/true the same way (floor)", trues, rate: false))
}

/// `value` with thousands separated by commas: 1,000,000.
func grouped(_ value: Int) -> String {
    let digits = String(abs(value))
    var text = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { text += "," }
        text.append(digit)
    }
    return (value < 0 ? "-" : "") + text
}

/// A rate in units a second: `12,345/s`.
func rate(_ count: Int, milliseconds: Double) -> Int { Int((Double(count) / milliseconds * 1000).rounded()) }

func ratio(_ value: Double) -> String { String(format: "%.2f", value) + "x" }

/// The §7 targets met and missed in this run, printed together at the end.
final class Targets: @unchecked Sendable {
    static let shared = Targets()
    private var verdicts: [(line: String, passed: Bool)] = []
    private let lock = NSLock()

    /// Prints `PASS`/`FAIL` and what was measured against what was aimed at, and keeps it.
    func judge(_ what: String, measured: String, target: String, passed: Bool) {
        let line = "\(what): \(measured) (target \(target))"
        lock.withLock { verdicts.append((line, passed)) }
        say("  \(passed ? "PASS" : "FAIL")  \(line)")
    }

    /// Prints every verdict; returns how many targets were missed.
    func summarise() -> Int {
        let verdicts = lock.withLock { self.verdicts }
        guard !verdicts.isEmpty else { return 0 }
        let missed = verdicts.filter { !$0.passed }.count
        say("")
        say("targets (issue 9 §7, issue 10 §6): \(verdicts.count - missed) met, \(missed) missed")
        for verdict in verdicts { say("  \(verdict.passed ? "PASS" : "FAIL")  \(verdict.line)") }
        return missed
    }
}

/// Runs async work to its end from this synchronous tool. The task is made off the main actor
/// (top-level code runs on it), so that blocking the main thread cannot starve it.
nonisolated func waitFor(_ work: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: (any Error)?
    DispatchQueue.global().async {
        Task {
            do { try await work() } catch { failure = error }
            done.signal()
        }
    }
    done.wait()
    if let failure { throw failure }
}

/// ``waitFor(_:)`` for work with a result.
nonisolated func waitForValue<T>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    nonisolated(unsafe) var result: T?
    try waitFor { result = try await work() }
    return result!
}
