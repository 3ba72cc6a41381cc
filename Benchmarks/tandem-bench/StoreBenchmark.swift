// §7.1 The store's own share of a push: exchange inserts merged straight into an SQLiteServerStore
// (no HTTP, no client), timed in a window of W changes when the store already holds 10k, 100k,
// 1M… records (`--held`). The changes are signed before the clock starts by a device registered
// beforehand; the exchanges go round 1,000 persons. Beside each window: TandemProtocol's signature
// check of the same changes alone (so the merge can be read without it), and raw SQLite inserting
// as many rows into a table holding as many, with one prepared statement in one transaction.
//
// Only the `ServerStore` protocol and `StoreLocation` are used, so this survives changes to the
// store's insides, and runs on PostgreSQL as well (`--only postgres`, PostgresBenchmark.swift).

import Foundation
import TandemProtocol
import TandemServer
import TandemTesting

/// A server store filled with exchange inserts, in big batches, to be timed at given sizes.
final class HeldStore: @unchecked Sendable {
    let directory: String
    let store: any ServerStore
    let serverKey: SigningKey
    let coordinatorToken: String
    let principal: Principal
    let device: String
    let key: SigningKey
    let round: String
    let home: String
    let host: String
    let persons: [String]
    /// Records the store holds (organisations, the round, persons and exchanges).
    private(set) var records = 0
    /// The openings of the persons' committed names.
    private var openings = Openings()
    private var made = 0
    private let wall: Int64
    private var random = FastRandom()

    /// Changes a push sends when the store is filled (one transaction each).
    static let fillBatch = 5000

    /// A new store in `directory` with two organisations, a round and `persons` persons, and a
    /// registered device whose key signs everything pushed here.
    ///
    /// - Parameter database: a PostgreSQL URL: the store is made there instead of in `directory`.
    init(directory: String, persons personCount: Int = 1000, database: String? = nil) async throws {
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        let device = "bench-device"
        let key = SigningKey()
        let location: StoreLocation =
            if let database { .postgres(try PostgresURL(database), directory: nil) } else { .directory(directory) }
        let (store, coordinatorToken) = try await location.create(now: wall)
        guard let adapter = store as? any StoreAdapter else { fail("the store is not an adapter of the core") }
        guard let principal = try await store.authenticate(token: coordinatorToken) else {
            fail("the new store does not know its coordinator token")
        }
        let (home, _) = try await store.addOrganisation(name: "Ministry", sector: "public", now: wall)
        let (host, _) = try await store.addOrganisation(name: "Kovina", sector: "private", now: wall)
        _ = try await store.registerDevice(device, publicKey: key.publicKey, by: principal, now: wall)
        var setup = [Self.change(table: "round", fields: ["number": .int(5)], index: 0, wall: wall, device: device)]
        let round = setup[0].recordID
        var persons: [String] = []
        for index in 0..<personCount {
            let person = Self.change(
                table: "person", fields: ["organisation": .string(home), "full_name": .string("Employee \(index)")],
                index: index + 1, wall: wall, device: device)
            persons.append(person.recordID)
            setup.append(person)
        }
        self.directory = directory
        self.wall = wall
        self.device = device
        self.key = key
        self.store = store
        serverKey = adapter.serverKey
        self.coordinatorToken = coordinatorToken
        self.principal = principal
        self.home = home
        self.host = host
        self.round = round
        self.persons = persons
        made = setup.count
        // The persons' names are committed to, as a replica's would be (SPEC §8).
        let sealed = setup.map {
            $0.sealed(personal: Schema.partnership.personalFields(of: $0.table), salts: SaltKey(key))
        }
        openings = Openings(sealed.flatMap(\.openings))
        try await push(sealed.map(\.change).signed(with: key), batch: Self.fillBatch)
        records = 2 + setup.count
    }

