// The server's own share of a push: N insert changes merged straight into an SQLiteServerStore
// (no HTTP, no client), in batches of 500 — to see how much of a sync is the store.

import Foundation
import GRDB
import TandemProtocol
import TandemServer
import TandemTesting

func runStoreBenchmark(options: Options, scratch: URL) async throws {
    let directory = scratch.appendingPathComponent("store").path
    let wall = Int64(Date().timeIntervalSince1970 * 1000)
    let (store, _) = try SQLiteServerStore.create(directory: directory, now: wall)
    let (home, _) = try await store.addOrganisation(name: "Ministry", sector: "public", now: wall)
    let (host, _) = try await store.addOrganisation(name: "Kovina", sector: "private", now: wall)
    let coordinator = Principal(tokenID: "bench", organisation: nil, role: .coordinator)
    var counter = 0
    func change(_ table: String, _ fields: [String: JSONValue]) -> Change {
        counter += 1
        let clock = HLC(milliseconds: wall, counter: counter % 4096, device: "bench")
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: UUIDv7Generator.id(at: clock), op: .insert,
            fields: fields, baseVersion: 0, hlc: clock.description, device: "bench")
    }
    let round = change("round", ["number": .int(5)])
    var setup = [round]
    var persons: [String] = []
    for index in 0..<1000 {
        let person = change("person", ["organisation": .string(home), "full_name": .string("Employee \(index)")])
        persons.append(person.recordID)
        setup.append(person)
    }
    _ = try await store.pushSigned(setup, by: coordinator, now: wall)
    // Signed before the clock starts, as a replica signs them before sending.
    let unsigned = (0..<options.rows).map { index in
        change(
            "exchange",
            [
                "round": .string(round.recordID), "person": .string(persons[index % persons.count]),
                "home": .string(home), "host": .string(host), "starts_on": .string("2026-05-04"),
                "ends_on": .string("2026-05-08"), "status": .string("confirmed"),
            ])
    }
    let changes = try await TestDevices.shared.sign(unsigned, for: coordinator, in: store, now: wall)
    let start = now()
    for batch in stride(from: 0, to: changes.count, by: 500) {
        let results = try await store.push(
            Array(changes[batch..<min(batch + 500, changes.count)]), by: coordinator, now: wall)
        if results.contains(where: { $0.status != .applied }) {
            fail("store push: \(results.first { $0.status != .applied }!)")
        }
    }
    let elapsed = now() - start
    say("")
    say(
        padded("3 store-only merge of \(options.rows) inserts (batches of 500)", 58) + figure(elapsed) + " ms  "
            + "\(Int(Double(options.rows) / elapsed * 1000))/s")
}
