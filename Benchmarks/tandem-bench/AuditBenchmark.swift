// The auditor's side (issue #5): `tandem audit pull` of a long history from a real server, then
// `tandem audit verify` of it, as processes — wall time, entries/s and peak memory (max RSS) —
// beside `tandem-server verify` on the store and a raw SQLite scan of the same entries.
//
// The history is written straight into the store's log (as the server would: entries chained
// with LogEntry, changes signed by a registered device), because merging a million changes
// first would take most of an hour and measure the merge, not the audit.

import Dispatch
import Foundation
import GRDB
import TandemProtocol
import TandemServer
import TandemTesting

func runAuditBenchmark(options: Options, scratch: URL) async throws {
    let count = options.entries
    let wall = Int64(Date().timeIntervalSince1970 * 1000)
    let server = try ServerProcess.start(arguments: ["--pull-rate", "0", "--push-rate", "0"])
    defer { server.stop() }
    let store = try SQLiteServerStore.open(directory: server.data)
    let device = "bench-device"
    let key = SigningKey()
    let principal = Principal(tokenID: "bench", organisation: nil, role: .coordinator)
    _ = try await store.registerDevice(device, publicKey: key.publicKey, by: principal, now: wall)

    say("")
    var start = now()
    let sample = try writeHistory(count: count, device: device, key: key, to: server.data + "/store.sqlite", wall: wall)
    say(padded("4 writing a history of \(count) signed entries (setup)", 58) + figure(now() - start) + " ms")

    start = now()
    let scanned = try rawScan(server.data + "/store.sqlite")
    let raw = now() - start
    say(padded("  raw SQLite: read every entry's text (\(scanned / 1_048_576) MiB)", 58) + figure(raw) + " ms")

    // The other floor: Ed25519 itself (swift-crypto's BoringSSL), as verify runs it on every core.
    let floor = Ed25519Floor.measure(sample)
    say("  " + floor.line)

    let serverBinary = BinaryRunner.binaryDirectory.appendingPathComponent("tandem-server").path
    let serverVerify = measure(serverBinary, ["verify", "--data", server.data])
    report("  tandem-server verify", serverVerify, entries: count, raw: raw)

    let tandem = BinaryRunner.binaryDirectory.appendingPathComponent("tandem").path
    let auditor = try server.admin(["token", "issue", "--role", "auditor"]).output
    let db = scratch.appendingPathComponent("auditor.sqlite").path
    for arguments in [["init", "--db", db], ["remote", server.url, "--token", auditor, "--db", db]] {
        let result = measure(tandem, arguments)
        if result.status != 0 { fail("tandem \(arguments[0]) exited \(result.status)") }
    }
    let pull = measure(tandem, ["audit", "pull", "--db", db])
    report("  tandem audit pull (HTTP, into the replica file)", pull, entries: count, raw: raw)
    let verify = measure(tandem, ["audit", "verify", "--db", db])
    report("  tandem audit verify (chain + \(count) Ed25519 signatures)", verify, entries: count, raw: raw)
    let verifyRate = Double(count) / verify.milliseconds * 1000
    // CPU time does not depend on what else the machine runs, as wall time does: how much of
    // verify's CPU time Ed25519 alone would take, at the CPU cost of one verification here.
    let ed25519CPU = ed25519CPUMicroseconds(sample)
    say(
        "  CPU time: audit verify \(grouped(Int(verify.cpuMilliseconds))) ms = "
            + "\(String(format: "%.1f", verify.cpuMilliseconds * 1000 / Double(count))) µs an entry; one Ed25519 "
            + "verification \(String(format: "%.1f", ed25519CPU)) µs (thread CPU time) = "
            + "\(ratio(ed25519CPU * Double(count) / 1000 / verify.cpuMilliseconds)) of verify's CPU; "
            + "audit pull \(grouped(Int(pull.cpuMilliseconds))) ms")
    // For profiling `tandem audit verify` again without the set-up: keep the auditor's file.
    if let keep = ProcessInfo.processInfo.environment["TANDEM_BENCH_KEEP_AUDIT"] {
        try? FileManager.default.removeItem(atPath: keep)
        try FileManager.default.copyItem(atPath: db, toPath: keep)
    }
    say("")
    say("§7.5 `tandem audit verify` (child process, start to exit) of \(grouped(count)) entries")
    Targets.shared.judge(
        "§7.5 audit verify / Ed25519 floor on all \(floor.cores) cores",
        measured: "\(grouped(Int(verifyRate))) entries/s vs \(grouped(Int(floor.allCores)))/s = "
            + "\(ratio(verifyRate / floor.allCores)) (1-core floor \(grouped(Int(floor.oneCore)))/s: "
            + "\(ratio(verifyRate / floor.oneCore)); peak RSS \(grouped(verify.maxRSSKiB / 1024)) MiB)",
        target: ">= 0.90x the all-core floor", passed: verifyRate >= 0.9 * floor.allCores)
}