    private static func change(table: String, fields: [String: JSONValue], index: Int, wall: Int64, device: String)
        -> Change
    {
        let clock = HLC(milliseconds: wall + Int64(index / 100_000), counter: index % 100_000, device: device)
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: UUIDv7Generator.id(at: clock),
            op: .insert, fields: fields, baseVersion: 0, hlc: clock.description, device: device)
    }

    /// `count` new exchange inserts, signed by the device.
    func exchanges(_ count: Int) -> [Change] {
        let start = made
        made += count
        return (start..<(start + count)).map { index in
            Self.change(
                table: "exchange",
                fields: [
                    "round": .string(round), "person": .string(persons[index % persons.count]), "home": .string(home),
                    "host": .string(host), "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
                    "status": .string("confirmed"), "notes": .string(randomNote(using: &random)),
                ], index: index, wall: wall, device: device)
        }.signed(with: key)
    }

    /// Milliseconds ``ServerCore/receive(_:by:registrations:serverKey:)`` takes to judge `changes`
    /// in batches of `batch`, as a push does before its transaction (canonical bytes, signatures
    /// checked on every core): what "excluding signature verification" takes out.
    func timeReceiving(_ changes: [Change], batch: Int) -> Double {
        let registrations = [
            device: KnownDevice(organisation: nil, role: .coordinator, publicKey: key.publicKey)
        ]
        let start = now()
        for first in stride(from: 0, to: changes.count, by: batch) {
            let judged = ServerCore.receive(
                Array(changes[first..<min(first + batch, changes.count)]), by: principal,
                registrations: registrations, serverKey: serverKey)
            if judged.contains(where: { !$0.isSigned }) { fail("a benchmark change is not signed") }
        }
        return now() - start
    }

    /// Pushes `changes` in batches of `batch`, each one transaction; every one must be applied.
    func push(_ changes: [Change], batch: Int) async throws {
        for start in stride(from: 0, to: changes.count, by: batch) {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let results = try await store.push(
                Array(changes[start..<min(start + batch, changes.count)]), carrying: [], values: openings,
                by: principal, now: now)
            if let refused = results.first(where: { $0.status != .applied }) { fail("store push: \(refused)") }
        }
        records += changes.filter { $0.table == "exchange" }.count
    }

    /// Pushes `changes` one at a time from `pushers` tasks at once (replicas each syncing a small
    /// edit); every one must be applied. Returns the milliseconds it took.
    func pushConcurrently(_ changes: [Change], pushers: Int) async throws -> Double {
        let (store, principal, openings) = (store, principal, openings)
        let start = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pusher in 0..<pushers {
                group.addTask {
                    for index in stride(from: pusher, to: changes.count, by: pushers) {
                        let results = try await store.push(
                            [changes[index]], carrying: [], values: openings, by: principal,
                            now: Int64(Date().timeIntervalSince1970 * 1000))
                        if results.first?.status != .applied { fail("store push: \(results)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        records += changes.count
        return now() - start
    }

    /// A window of `count` new exchange inserts pushed in batches of 500 (the client's): the
    /// records held before it, and milliseconds merging and judging it (``timeReceiving(_:batch:)``).
    func timeWindow(_ count: Int) async throws -> (changes: [Change], held: Int, merge: Double, verification: Double) {
        let changes = exchanges(count)
        let held = records
        let (start, startCPU) = (now(), processCPU())
        try await push(changes, batch: 500)
        let merge = now() - start
        lastWindowCPU = processCPU() - startCPU
        return (changes, held, merge, timeReceiving(changes, batch: 500))
    }

    /// Milliseconds of CPU (user and system, every thread of this process) the last
    /// ``timeWindow(_:)`` merged with: on a shared machine, steadier than its wall time.
    private(set) var lastWindowCPU = 0.0

    /// ``fill(to:)``, saying how far and how fast it filled (when it had to).
    func fillSaying(to target: Int) async throws {
        let filling = records
        let fillTime = try await fill(to: target)
        guard records > filling else { return }
        say(
            "  (filled from \(grouped(filling)) to \(grouped(records)) records, batches of "
                + "\(grouped(Self.fillBatch)): \(grouped(rate(records - filling, milliseconds: fillTime))) changes/s)")
    }

    /// Pushes exchanges (signed in chunks, pushed in batches of ``fillBatch``) until the store
    /// holds `target` records. Returns the milliseconds spent pushing (signing not counted).
    func fill(to target: Int) async throws -> Double {
        var pushing = 0.0
        while records < target {
            let chunk = exchanges(min(50_000, target - records))
            let start = now()
            try await push(chunk, batch: Self.fillBatch)
            pushing += now() - start
        }
        return pushing
    }
}

struct MergeWindow {
    var held: Int
    var milliseconds: Double
    var verification: Double
    var raw: Double
    var count: Int

    var rate: Double { Double(count) / milliseconds * 1000 }
    /// The rate with TandemProtocol's signature check (timed alone) taken out.
    var rateWithoutVerification: Double { Double(count) / max(milliseconds - verification, 0.001) * 1000 }
    var rawRate: Double { Double(count) / raw * 1000 }
}

/// The store's B-tree entries a change of the window added, and the rate at which writing them
/// alone, at the raw floor's speed (two entries a raw row), would go: the most the data model allows.
private func sayCeiling(added: [String: Int], changes: Int, rawRate: Double) {
    let entries = Double(added.values.reduce(0, +)) / Double(changes)
    let parts = added.filter { Double($0.value) / Double(changes) >= 0.05 }.sorted { $0.value > $1.value }.map {
        table, count in
        "\(table) \(String(format: "%.1f", Double(count) / Double(changes)))"
    }
    let ceiling = rawRate * 2 / entries
    say(
        "  (it added \(String(format: "%.1f", entries)) B-tree entries a change (rows and index entries: "
            + parts.joined(separator: ", ") + "); at the raw floor's 2 a row, writing them alone "
            + "goes at most \(grouped(Int(ceiling))) changes/s)")
}

func runStoreBenchmark(options: Options, scratch: URL) async throws -> HeldStore {
    let held = try await HeldStore(directory: scratch.appendingPathComponent("held-store").path)
    let raw = RawTable(path: scratch.appendingPathComponent("raw-held.sqlite").path)
    let window = options.window
    say("")
    say(
        "§7.1 merge of exchange inserts straight into the store (no HTTP; signed beforehand by a registered device; "
            + "round 1,000 persons; windows pushed in batches of 500, the client's; fill in batches of "
            + "\(grouped(HeldStore.fillBatch)))")
    say(
        "  " + padded("held", 11) + padded("window", 9) + padded("merge", 22) + padded("sig. check alone", 24)
            + padded("merge excl. sig.", 18) + padded("raw SQLite floor", 26) + "merge/raw")
    var windows: [MergeWindow] = []
    for size in options.held {
        try await held.fillSaying(to: size)
        // The raw floor's table holds as many rows, filled untimed.
        let filler = RawRows(
            count: held.records - raw.rows, round: held.round, home: held.home, host: held.host, persons: held.persons)
        raw.insert(count: held.records - raw.rows, row: filler.row)
        let file = URL(fileURLWithPath: held.directory).appendingPathComponent("store.sqlite").path
        let before = try StoreFootprint(path: file)
        let (changes, records, merge, verification) = try await held.timeWindow(window)
        let added = try StoreFootprint(path: file).added(since: before)
        let rows = changes.map(RawTable.row(of:))
        let rawTime = raw.insert(count: rows.count) { rows[$0] }
        let measured = MergeWindow(
            held: records, milliseconds: merge, verification: verification, raw: rawTime, count: changes.count)
        windows.append(measured)
        sayCeiling(added: added, changes: changes.count, rawRate: measured.rawRate)
        let cpu = held.lastWindowCPU * 1000 / Double(changes.count)
        say(
            "  (the merge of those \(grouped(changes.count)) took \(grouped(Int(cpu))) µs of this process's CPU a change)"
        )
        say(
            "  " + padded(grouped(records), 11) + padded(grouped(window), 9)
                + padded("\(grouped(Int(merge))) ms \(grouped(Int(measured.rate)))/s", 22)
                + padded(
                    "\(grouped(Int(verification))) ms \(grouped(rate(window, milliseconds: verification)))/s", 24)
                + padded("\(grouped(Int(measured.rateWithoutVerification)))/s", 18)
                + padded("\(grouped(Int(rawTime))) ms \(grouped(Int(measured.rawRate))) rows/s", 26)
                + ratio(measured.rate / measured.rawRate))
    }
    say(
        "  (rates in changes/s; sig. check alone: ServerCore.receive of the same changes in batches of 500, as push runs it before "
            + "its transaction: canonical bytes, signatures on every core;"
    )
    say("   raw SQLite floor: as many rows, one prepared INSERT, one transaction, into a table holding as many)")
    for measured in windows {
        Targets.shared.judge(
            "§7.1 merge excl. signature check, \(grouped(measured.held)) held",
            measured: "\(grouped(Int(measured.rateWithoutVerification))) changes/s "
                + "(\(grouped(Int(measured.rate)))/s with it; raw SQLite floor \(grouped(Int(measured.rawRate))) rows/s, "
                + "ratio \(ratio(measured.rateWithoutVerification / measured.rawRate)))",
            target: ">= 50,000 changes/s", passed: measured.rateWithoutVerification >= 50_000)
    }
    if let first = windows.first, let last = windows.last, windows.count > 1 {
        Targets.shared.judge(
            "§7.1 merge rate at \(grouped(last.held)) held / at \(grouped(first.held)) held",
            measured:
                "\(ratio(last.rate / first.rate)) (\(grouped(Int(last.rate)))/s vs \(grouped(Int(first.rate)))/s; "
                + "excl. signature check \(ratio(last.rateWithoutVerification / first.rateWithoutVerification)); "
                + "raw floor \(ratio(last.rawRate / first.rawRate)))",
            target: ">= 0.80x", passed: last.rate >= 0.8 * first.rate)
    }
    return held
}
