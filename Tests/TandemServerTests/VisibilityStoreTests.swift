import GRDB
import Synchronization
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// Read visibility on the SQLite store (SPEC §6, docs/visibility.md): the world the reference-leak
/// probes (ReferenceLeakStoreTests) start from, and how a store made before visibility learns who
/// reads what. How records arrive and leave, and what each token's pull and conflicts hold, are
/// in StoreSuiteVisibilityTests and StoreSuiteConflictTests, run over every kind of store.
@Suite struct VisibilityStoreTests {
    let store: SQLiteServerStore
    let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
    let now: Int64 = 1_790_000_000_000
    var ministry = ""
    var company = ""
    var town = ""
    var round = ""
    /// The randomness of ids and clocks: seeded and printed, `TANDEM_SEED` replays a run.
    let random: SeededSource

    init() async throws {
        let seed = SeededGenerator.seedFromEnvironment()
        print("VisibilityStoreTests seed \(seed) (TANDEM_SEED=\(seed) replays it)")
        random = SeededSource(seed: seed)
        store = try SQLiteServerStore.create(in: try DatabaseQueue())
        ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
        town = try await store.addOrganisation(name: "Town", sector: "municipality", now: now).id
        round = newID()
        expectStatus(
            [.applied], try await push([change(.insert, "round", round, ["number": .int(5)], base: 0)], by: coordinator)
        )
    }

    // MARK: - Helpers

    func member(_ organisation: String) -> Principal {
        Principal(tokenID: organisation, organisation: organisation, role: .member)
    }

    func newID() -> String {
        random.id(at: HLC(milliseconds: now, counter: random.counter(), device: ""))
    }

    func change(
        _ op: TandemProtocol.Operation, _ table: String, _ id: String, _ fields: [String: JSONValue], base: Int64
    ) -> Change {
        let clock = HLC(milliseconds: now, counter: random.counter(), device: "d")
        return Change(
            changeID: random.id(at: clock), table: table, recordID: id, op: op, fields: fields,
            baseVersion: base, hlc: clock.description, device: "d")
    }

    func push(_ changes: [Change], by principal: Principal) async throws -> [PushResult] {
        try await store.pushSigned(changes, by: principal, now: now)
    }

    func expectStatus(
        _ statuses: [Outcome.Status], _ results: [PushResult], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(results.map(\.status) == statuses, "\(results)", sourceLocation: sourceLocation)
    }

    /// Every page after `since`, as a replica pulls them; returns the items and the final cursor.
    func pullAll(
        _ principal: Principal, since: Int64 = 0, limit: Int = 1000
    ) async throws -> (items: [PullItem], next: Int64) {
        try await store.pullAll(principal, since: since, limit: limit)
    }

    func person(of organisation: String, _ name: String, by principal: Principal? = nil) async throws -> String {
        let id = newID()
        try await expectStatus(
            [.applied],
            push(
                [
                    change(
                        .insert, "person", id, ["organisation": .string(organisation), "full_name": .string(name)],
                        base: 0)
                ], by: principal ?? member(organisation)))
        return id
    }

    func exchange(person: String, home: String, host: String) async throws -> String {
        let id = newID()
        try await expectStatus(
            [.applied],
            push(
                [
                    change(
                        .insert, "exchange", id,
                        [
                            "round": .string(round), "person": .string(person), "home": .string(home),
                            "host": .string(host), "starts_on": .string("2026-05-04"),
                            "ends_on": .string("2026-05-08"),
                        ], base: 0)
                ], by: member(home)))
        return id
    }

    // MARK: - Migration

