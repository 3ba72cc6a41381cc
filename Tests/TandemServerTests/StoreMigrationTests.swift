import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// A store made before the history was chained (migrations v1 and v2 only) opens, is chained,
/// gets its key, and goes on working; `verify` says honestly that its old entries are unsigned.
@Suite struct StoreMigrationTests {
    @Test func aStoreFromBeforeTheChainIsChainedWhenOpened() async throws {
        let queue = try DatabaseQueue()
        try SQLiteServerStore.migrator.migrate(queue, upTo: "v2")
        let now: Int64 = 1_790_000_000_000
        let clock = HLC(milliseconds: now, counter: 0, device: "server")
        let organisation = UUIDv7Generator.id(at: clock)
        let old = Change(
            changeID: UUIDv7Generator.id(at: clock), table: "organisation", recordID: organisation, op: .insert,
            fields: ["name": .string("Ministry"), "sector": .string("public")], baseVersion: 0,
            hlc: clock.description, device: "server")
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO server_meta(key, value) VALUES ('format', ?), ('schema', ?)",
                arguments: [SQLiteServerStore.format, Schema.partnership.json.serialized()])
            try db.execute(
                sql: """
                    INSERT INTO log(seq, change_id, time, tbl, record_id, author, change, outcome)
                    VALUES (1, ?, '2026-09-21T12:00:00.000Z', 'organisation', ?, ?, ?, ?)
                    """,
                arguments: [
                    old.changeID, organisation,
                    Author(organisation: nil, role: .server, device: "server").json.serialized(),
                    old.json.serialized(),
                    Outcome(status: .applied, version: 1, applied: ["name", "sector"]).json.serialized(),
                ])
        }

        let store = try SQLiteServerStore.open(queue)
        let lines = try await store.history(since: 0, limit: 10)
        #expect(lines.map(\.seq) == [1, 2], "the old entry, then the server key's registration")
        let first = try LogEntry(json: JSONValue.parse(lines[0].line))
        #expect(first.prevHash == LogEntry.genesisHash)
        #expect(try Change(json: first.change) == old)
        #expect(try JSONValue.parse(lines[1].line)["change"]?["table"] == .string(DeviceRegistry.table))
        // Chained: every hash recomputes; but the old change carries no signature, and entry 1 is
        // not the key's registration: verify names seq 1, as it should for a history from before.
        var verifier = ChainVerifier()
        #expect(throws: AuditFailure.self) { _ = try verifier.append(line: Array(lines[0].line.utf8)) }
        #expect(try await store.verify().failure?.seq == 1)

        // And it goes on working: a signed push chains on.
        let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
        let round = Change(
            changeID: UUIDv7Generator.id(at: clock), table: "round", recordID: UUIDv7Generator.id(at: clock),
            op: .insert, fields: ["number": .int(5)], baseVersion: 0, hlc: clock.description, device: "desk")
        let results = try await store.pushSigned([round], by: coordinator, now: now)
        #expect(results.map(\.status) == [.applied])
        let head = try #require(try await store.history(since: 0, limit: 10).last)
        let chained = try LogEntry(json: JSONValue.parse(head.line))
        #expect(chained.prevHash != LogEntry.genesisHash && chained.seq == head.seq)
    }
}

/// A store made before personal values were committed to (SPEC §8): its old entries hold them in
/// plain inside the chain. An erasure still erases the record and everything outside the chain,
/// and counts the entries that keep the values (`unerasable`), which the CLI reports.
@Suite struct StoreFromBeforeCommitmentsTests {
    @Test func anErasureCountsTheOldEntriesThatKeepTheValuesInsideTheChain() async throws {
        let queue = try DatabaseQueue()
        try SQLiteServerStore.migrator.migrate(queue, upTo: "v2")
        let now: Int64 = 1_790_000_000_000
        let author = Author(organisation: nil, role: .server, device: "server")
        var changes: [Change] = []
        let organisation = UUIDv7Generator.id(at: HLC(milliseconds: now, counter: 1, device: "server"))
        let person = UUIDv7Generator.id(at: HLC(milliseconds: now, counter: 2, device: "server"))
        for (counter, table, id, fields) in [
            (1, "organisation", organisation, ["name": JSONValue.string("Ministry"), "sector": .string("public")]),
            (2, "person", person, ["organisation": .string(organisation), "full_name": .string("Old Plainname")]),
        ] {
            let clock = HLC(milliseconds: now, counter: counter, device: "server")
            changes.append(
                Change(
                    changeID: UUIDv7Generator.id(at: clock), table: table, recordID: id, op: .insert, fields: fields,
                    baseVersion: 0, hlc: clock.description, device: "server"))
        }
        let made = changes
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO server_meta(key, value) VALUES ('format', ?), ('schema', ?)",
                arguments: [SQLiteServerStore.format, Schema.partnership.json.serialized()])
            for (index, change) in made.enumerated() {
                let outcome = Outcome(status: .applied, version: 1, applied: change.fields.keys.sorted())
                try db.execute(
                    sql: """
                        INSERT INTO log(seq, change_id, time, tbl, record_id, author, change, outcome)
                        VALUES (?, ?, '2026-09-21T12:00:00.000Z', ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        index + 1, change.changeID, change.table, change.recordID, author.json.serialized(),
                        change.json.serialized(), outcome.json.serialized(),
                    ])
                // The record as stores kept it then: a field's value with its stamp.
                let state = JSONValue.object(
                    change.fields.sorted { $0.key < $1.key }.map { name, value in
                        JSONMember(
                            name,
                            .object([
                                JSONMember("value", value), JSONMember("version", .int(1)),
                                JSONMember("change_id", .string(change.changeID)),
                                JSONMember("hlc", .string(change.hlc)), JSONMember("author", author.json),
                            ]))
                    })
                try db.execute(
                    sql: "INSERT INTO record(id, tbl, version, deleted, last_seq, state) VALUES (?, ?, 1, 0, ?, ?)",
                    arguments: [change.recordID, change.table, index + 1, state.serialized()])
            }
        }
        let store = try SQLiteServerStore.open(queue)
        let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
        let erased = try await store.erase(EraseRequest(table: "person", recordID: person), by: coordinator, now: now)
        #expect(erased.erased == ["full_name"] && erased.unerasable == 1)
        let record = try #require(
            try await store.pull(since: 0, limit: 100, for: coordinator).items.last {
                $0.recordID == person
            })
        #expect(record.record == ["organisation": .string(organisation)])
        // The old entry keeps the name (the chain would break without it); the store says so.
        let lines = try await store.history(since: 0, limit: 100)
        #expect(lines.filter { $0.line.contains("Old Plainname") }.count == 1)
    }
}
