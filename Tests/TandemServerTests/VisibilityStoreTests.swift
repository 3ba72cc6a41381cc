import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// Read visibility on pull (SPEC §6, docs/visibility.md): what each token's pull and conflicts
/// hold, and how records arrive at and leave an organisation's replica.
@Suite struct VisibilityStoreTests {
    let store: SQLiteServerStore
    let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
    let auditor = Principal(tokenID: "a", organisation: nil, role: .auditor)
    let now: Int64 = 1_790_000_000_000
    var ministry = ""
    var company = ""
    var town = ""
    var round = ""
    /// The seq of the round's insert, the last entry the set-up makes.
    var roundSeq: Int64 = 0

    init() async throws {
        store = try SQLiteServerStore.create(in: try DatabaseQueue())
        ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
        town = try await store.addOrganisation(name: "Town", sector: "municipality", now: now).id
        round = newID()
        let results = try await push([change(.insert, "round", round, ["number": .int(5)], base: 0)], by: coordinator)
        expectStatus([.applied], results)
        roundSeq = results.first?.seq ?? 0
    }

    // MARK: - Helpers

    func member(_ organisation: String) -> Principal {
        Principal(tokenID: organisation, organisation: organisation, role: .member)
    }

    func newID() -> String {
        UUIDv7Generator.id(at: HLC(milliseconds: now, counter: Int.random(in: 0..<4096), device: ""))
    }

    func change(
        _ op: TandemProtocol.Operation, _ table: String, _ id: String, _ fields: [String: JSONValue], base: Int64
    ) -> Change {
        let clock = HLC(milliseconds: now, counter: Int.random(in: 0..<4096), device: "d")
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: id, op: op, fields: fields,
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
        var items: [PullItem] = []
        var cursor = since
        for _ in 0..<10_000 {
            let page = try await store.pull(since: cursor, limit: limit, for: principal)
            #expect(page.next >= cursor)
            items += page.items
            cursor = page.next
            if !page.more { return (items, cursor) }
        }
        Issue.record("the pull never ended")
        return (items, cursor)
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

    func version(_ id: String) async throws -> Int64 {
        try await store.read { db in try self.store.loadRecord(id, db: db)?.version ?? 0 }
    }

    /// What a replica holds after applying `items` in order: record id → values (nil: no row).
    func replica(_ items: [PullItem]) -> [String: [String: JSONValue]] {
        var rows: [String: [String: JSONValue]] = [:]
        for item in items {
            rows[item.recordID] = item.isVisible && !item.isDeleted ? item.record : nil
        }
        return rows
    }

    // MARK: - Arrival and departure

    @Test func aPersonArrivesWholeWhenPutOnAnExchangeTheOrganisationHosts() async throws {
        let ana = try await person(of: ministry, "Ana")
        try await expectStatus(
            [.applied],
            push(
                [change(.update, "person", ana, ["email": .string("ana@gov.example")], base: 1)], by: member(ministry)))
        let before = try await pullAll(member(company))
        #expect(!before.items.contains { $0.recordID == ana }, "the host cannot see Ana yet")

        let exchange = try await exchange(person: ana, home: ministry, host: company)
        let after = try await pullAll(member(company), since: before.next)
        #expect(after.items.map(\.recordID) == [exchange, ana])
        let arrival = try #require(after.items.last)
        #expect(arrival.entry == nil && arrival.isVisible && !arrival.isDeleted && arrival.version == 2)
        #expect(
            arrival.record?["full_name"] == .string("Ana") && arrival.record?["email"] == .string("ana@gov.example"))
        #expect(arrival.seq == after.items[0].seq, "the arrival carries the seq of the change that caused it")
        // From the start, the host now reads Ana's whole history.
        #expect(try await pullAll(member(company)).items.filter { $0.recordID == ana }.count >= 2)
    }

    @Test func thePersonLeavesWhenTheExchangeIsDeleted() async throws {
        let ana = try await person(of: ministry, "Ana")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        let cursor = try await pullAll(member(company)).next
        try await expectStatus(
            [.applied], push([change(.delete, "exchange", exchange, [:], base: 1)], by: member(ministry)))

        let after = try await pullAll(member(company), since: cursor)
        #expect(after.items.map(\.recordID) == [exchange, ana])
        #expect(after.items[0].isDeleted && after.items[0].entry?.op == .delete, "the host sees the delete")
        let departure = after.items[1]
        #expect(!departure.isVisible && !departure.isDeleted && departure.record == nil && departure.entry == nil)
        #expect(replica(try await pullAll(member(company)).items)[ana] == nil)
        // The home organisation keeps its own person.
        #expect(replica(try await pullAll(member(ministry)).items)[ana]?["full_name"] == .string("Ana"))
    }

