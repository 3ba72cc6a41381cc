import GRDB
import TandemClient
import TandemProtocol
import Testing

@Suite struct ReplicaEditingTests {
    @Test func insertStoresDefaultsAndAnOutboxInsert() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        #expect(exchange["status"] == .text("draft"))
        #expect(try fixture.replica.record(in: "exchange", id: exchange.id) == exchange)
        let last = try #require(try fixture.outbox().last)
        #expect(last.table == "exchange" && last.recordID == exchange.id && last.op == "insert" && last.fields == nil)
    }

    @Test func newIdsAreVersion7AndIncrease() throws {
        let fixture = try Fixture()
        let first = try fixture.exchange().id
        let second = try fixture.exchange().id
        #expect(Identifier.isUUID(first) && Array(first)[14] == "7")
        #expect(first < second)
    }

    @Test func anExplicitIdIsKeptAndADuplicateRefused() throws {
        let fixture = try Fixture()
        let id = "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
        #expect(try fixture.exchange([.init("id", id.uppercased())]).id == id)
        #expect(throws: ReplicaError.self) { try fixture.exchange([.init("id", id)]) }
    }

    @Test func updateSetsOnlyTheNamedFieldsAndEmptyMeansNull() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange([.init("notes", "bring a laptop")])
        let updated = try fixture.replica.editor.update(
            "exchange", id: exchange.id, [.init("status", "confirmed"), .init("notes", "")])
        #expect(updated["status"] == .text("confirmed"))
        #expect(updated["notes"] == .null)
        #expect(updated["starts_on"] == exchange["starts_on"])
        #expect(try fixture.replica.record(in: "exchange", id: exchange.id) == updated)
    }

    @Test func updateThatChangesNothingWritesNothing() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try fixture.replica.withDatabase { db in
            try db.execute(sql: "UPDATE tandem_outbox SET change_id = 'sent-' || seq")
        }
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "draft")])
        #expect(try fixture.replica.status().pending == 7)
    }

    @Test(arguments: [
        (["status": "maybe"], "exchange.status: \"maybe\" is not one of"),
        (["starts_on": ""], "exchange.starts_on: is required"),
        (["ends_on": "2026-05-01"], "exchange.ends_on: 2026-05-01 is before starts_on 2026-05-04"),
        (["host": "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"], "exchange.host: no organisation with id"),
        (["colour": "red"], "exchange: no field named \"colour\""),
        (["id": "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"], "exchange.id: a record's id cannot be changed"),
    ])
    func badUpdatesAreRefusedAndWriteNothing(change: [String: String], message: String) throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        let pending = try fixture.replica.status().pending
        let error = try #require(throws: ReplicaError.self) {
            try fixture.replica.editor.update("exchange", id: exchange.id, change.map { Assignment($0.key, $0.value) })
        }
        #expect(error.code == .invalidData)
        #expect(error.message.hasPrefix(message), "\(error.message)")
        #expect(try fixture.replica.record(in: "exchange", id: exchange.id) == exchange)
        #expect(try fixture.replica.status().pending == pending)
    }

    @Test func uniqueFieldsAreRefusedTwiceButNullsMayRepeat() throws {
        let fixture = try Fixture()
        let error = try #require(throws: ReplicaError.self) {
            try fixture.replica.editor.insert(
                into: "organisation",
                [.init("name", "Copy"), .init("sector", "private"), .init("registration_id", "SI-1")])
        }
        #expect(error.message == "organisation.registration_id: \"SI-1\" is already used by \(fixture.company)")
        try fixture.replica.editor.insert(into: "organisation", [.init("name", "A"), .init("sector", "other")])
        try fixture.replica.editor.insert(into: "organisation", [.init("name", "B"), .init("sector", "other")])
        #expect(throws: ReplicaError.self) { try fixture.replica.editor.insert(into: "round", [.init("number", "5")]) }
    }

    @Test func deleteIsRefusedWhileReferenced() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        let error = try #require(throws: ReplicaError.self) {
            try fixture.replica.editor.delete(from: "person", id: fixture.ana)
        }
        #expect(error.code == .invalidData)
        #expect(error.message == "person \(fixture.ana): still referenced by 1 exchange record (exchange.person)")
        try fixture.replica.editor.delete(from: "exchange", id: exchange.id)
        try fixture.replica.editor.delete(from: "person", id: fixture.ana)
        #expect(throws: ReplicaError.self) { try fixture.replica.record(in: "person", id: fixture.ana) }
    }

    @Test func prefixesResolveWhenUniqueAndAreRefusedOtherwise() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        #expect(try fixture.replica.record(in: "exchange", id: String(exchange.id.prefix(30))).id == exchange.id)
        #expect(try fixture.replica.record(in: "exchange", id: exchange.id.uppercased()).id == exchange.id)
        let short = try #require(throws: ReplicaError.self) { try fixture.replica.record(in: "exchange", id: "019") }
        #expect(short.code == .usage)
        // Ids made in the same millisecond share their first 8 characters.
        let organisations = try fixture.replica.records(in: "organisation").map(\.id)
        let common = String(organisations[0].prefix(4))
        if organisations.allSatisfy({ $0.hasPrefix(common) }) {
            let ambiguous = try #require(throws: ReplicaError.self) {
                try fixture.replica.record(in: "organisation", id: common)
            }
            #expect(ambiguous.code == .usage && ambiguous.message.contains("ambiguous"))
        }
        let missing = try #require(throws: ReplicaError.self) { try fixture.replica.record(in: "exchange", id: "ffff") }
        #expect(missing.code == .notFound)
    }

    @Test func referencesAcceptPrefixes() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange(
            person: String(fixture.marko.prefix(32)), home: fixture.company, host: fixture.ngo)
        #expect(exchange["person"] == .text(fixture.marko))
    }

    @Test func listFiltersByValueSetMembershipNullAndLimit() throws {
        let fixture = try Fixture()
        try fixture.exchange([.init("status", "confirmed")])
        try fixture.exchange([.init("status", "confirmed"), .init("notes", "x")])
        try fixture.exchange()
        #expect(try fixture.replica.records(in: "exchange", where: [.init("status", "confirmed")]).count == 2)
        #expect(try fixture.replica.records(in: "exchange", where: [.init("notes", "")]).count == 2)
        #expect(try fixture.replica.records(in: "exchange", limit: 1).count == 1)
        #expect(
            try fixture.replica.records(in: "exchange", where: [.init("status", "confirmed"), .init("notes", "x")])
                .count
                == 1)
        try fixture.replica.editor.insert(
            into: "practice",
            [.init("organisation", fixture.ngo), .init("title", "Green roofs"), .init("tags", "climate; roofs")])
        #expect(try fixture.replica.records(in: "practice", where: [.init("tags", "roofs")]).count == 1)
        #expect(try fixture.replica.records(in: "practice", where: [.init("tags", "water")]).isEmpty)
        let badFilter = try #require(throws: ReplicaError.self) {
            try fixture.replica.records(in: "exchange", where: [.init("status", "maybe")])
        }
        #expect(badFilter.code == .invalidData)
    }

    @Test func setsAreStoredSortedAndDistinctAsJSON() throws {
        let fixture = try Fixture()
        let practice = try fixture.replica.editor.insert(
            into: "practice", [.init("organisation", fixture.ngo), .init("title", "T"), .init("tags", "b;a;b")])
        #expect(practice["tags"] == .set(["a", "b"]))
        let stored = try fixture.replica.withDatabase { db in
            try String.fetchOne(db, sql: "SELECT tags FROM practice WHERE id = ?", arguments: [practice.id])
        }
        #expect(stored == #"["a","b"]"#)
    }

    @Test func theClockAdvancesWithEveryEdit() throws {
        let fixture = try Fixture(clock: ReplicaClock { 1_763_812_345_678 })
        let hlcs = try fixture.replica.withDatabase { db in
            try String.fetchAll(db, sql: "SELECT hlc FROM tandem_outbox ORDER BY seq")
        }
        #expect(hlcs.count == 6)
        #expect(hlcs == hlcs.sorted() && Set(hlcs).count == hlcs.count)
        #expect(hlcs[0].hasPrefix("001763812345678.00000.") && hlcs[5].hasPrefix("001763812345678.00005."))
    }
}
