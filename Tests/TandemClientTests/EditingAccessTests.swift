import GRDB
import TandemClient
import TandemProtocol
import Testing

/// A replica that knows its role refuses, before writing anything, the edits the server would
/// refuse (SPEC §3, §6): auditors edit nothing; members only what their organisation owns.
@Suite struct EditingAccessTests {
    /// The fixture's replica, then told (as `whoami` would) that it belongs to `role` of `organisation`.
    private func fixture(
        _ role: Role, of organisation: ((Fixture) -> String)? = nil, before: (Fixture) throws -> Void = { _ in }
    ) throws -> Fixture {
        let fixture = try Fixture()
        try before(fixture)
        try fixture.replica.remote.set(
            Remote(server: "http://fake", token: "t"),
            identity: WhoAmI(organisation: organisation?(fixture), role: role))
        return fixture
    }

    /// Runs `edit`, expecting a `notPermitted` refusal whose message contains `words`, and checks
    /// that nothing was written (the outbox and every table as they were).
    private func expectRefused(
        _ fixture: Fixture, _ words: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ edit: () throws -> Void
    ) throws {
        let before = try fixture.replica.snapshot()
        let outbox = try fixture.outbox().count
        do {
            try edit()
            Issue.record("the edit was accepted", sourceLocation: sourceLocation)
        } catch let error as ReplicaError {
            #expect(error.code == .notPermitted, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation)
        }
        #expect(try fixture.replica.snapshot() == before, sourceLocation: sourceLocation)
        #expect(try fixture.outbox().count == outbox, sourceLocation: sourceLocation)
    }

    @Test func anAuditorsReplicaRefusesEveryEdit() throws {
        let fixture = try fixture(.auditor)
        let exchange = try #require(try fixture.replica.records(in: "person").first)
        try expectRefused(fixture, "person: not permitted: an auditor may not edit") {
            try fixture.replica.editor.insert(
                into: "person", [.init("organisation", fixture.ministry), .init("full_name", "Eve")])
        }
        try expectRefused(fixture, "person \(exchange.id): not permitted") {
            try fixture.replica.editor.update("person", id: exchange.id, [.init("full_name", "Eve")])
        }
        try expectRefused(fixture, "person \(exchange.id): not permitted") {
            try fixture.replica.editor.delete(from: "person", id: exchange.id)
        }
        try expectRefused(fixture, "round: not permitted") {
            _ = try fixture.replica.editor.importCSV(into: "round", bytes: Array("number\n9\n".utf8), source: "r.csv")
        }
    }

    /// The value `field` of record `id` holds in `table`, as JSON (nil when unset).
    private func value(_ fixture: Fixture, _ table: String, _ id: String, _ field: String) throws -> JSONValue? {
        try fixture.replica.record(in: table, id: id).values[field]?.json
    }

