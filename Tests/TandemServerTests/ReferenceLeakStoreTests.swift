import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// No reading by referring (docs/security.md, "A reference never widens what a member sees"):
/// the probe that found the leak, and every other way a member's request could make the store
/// disclose or grant a personal record it may not read.
extension VisibilityStoreTests {
    /// Town's employee Sara, with an e-mail, and a practice of Town whose contact she is: every
    /// member pulls the practice, and so learns her id.
    func publishedSara() async throws -> String {
        let sara = try await person(of: town, "Secret Sara")
        try await expectStatus(
            [.applied, .applied],
            push(
                [
                    change(.update, "person", sara, ["email": .string("sara@town.example")], base: 1),
                    change(
                        .insert, "practice", newID(),
                        [
                            "organisation": .string(town), "title": .string("Open hours"),
                            "contact": .string(sara),
                        ], base: 0),
                ], by: member(town)))
        return sara
    }

    func exchangeFields(person: String, home: String, host: String) -> [String: JSONValue] {
        [
            "round": .string(round), "person": .string(person), "home": .string(home), "host": .string(host),
            "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
        ]
    }

    @Test func aMemberCannotReadAPersonByPuttingHerOnAnExchange() async throws {
        let sara = try await publishedSara()
        let learned = try await pullAll(member(ministry))
        #expect(learned.items.contains { $0.record?["contact"] == .string(sara) }, "the practice publishes her id")
        #expect(!learned.items.contains { $0.recordID == sara })

        // The probe: a signed exchange insert naming her, and one naming nobody; the same answer.
        let probes = try await push(
            [
                change(
                    .insert, "exchange", newID(), exchangeFields(person: sara, home: ministry, host: company), base: 0),
                change(
                    .insert, "exchange", newID(),
                    exchangeFields(person: newID(), home: ministry, host: company), base: 0),
            ], by: member(ministry))
        #expect(probes.map(\.status) == [.rejected, .rejected])
        #expect(probes.map(\.reason) == ["reference:person", "reference:person"])
        #expect(probes.map(\.version) == [nil, nil])

        // Setting her on an exchange the ministry already has: the same.
        let ana = try await person(of: ministry, "Ana")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        let moved = try await push(
            [change(.update, "exchange", exchange, ["person": .string(sara)], base: 1)], by: member(ministry))
        #expect(moved.map(\.reason) == ["reference:person"])

        // Neither the ministry nor the company ever pulls her.
        for organisation in [ministry, company] {
            let items = try await pullAll(member(organisation)).items
            #expect(!items.contains { $0.recordID == sara }, "Sara reached \(organisation)")
            #expect(!items.contains { $0.record?["email"] == .string("sara@town.example") })
        }
        // Town's own replica and the coordinator see her as before.
        #expect(try await pullAll(member(town)).items.contains { $0.recordID == sara })
        #expect(try await pullAll(coordinator).items.contains { $0.recordID == sara })
    }

    @Test func aConflictOnARecordAMemberCannotReadIsNotFound() async throws {
        let bor = try await person(of: town, "Bor")
        let exchange = try await exchange(person: bor, home: town, host: company)
        // Town and the company change the start concurrently: a manual conflict on their exchange.
        try await expectStatus(
            [.applied],
            push(
                [change(.update, "exchange", exchange, ["starts_on": .string("2026-05-05")], base: 1)], by: member(town)
            ))
        try await expectStatus(
            [.conflict],
            push(
                [change(.update, "exchange", exchange, ["starts_on": .string("2026-05-06")], base: 1)],
                by: member(company)))
        let open = try await store.conflicts(for: coordinator, includeResolved: false)
        let conflict = try #require(open.first)
        #expect(try await store.conflicts(for: member(ministry), includeResolved: true).isEmpty)
        do {
            _ = try await store.resolve(conflict: conflict.id, with: .keepCurrent, by: member(ministry), now: now)
            Issue.record("the ministry resolved a conflict on an exchange it cannot read")
        } catch let error as ServerError {
            #expect(error.code == .notFound)
            #expect(!error.message.contains(exchange) && !error.message.contains("deleted"))
        }
        // The same answer as for a conflict that does not exist.
        do {
            _ = try await store.resolve(conflict: newID(), with: .keepCurrent, by: member(ministry), now: now)
        } catch let error as ServerError {
            #expect(error.code == "not_found")
        }
        // Its owners still resolve it.
        let resolved = try await store.resolve(
            conflict: conflict.id, with: .keepIncoming, by: member(company), now: now)
        #expect(resolved.status == .resolved)
    }