    @Test func aNewHostReceivesTheExchangeAndItsPersonAndTheOldHostLosesThem() async throws {
        let ana = try await person(of: ministry, "Ana")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        let companyCursor = try await pullAll(member(company)).next
        let townCursor = try await pullAll(member(town)).next
        try await expectStatus(
            [.applied],
            push([change(.update, "exchange", exchange, ["host": .string(town)], base: 1)], by: member(ministry)))

        let oldHost = try await pullAll(member(company), since: companyCursor)
        #expect(oldHost.items.map(\.recordID).sorted() == [exchange, ana].sorted())
        #expect(oldHost.items.allSatisfy { !$0.isVisible && $0.record == nil && $0.entry == nil })

        let newHost = try await pullAll(member(town), since: townCursor)
        #expect(newHost.items.map(\.recordID) == [exchange, ana])
        #expect(newHost.items[0].entry?.op == .update && newHost.items[0].record?["host"] == .string(town))
        #expect(newHost.items[0].record?["starts_on"] == .string("2026-05-04"), "the exchange arrives whole")
        #expect(newHost.items[1].entry == nil && newHost.items[1].record?["full_name"] == .string("Ana"))
    }

    @Test func anotherPersonOnTheExchangeSwapsWhoTheHostSees() async throws {
        let ana = try await person(of: ministry, "Ana")
        let bor = try await person(of: ministry, "Bor")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        let cursor = try await pullAll(member(company)).next
        try await expectStatus(
            [.applied],
            push([change(.update, "exchange", exchange, ["person": .string(bor)], base: 1)], by: member(ministry)))
        let after = try await pullAll(member(company), since: cursor)
        let rows = replica(after.items)
        #expect(after.items.contains { $0.recordID == ana && !$0.isVisible })
        #expect(rows[bor]?["full_name"] == .string("Bor") && rows[exchange]?["person"] == .string(bor))
    }