    @Test func aMemberEditsWhatItsOrganisationOwns() throws {
        let fixture = try fixture(.member, of: \.ministry)
        let outbox = try fixture.outbox().count
        let exchange = try fixture.exchange()  // home: the ministry
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "proposed")])
        #expect(try value(fixture, "exchange", exchange.id, "status") == .string("proposed"))
        try fixture.replica.editor.update("organisation", id: fixture.ministry, [.init("name", "Ministry of Work")])
        #expect(try value(fixture, "organisation", fixture.ministry, "name") == .string("Ministry of Work"))
        let person = try fixture.replica.editor.insert(
            into: "person", [.init("organisation", fixture.ministry), .init("full_name", "Iva")])
        #expect(try value(fixture, "person", person.id, "full_name") == .string("Iva"))
        try fixture.replica.editor.delete(from: "person", id: person.id)
        #expect(try fixture.replica.records(in: "person").contains { $0.id == person.id } == false)
        // As host too.
        let hosted = try fixture.exchange(person: fixture.marko, home: fixture.company, host: fixture.ministry)
        try fixture.replica.editor.update("exchange", id: hosted.id, [.init("notes", "welcome")])
        #expect(try value(fixture, "exchange", hosted.id, "notes") == .string("welcome"))
        let imported = try fixture.replica.editor.importCSV(
            into: "person", bytes: Array("organisation,full_name\n\(fixture.ministry),Tom\n".utf8), source: "p.csv")
        #expect(imported == 1)
        #expect(try fixture.replica.records(in: "person", where: [.init("full_name", "Tom")]).count == 1)
        // Queued for the server: the two exchanges (their edits folded into their inserts, not yet
        // pushed, as the organisation's into its own) and the imported person; Iva, made and
        // deleted before a push, leaves nothing to push.
        let queued = try fixture.outbox().dropFirst(outbox)
        #expect(queued.map { "\($0.table) \($0.op)" } == ["exchange insert", "exchange insert", "person insert"])
        #expect(queued.map(\.recordID).prefix(2) == [exchange.id, hosted.id])
    }

    @Test func aMemberCannotEditWhatOthersOwn() throws {
        let fixture = try fixture(.member, of: \.ngo) { try $0.exchange() }
        // The ministry's and the company's exchange.
        let exchange = try #require(try fixture.replica.records(in: "exchange").first)
        try expectRefused(
            fixture,
            "exchange \(exchange.id): not permitted: a member may change only exchange records whose home or host is its organisation"
        ) {
            try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "proposed")])
        }
        try expectRefused(fixture, "exchange \(exchange.id): not permitted") {
            try fixture.replica.editor.delete(from: "exchange", id: exchange.id)
        }
        try expectRefused(fixture, "exchange: not permitted") { try fixture.exchange() }
        try expectRefused(
            fixture,
            "organisation \(fixture.ministry): not permitted: a member may change only its own organisation's organisation record"
        ) {
            try fixture.replica.editor.update("organisation", id: fixture.ministry, [.init("name", "Mine")])
        }
        try expectRefused(fixture, "round \(fixture.round): not permitted: only coordinators may change round records")
        {
            try fixture.replica.editor.update("round", id: fixture.round, [.init("title", "Spring")])
        }
        try expectRefused(fixture, "round: not permitted: only coordinators") {
            try fixture.replica.editor.insert(into: "round", [.init("number", "9")])
        }
        try expectRefused(fixture, "person") {
            _ = try fixture.replica.editor.importCSV(
                into: "person", bytes: Array("organisation,full_name\n\(fixture.ministry),Tom\n".utf8), source: "p.csv")
        }
    }

    @Test func aMemberCannotGiveAwayWhatItOwns() throws {
        let fixture = try fixture(.member, of: \.ministry)
        let exchange = try fixture.exchange()
        // Before: the ministry's (home); after: neither home nor host is the ministry.
        try expectRefused(fixture, "before and after the change") {
            try fixture.replica.editor.update("exchange", id: exchange.id, [.init("home", fixture.ngo)])
        }
    }

    @Test func aCoordinatorAndAReplicaWithoutAServerEditAnything() throws {
        for fixture in [try fixture(.coordinator), try Fixture()] {
            let exchange = try fixture.exchange()
            try fixture.replica.editor.update("round", id: fixture.round, [.init("title", "Spring")])
            #expect(try value(fixture, "round", fixture.round, "title") == .string("Spring"))
            let ngoEmployee = try fixture.replica.editor.insert(
                into: "person", [.init("organisation", fixture.ngo), .init("full_name", "Nia")])
            try fixture.replica.editor.update(
                "exchange", id: exchange.id, [.init("home", fixture.ngo), .init("person", ngoEmployee.id)])
            #expect(try value(fixture, "exchange", exchange.id, "home") == .string(fixture.ngo))
            #expect(try value(fixture, "exchange", exchange.id, "person") == .string(ngoEmployee.id))
            try fixture.replica.editor.delete(from: "exchange", id: exchange.id)
            #expect(try fixture.replica.records(in: "exchange").contains { $0.id == exchange.id } == false)
        }
    }
}
