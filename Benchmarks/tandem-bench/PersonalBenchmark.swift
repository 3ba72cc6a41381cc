// Issue 14 §6: what commitments to personal values cost (SPEC §8), and an erasure.
//
//   client   sealing N person inserts (4 personal values each: HMAC salts, SHA-256 commitments)
//            and signing them, vs. signing the same changes unsealed.
//   push     N person inserts (4 committed values, openings beside) merged straight into an
//            SQLiteServerStore, vs. N organisation inserts of the same shape (4 plain text values),
//            in batches of 500 (the client's).
//   pull     a coordinator's pull of those entries (openings read and sent beside), vs. the
//            organisations' entries.
//   erase    the erasure of a person with 1,000 history entries (a transaction, the openings
//            deleted, a truncating WAL checkpoint), and `verify` of the store after it.

import Foundation
import TandemProtocol
import TandemServer
import TandemTesting

func runPersonalBenchmark(options: Options, scratch: URL) async throws {
    let count = min(options.rows, 20_000)
    say("\n== personal data (issue 14 §6): \(count) changes, 4 personal values each ==")
    let key = SigningKey()
    let device = "bench-personal"
    let wall = Int64(Date().timeIntervalSince1970 * 1000)
    func change(_ table: String, _ index: Int, _ fields: [String: JSONValue]) -> Change {
        let clock = HLC(milliseconds: wall + Int64(index / 50_000), counter: index % 50_000, device: device)
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: UUIDv7Generator.id(at: clock),
            op: .insert, fields: fields, baseVersion: 0, hlc: clock.description, device: device)
    }
    let directory = scratch.appendingPathComponent("personal-store").path
    let (store, token) = try await StoreLocation.directory(directory).create(now: wall)
    guard let coordinator = try await store.authenticate(token: token) else { fail("personal: no coordinator") }
    let (organisation, _) = try await store.addOrganisation(name: "Ministry", sector: "public", now: wall)
    _ = try await store.registerDevice(device, publicKey: key.publicKey, by: coordinator, now: wall)

    // Client: sealing and signing.
    let persons = (0..<count).map { index in
        change(
            "person", index,
            [
                "organisation": .string(organisation), "full_name": .string("Employee Number \(index)"),
                "title": .string("Senior adviser"), "email": .string("employee.\(index)@ministry.example"),
                "phone": .string("+386 1 478 \(1000 + index % 9000)"),
            ])
    }
    let organisations = (0..<count).map { index in
        change(
            "organisation", count + index,
            [
                "name": .string("Organisation Number \(index)"), "sector": .string("public"),
                "address": .string("Senior adviser"), "web": .string("https://org\(index).example"),
                "email": .string("office.\(index)@org.example"),
            ])
    }
    let personal = Schema.partnership.personalFields(of: "person")
    let salts = SaltKey(key)
    var start = now()
    let sealed = persons.map { $0.sealed(personal: personal, salts: salts) }
    let signedPersons = sealed.map(\.change).signed(with: key)
    let sealing = now() - start
    start = now()
    _ = persons.signed(with: key)
    let signingOnly = now() - start
    let openings = Openings(sealed.flatMap(\.openings))
    // The server's share before its transaction: each commitment checked against its opening.
    start = now()
    let opened = signedPersons.filter { (try? $0.opened(openings, personal: personal).get()) != nil }.count
    let opening = now() - start
    guard opened == count else { fail("personal: \(count - opened) changes did not open") }
    say(
        String(
            format:
                "  client   seal + sign %.1f µs a change, sign alone %.1f µs (sealing %.1f µs: 4 salts, 4 commitments); server: opening %.1f µs a change",
            sealing * 1000 / Double(count), signingOnly * 1000 / Double(count),
            (sealing - signingOnly) * 1000 / Double(count), opening * 1000 / Double(count)))

    // Server: the same number of changes of the same shape, with and without commitments.
    func push(_ changes: [Change], values: Openings) async throws -> Double {
        let start = now()
        for first in stride(from: 0, to: changes.count, by: 500) {
            let results = try await store.push(
                Array(changes[first..<min(first + 500, changes.count)]), carrying: [], values: values,
                by: coordinator, now: Int64(Date().timeIntervalSince1970 * 1000))
            if let refused = results.first(where: { $0.status != .applied }) { fail("personal push: \(refused)") }
        }
        return now() - start
    }
    let plainPush = try await push(organisations.signed(with: key), values: Openings())
    let sealedPush = try await push(signedPersons, values: openings)
    say(
        String(
            format:
                "  push     persons %.0f changes/s (4 committed values and their openings kept; a personal table: its readers kept too), organisations %.0f changes/s (4 plain): %.2f×",
            Double(count) / sealedPush * 1000, Double(count) / plainPush * 1000, plainPush / sealedPush))

    // Pull: a coordinator reads both back, page by page.
    let head = try await store.headSeq()
    func pull(from first: Int64, through last: Int64) async throws -> (milliseconds: Double, bytes: Int) {
        var cursor = first
        var bytes = 0
        let start = now()
        while cursor < last {
            let page = try await store.pullPage(since: cursor, limit: 10_000, for: coordinator)
            bytes += page.json(checkpoint: nil).utf8.count
            guard page.next > cursor else { break }
            cursor = min(page.next, last)
        }
        return (now() - start, bytes)
    }
    let organisationsPulled = try await pull(from: head - Int64(2 * count), through: head - Int64(count))
    let personsPulled = try await pull(from: head - Int64(count), through: head)
    say(
        String(
            format:
                "  pull     persons %.0f items/s, %.0f bytes an item (values beside); organisations %.0f items/s, %.0f bytes an item",
            Double(count) / personsPulled.milliseconds * 1000, Double(personsPulled.bytes) / Double(count),
            Double(count) / organisationsPulled.milliseconds * 1000,
            Double(organisationsPulled.bytes) / Double(count)))

    // An erasure of a person with 1,000 history entries.
    let ana = persons[0].recordID
    var version: Int64 = 1
    var edits: [Change] = []
    for index in 0..<999 {
        let clock = HLC(milliseconds: wall + 10, counter: index, device: device)
        edits.append(
            Change(
                changeID: UUIDv7Generator.id(at: clock), table: "person", recordID: ana, op: .update,
                fields: ["title": .string("Title \(index)")], baseVersion: version, hlc: clock.description,
                device: device))
        version += 1
    }
    let sealedEdits = edits.map { $0.sealed(personal: personal, salts: salts) }
    _ = try await push(sealedEdits.map(\.change).signed(with: key), values: Openings(sealedEdits.flatMap(\.openings)))
    start = now()
    let erased = try await store.erase(
        EraseRequest(table: "person", recordID: ana), by: coordinator, now: Int64(Date().timeIntervalSince1970 * 1000))
    let erasing = now() - start
    start = now()
    let report = try await store.verify()
    let verifying = now() - start
    guard report.failure == nil, erased.erased.count == 4 else {
        fail("personal: the store does not verify after the erasure: \(String(describing: report.failure))")
    }
    say(
        String(
            format:
                "  erase    a person with 1,000 entries: %.1f ms (seq %lld); verify of %lld entries after it %.0f ms",
            erasing, erased.seq, report.entries, verifying))
}