    @Test func anUpdateOfARecordAMemberCannotReadTellsNothingOfIt() async throws {
        let bor = try await person(of: town, "Bor")
        let exchange = try await exchange(person: bor, home: town, host: company)
        let results = try await push(
            [
                change(.update, "exchange", exchange, ["goals": .string("x")], base: 1),
                change(.delete, "exchange", exchange, [:], base: 1),
                change(.update, "person", bor, ["email": .string("x@y.example")], base: 1),
            ], by: member(ministry))
        #expect(results.map(\.reason) == ["missing", "missing", "missing"])
        #expect(results.map(\.version) == [nil, nil, nil])
        // The rejected entries are logged, and the ministry pulls none of the records they name.
        let items = try await pullAll(member(ministry)).items
        #expect(!items.contains { $0.recordID == bor || $0.record?["full_name"] == .string("Bor") })
        #expect(!items.contains { $0.entry?.outcome.version != nil && $0.recordID == exchange })
    }

    /// A store from before the rule holds an exchange that put Town's Sara before the ministry and
    /// the company. Opening it with this version withdraws those grants: she leaves their replicas
    /// with the next entry, `withdrawnGrants` (and so `tandem-server verify`) names the exchange,
    /// and fixing the exchange restores what it rightly grants.
    @Test func aStoreFromBeforeTheRuleWithdrawsTheGrantsItWronglyMade() async throws {
        let queue = try DatabaseQueue()
        let legacy = {
            var schema = Schema.partnership
            for index in schema.tables.indices { schema.tables[index].constraints = [] }
            return schema
        }()
        var store = try SQLiteServerStore.create(in: queue, schema: legacy)
        let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
        let ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        let company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
        let town = try await store.addOrganisation(name: "Town", sector: "municipality", now: now).id
        let round = newID()
        let sara = newID()
        let exchange = newID()
        let pushed = try await store.pushSigned(
            [
                change(.insert, "round", round, ["number": .int(5)], base: 0),
                change(
                    .insert, "person", sara, ["organisation": .string(town), "full_name": .string("Secret Sara")],
                    base: 0),
                change(
                    .insert, "exchange", exchange,
                    [
                        "round": .string(round), "person": .string(sara), "home": .string(ministry),
                        "host": .string(company), "starts_on": .string("2026-05-04"),
                        "ends_on": .string("2026-05-08"),
                    ], base: 0),
            ], by: coordinator, now: now)
        #expect(pushed.map(\.status) == [.applied, .applied, .applied])
        var cursors: [String: Int64] = [:]
        for organisation in [ministry, company] {
            let page = try await store.pull(since: 0, limit: 1000, for: member(organisation))
            #expect(page.items.contains { $0.recordID == sara }, "the old store leaked her")
            cursors[organisation] = page.next
        }

        // This version opens the store as it was before the rule.
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4-grants'")
            try db.execute(sql: "DROP TABLE withdrawn_grant")
            try db.execute(
                sql: "UPDATE server_meta SET value = ? WHERE key = 'schema'", arguments: [legacy.json.serialized()])
        }
        store = try SQLiteServerStore.open(queue)
        // The bundled rules are taken up as the store's next version, a `_schema` entry of the
        // history, so that replicas on version 1 fetch them at their next pull.
        #expect(store.schema.version == 2 && store.schema.tables == Schema.partnership.tables)
        let installed = try await store.history(since: 0, limit: 1000).filter {
            try $0.entry.change["table"] == .string(SchemaRegistry.table)
        }
        #expect(installed.count == 1)
        #expect(try await store.pull(since: 0, limit: 1, for: member(ministry)).schemaVersion == 2)
        let withdrawn = try await store.withdrawnGrants()
        #expect(withdrawn.map(\.recordID) == [exchange] && withdrawn.map(\.table) == ["exchange"])

        // Nothing new about her reaches them; with the next entry written, she leaves their replicas.
        _ = try await store.pushSigned(
            [change(.insert, "round", newID(), ["number": .int(6)], base: 0)], by: coordinator, now: now)
        for organisation in [ministry, company] {
            let page = try await store.pull(since: cursors[organisation] ?? 0, limit: 1000, for: member(organisation))
            let departure = page.items.first { $0.recordID == sara }
            #expect(departure?.isVisible == false && departure?.record == nil, "Sara did not leave \(organisation)")
        }
        // The exchange itself stays with its owners, but an edit of it must fix its person first.
        let edit = try await store.pushSigned(
            [change(.update, "exchange", exchange, ["goals": .string("x")], base: 1)], by: member(ministry), now: now)
        #expect(edit.map(\.reason) == ["check:person"])
        let ana = newID()
        let fixed = try await store.pushSigned(
            [
                change(
                    .insert, "person", ana, ["organisation": .string(ministry), "full_name": .string("Ana")], base: 0),
                change(.update, "exchange", exchange, ["person": .string(ana)], base: 1),
            ], by: member(ministry), now: now)
        #expect(fixed.map(\.status) == [.applied, .applied])
        #expect(try await store.withdrawnGrants().isEmpty)
        let hosted = try await store.pull(since: 0, limit: 1000, for: member(company))
        let companyHolds = Set(hosted.items.filter { $0.isVisible }.map(\.recordID))
        #expect(companyHolds.contains(ana), "the fixed exchange grants the host its person")
        #expect(try await store.verify().failure == nil)
    }
}