    @Test func aPersonOnTwoExchangesStaysUntilTheLastOneGoes() async throws {
        let ana = try await person(of: ministry, "Ana")
        let first = try await exchange(person: ana, home: ministry, host: company)
        let second = try await exchange(person: ana, home: ministry, host: company)
        let cursor = try await pullAll(member(company)).next
        try await expectStatus(
            [.applied], push([change(.delete, "exchange", first, [:], base: 1)], by: member(ministry)))
        #expect(!(try await pullAll(member(company), since: cursor)).items.contains { $0.recordID == ana })
        try await expectStatus(
            [.applied], push([change(.delete, "exchange", second, [:], base: 1)], by: member(ministry)))
        #expect(
            try await pullAll(member(company), since: cursor).items.contains { $0.recordID == ana && !$0.isVisible })
    }

    @Test func aRecordThatCameAndWentSinceTheCursorIsNotSent() async throws {
        let ana = try await person(of: ministry, "Ana")
        let cursor = try await pullAll(member(company)).next
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        try await expectStatus(
            [.applied], push([change(.delete, "exchange", exchange, [:], base: 1)], by: member(ministry)))
        let after = try await pullAll(member(company), since: cursor)
        #expect(!after.items.contains { $0.recordID == ana && $0.record != nil }, "no personal data in transit")
    }

    // MARK: - What each token reads

    @Test func aMemberNeverReceivesAnotherOrganisationsPerson() async throws {
        let ana = try await person(of: ministry, "Ana")
        let bor = try await person(of: company, "Bor")
        let mentor = try await person(of: company, "Mentor")
        _ = try await exchange(person: ana, home: ministry, host: company)
        // A challenge's mentor and a practice's contact do not open a person to everyone.
        try await expectStatus(
            [.applied, .applied],
            push(
                [
                    change(
                        .insert, "challenge", newID(),
                        [
                            "round": .string(round), "title": .string("Open data"), "proposer": .string(company),
                            "mentor": .string(mentor),
                        ], base: 0),
                    change(
                        .insert, "practice", newID(),
                        [
                            "organisation": .string(company), "title": .string("Shadowing"),
                            "contact": .string(bor),
                        ], base: 0),
                ], by: member(company)))

        let ministryItems = try await pullAll(member(ministry)).items
        #expect(Set(ministryItems.filter { $0.table == "person" }.map(\.recordID)) == [ana])
        let townItems = try await pullAll(member(town)).items
        #expect(townItems.allSatisfy { $0.table != "person" && $0.table != "exchange" })
        #expect(Set(townItems.map(\.table)) == ["organisation", "round", "challenge", "practice"])
        let companyItems = try await pullAll(member(company)).items
        #expect(Set(companyItems.filter { $0.table == "person" }.map(\.recordID)) == [ana, bor, mentor])
    }

    @Test func coordinatorsAndAuditorsReadEveryEntry() async throws {
        let ana = try await person(of: ministry, "Ana")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        try await expectStatus(
            [.applied], push([change(.update, "exchange", exchange, ["host": .string(town)], base: 1)], by: coordinator)
        )
        // Every entry of the history but the device registrations, which replicas never receive.
        let entries = try await store.history(since: 0, limit: 10_000).filter { try !$0.isDeviceRegistration }
        #expect(entries.count > 5)
        for principal in [coordinator, auditor] {
            let pulled = try await pullAll(principal)
            #expect(pulled.items.map(\.seq) == entries.map(\.seq))
            #expect(pulled.items.allSatisfy { $0.entry != nil && $0.isVisible })
        }
    }

    @Test func aRejectedInsertReachesOnlyItsAuthor() async throws {
        let id = newID()
        try await expectStatus(
            [.rejected],
            push(
                [change(.insert, "person", id, ["organisation": .string(ministry), "full_name": .null], base: 0)],
                by: member(ministry)))
        #expect(try await pullAll(member(ministry)).items.contains { $0.recordID == id && $0.record == nil })
        #expect(!(try await pullAll(member(company))).items.contains { $0.recordID == id })
    }

    @Test func anEntryNamingAnotherTableDoesNotCarryTheRecord() async throws {
        let ana = try await person(of: ministry, "Ana")
        try await expectStatus(
            [.rejected], push([change(.update, "round", ana, ["title": .string("x")], base: 1)], by: member(town)))
        let forged = try #require(try await pullAll(member(town)).items.first { $0.recordID == ana })
        #expect(forged.table == "round" && forged.record == nil && forged.entry?.outcome.status == .rejected)
    }

    // MARK: - Paging

    @Test func pagesNeverSplitASeqAndMoveThePastInvisibleEntries() async throws {
        let ana = try await person(of: ministry, "Ana")
        let bor = try await person(of: ministry, "Bor")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        try await expectStatus(
            [.applied],
            push([change(.update, "exchange", exchange, ["person": .string(bor)], base: 1)], by: member(ministry)))
        let head = try await store.headSeq()
        for limit in [1, 2, 3, 1000] {
            let small = try await pullAll(member(company), limit: limit)
            let whole = try await pullAll(member(company))
            #expect(small.items == whole.items, "limit \(limit)")
            #expect(small.next == head)
        }
        // Nothing to read for the town: one empty page that moves the cursor to the head.
        let page = try await store.pull(since: 0, limit: 1, for: member(town))
        #expect(page.items.map(\.table).allSatisfy { $0 == "organisation" || $0 == "round" })
        let empty = try await store.pull(since: roundSeq, limit: 10, for: member(town))
        #expect(empty.items.isEmpty && empty.next == head && !empty.more)
    }

    // MARK: - Conflicts

    @Test func conflictsAreListedOnlyForRecordsTheCallerReads() async throws {
        let ana = try await person(of: ministry, "Ana")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        try await expectStatus(
            [.applied],
            push(
                [change(.update, "exchange", exchange, ["starts_on": .string("2026-05-05")], base: 1)], by: coordinator)
        )
        try await expectStatus(
            [.conflict],
            push(
                [change(.update, "exchange", exchange, ["starts_on": .string("2026-05-06")], base: 1)],
                by: member(ministry)))
        for principal in [coordinator, auditor, member(ministry), member(company)] {
            #expect(try await store.conflicts(for: principal, includeResolved: true).count == 1)
        }
        #expect(try await store.conflicts(for: member(town), includeResolved: true).isEmpty)
        try await expectStatus(
            [.applied],
            push([change(.update, "exchange", exchange, ["host": .string(town)], base: 3)], by: member(ministry)))
        #expect(try await store.conflicts(for: member(company), includeResolved: false).isEmpty)
        #expect(try await store.conflicts(for: member(town), includeResolved: false).count == 1)
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
}