    @Test func aStoreMadeBeforeVisibilityLearnsWhoReadsWhat() async throws {
        let queue = try DatabaseQueue()
        try SQLiteServerStore.migrator.migrate(queue, upTo: "v1")
        var older = Schema.partnership
        for index in older.tables.indices { older.tables[index].visibility = .all }
        let ana = newID()
        let ministry = self.ministry
        let olderJSON = older.json.serialized()
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO server_meta(key, value) VALUES ('format', ?), ('schema', ?)",
                arguments: [SQLiteServerStore.format, olderJSON])
            let author = Author(organisation: nil, role: .coordinator, device: "d").json.serialized()
            let field = { (value: String) in
                #"{"value": "\#(value)", "version": 1, "change_id": "c", "hlc": "h", "author": \#(author)}"#
            }
            try db.execute(
                sql: "INSERT INTO record(id, tbl, version, deleted, last_seq, state) VALUES (?, 'person', 1, 0, 1, ?)",
                arguments: [ana, #"{"organisation": \#(field(ministry)), "full_name": \#(field("Ana"))}"#])
        }
        let opened = try SQLiteServerStore.open(queue)
        #expect(try opened.schema.table(named: "exchange").visibility == .owners)
        let readers = try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT organisation FROM visibility WHERE record_id = ?", arguments: [ana])
        }
        #expect(readers == [ministry])
    }
    /// A store made before `v5-core` keeps each record's state in the older form and counts no
    /// grants: opening it counts them, and everything reads and works as before.
    @Test func aStoreMadeBeforeCountedGrantsCountsThemWhenOpened() async throws {
        let queue = try DatabaseQueue()
        let store = try SQLiteServerStore.create(in: queue)
        let ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        let company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
        let round = newID()
        let (ana, first, second) = (newID(), newID(), newID())
        let exchange = { (id: String) in
            self.change(
                .insert, "exchange", id,
                [
                    "round": .string(round), "person": .string(ana), "home": .string(ministry),
                    "host": .string(company), "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
                ], base: 0)
        }
        let setup = [
            change(.insert, "round", round, ["number": .int(5)], base: 0),
            change(.insert, "person", ana, ["organisation": .string(ministry), "full_name": .string("Ana")], base: 0),
            exchange(first), exchange(second),
        ]
        expectStatus(
            [.applied, .applied, .applied, .applied], try await store.pushSigned(setup, by: coordinator, now: now))
        // Back to before v5-core: states in the older form, no counted grants.
        try await queue.write { db in
            for row in try Row.fetchAll(db, sql: "SELECT * FROM record") {
                let fields = try SQLiteServerStore.record(row).fields
                let older = JSONValue.object(
                    fields.sorted { $0.key < $1.key }.map { name, field in
                        JSONMember(
                            name,
                            .object([
                                JSONMember("value", field.value), JSONMember("version", .int(field.version)),
                                JSONMember("change_id", .string(field.changeID)), JSONMember("hlc", .string(field.hlc)),
                                JSONMember("author", field.author.json),
                            ]))
                    })
                try db.execute(
                    sql: "UPDATE record SET state = ? WHERE id = ?",
                    arguments: [older.serialized(), row["id"] as String])
            }
            try db.execute(
                sql: """
                    DROP TABLE grant_count; ALTER TABLE record DROP COLUMN values_json; ALTER TABLE log DROP COLUMN item;
                    DELETE FROM grdb_migrations WHERE identifier = 'v5-core'
                    """)
        }
        let opened = try SQLiteServerStore.open(queue)
        let counts = try await queue.read { db in
            try Row.fetchAll(
                db, sql: "SELECT organisation, count FROM grant_count WHERE record_id = ?", arguments: [ana]
            )
            .map { "\($0["organisation"] as String)=\($0["count"] as Int)" }.sorted()
        }
        #expect(counts == ["\(company)=2", "\(ministry)=2"].sorted())
        let (before, cursor) = try await opened.pullAll(member(company))
        #expect(before.contains { $0.recordID == ana && $0.record?["full_name"] == .string("Ana") })
        #expect(before.contains { $0.recordID == first && $0.entry?.fields["person"] == .string(ana) })
        // The host keeps sight of Ana until the last of her two exchanges goes.
        expectStatus(
            [.applied],
            try await opened.pushSigned([change(.delete, "exchange", first, [:], base: 1)], by: coordinator, now: now))
        #expect(try await opened.pullAll(member(company), since: cursor).items.allSatisfy { $0.isVisible })
        expectStatus(
            [.applied],
            try await opened.pushSigned([change(.delete, "exchange", second, [:], base: 1)], by: coordinator, now: now))
        let after = try await opened.pullAll(member(company), since: cursor).items
        #expect(after.contains { $0.recordID == ana && !$0.isVisible })
    }
}

/// A ``SeededGenerator`` the suite's non-mutating helpers share.
final class SeededSource: Sendable {
    private let generator: Mutex<SeededGenerator>

    init(seed: UInt64) { generator = Mutex(SeededGenerator(seed: seed)) }

    /// An HLC counter, 0 to 4095.
    func counter() -> Int { generator.withLock { Int.random(in: 0..<4096, using: &$0) } }

    /// A UUIDv7 for `clock`, its random bits from the seed.
    func id(at clock: HLC) -> String { generator.withLock { UUIDv7Generator.id(at: clock, using: &$0) } }
}