/// Appends `count` entries to the log: exchange inserts by `device`, signed, chained on the head.
/// Returns the signatures of the first 100,000 (the Ed25519 floor's sample).
private func writeHistory(
    count: Int, device: String, key: SigningKey, to path: String, wall: Int64
) throws -> [RawSignature] {
    var sample: [RawSignature] = []
    var configuration = Configuration()
    configuration.busyMode = .timeout(30)
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    var head =
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1").map {
                (seq: $0["seq"] as Int64, hash: $0["hash"] as String)
            }
        } ?? (seq: 0, hash: LogEntry.genesisHash)
    let author = Author(organisation: nil, role: .coordinator, device: device)
    let time = Timestamp.string(milliseconds: wall)
    let chunk = 10_000
    var written = 0
    while written < count {
        let size = min(chunk, count - written)
        let base = written
        // Signing is most of the work: spread over the cores, as a fleet of devices would have.
        let changes = (base..<(base + size)).map { index in
            let clock = HLC(milliseconds: wall - 60_000, counter: index % 100_000, device: device)
            return Change(
                changeID: UUIDv7Generator.id(at: clock), table: "exchange", recordID: UUIDv7Generator.id(at: clock),
                op: .insert,
                fields: [
                    "status": .string("confirmed"), "starts_on": .string("2026-05-04"),
                    "ends_on": .string("2026-05-08"), "notes": .string("Exchange \(index)"),
                ], baseVersion: 0, hlc: clock.description, device: device)
        }.signed(with: key)
        for change in changes.prefix(100_000 - sample.count) {
            guard let signature = RawSignature(change, publicKey: key.publicKey) else { fail("an unsigned change") }
            sample.append(signature)
        }
        try queue.write { db in
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO log(seq, change_id, time, tbl, record_id, entry, prev_hash, hash, item)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for change in changes {
                let outcome = Outcome(status: .applied, version: 1, applied: change.fields.keys.sorted())
                let (entry, line) = LogEntry.chained(
                    seq: head.seq + 1, time: time, author: author, change: change.json, outcome: outcome.json,
                    prevHash: head.hash)
                // The pull item as the store renders it when it writes an entry (`verify` compares them).
                let item = PullItem.Entry(change, author: author, time: time, outcome: outcome).json.serialized()
                try insert.execute(arguments: [
                    entry.seq, change.changeID, time, change.table, change.recordID, line, entry.prevHash,
                    entry.hash, item,
                ])
                head = (entry.seq, entry.hash)
            }
        }
        written += size
    }
    return sample
}

/// The thread CPU time of one Ed25519 verification, in µs (the first 20,000 of the sample, one thread).
private func ed25519CPUMicroseconds(_ sample: [RawSignature]) -> Double {
    func cpuNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1e6 + Double(time.tv_nsec) / 1000
    }
    let checks = sample.prefix(20_000)
    let start = cpuNow()
    for check in checks where !check.verify() { fail("a benchmark signature does not verify") }
    return (cpuNow() - start) / Double(checks.count)
}

/// Raw SQLite: every entry's text read once, in seq order (the floor of any audit pass). Bytes read.
private func rawScan(_ path: String) throws -> Int {
    let queue = try DatabaseQueue(path: path)
    return try queue.read { db in
        var bytes = 0
        let cursor = try String.fetchCursor(db, sql: "SELECT entry FROM log ORDER BY seq")
        while let line = try cursor.next() { bytes += line.utf8.count }
        return bytes
    }
}

struct Measured {
    var milliseconds: Double
    var maxRSSKiB: Int
    var status: Int32
    /// The child's CPU time, user and system, on every thread (from `wait4`).
    var cpuMilliseconds: Double = 0
}

/// Runs a process to its end (stdout and stderr to /dev/null) and measures its wall time and peak
/// memory. The peak is the kernel's high-water mark of the process's own image (`VmHWM` in
/// `/proc/PID/status`), read every 10 ms while it runs: `ru_maxrss` would also count the
/// benchmark's own memory, which the child shares between fork and exec.
///
/// - Parameters:
///   - sampleMemory: false for a start-up timing: no polling, a blocking wait.
///   - pollMicroseconds: how often the peak is read.
func measure(
    _ executable: String, _ arguments: [String], sampleMemory: Bool = true, pollMicroseconds: UInt32 = 10_000
) -> Measured {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = now()
    guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else { fail("cannot run \(executable)") }
    var status: Int32 = 0
    var peak = 0
    var usage = rusage()
    if sampleMemory {
        while wait4(pid, &status, WNOHANG, &usage) == 0 {
            peak = max(peak, highWaterMarkKiB(of: pid))
            usleep(pollMicroseconds)
        }
    } else {
        wait4(pid, &status, 0, &usage)
    }
    func milliseconds(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
    return Measured(
        milliseconds: now() - start, maxRSSKiB: peak, status: status >> 8 & 0xFF,
        cpuMilliseconds: milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime))
}

/// `VmHWM` of a running process, in KiB (0 when it cannot be read).
private func highWaterMarkKiB(of pid: pid_t) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

private func report(_ name: String, _ result: Measured, entries: Int, raw: Double) {
    if result.status != 0 { fail("\(name) exited \(result.status)") }
    say(
        padded(name, 58) + figure(result.milliseconds) + " ms  \(Int(Double(entries) / result.milliseconds * 1000))/s  "
            + "peak \(result.maxRSSKiB / 1024) MiB  ×\(String(format: "%.1f", result.milliseconds / raw)) raw")
}
