import Foundation
import TandemClient
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Read visibility through real replicas and the in-process server (SPEC §6,
/// docs/visibility.md): a person arrives at the replica of the organisation that hosts their
/// exchange, and leaves it when the exchange moves to another host or is deleted.
@Suite struct VisibilityEndToEndTests {
    struct Member {
        let id: String
        let replica: Replica
        let engine: SyncEngine

        func sync() async throws { _ = try await offPool { try engine.sync() } }

        func has(_ table: String, _ id: String) throws -> Bool {
            try replica.records(in: table).contains { $0.id == id }
        }

        /// The pulled log entries of a record: none once it has left, when the replica knows
        /// nothing of it and says so (`notFound` naming the record). Any other error fails the test.
        func historyCount(_ table: String, _ id: String) throws -> Int {
            do {
                return try replica.history(of: table, id: id).count
            } catch {
                guard error.code == .notFound && error.message.contains(id) else { throw error }
                return 0
            }
        }
    }

    static func replica(
        _ name: String, token: String, organisation: String, server: TestServer, folder: TemporaryDirectory
    ) async throws -> Member {
        let transport = try CurlTransport(server: server.url, token: token)
        let (replica, _) = try await offPool {
            try SyncEngine.createReplica(
                at: folder.path("\(name).sqlite"), remote: Remote(server: server.url, token: token),
                transport: transport)
        }
        return Member(id: organisation, replica: replica, engine: SyncEngine(replica: replica, transport: transport))
    }

    @Test func aPersonArrivesWithTheirExchangeAndLeavesWhenItMovesOrGoes() async throws {
        let server = try await TestServer.start()
        let folder = try TemporaryDirectory(prefix: "tandem-visibility")
        let now = ServerClock.wall()
        var members: [Member] = []
        for (name, sector) in [("Ministry", "public"), ("Kovina", "private"), ("Town", "municipality")] {
            let organisation = try await server.store.addOrganisation(name: name, sector: sector, now: now)
            members.append(
                try await Self.replica(
                    name, token: organisation.token, organisation: organisation.id, server: server, folder: folder))
        }
        let (ministry, company, town) = (members[0], members[1], members[2])
        let coordinator = try await Self.replica(
            "coordinator", token: server.coordinatorToken, organisation: "", server: server, folder: folder)

        let round = try coordinator.replica.editor.insert(into: "round", [Assignment("number", "5")])
        try await coordinator.sync()
        try await ministry.sync()
        let ana = try ministry.replica.editor.insert(
            into: "person",
            [Assignment("organisation", ministry.id), Assignment("full_name", "Ana"), Assignment("email", "ana@x.si")])
        try await ministry.sync()
        try await company.sync()
        #expect(try company.has("round", round.id), "reference data reaches everyone")
        #expect(try !company.has("person", ana.id), "another organisation's person does not")

        // Ana goes to Kovina: her record arrives whole, although it was made before Kovina's cursor.
        let exchange = try ministry.replica.editor.insert(
            into: "exchange",
            [
                Assignment("round", round.id), Assignment("person", ana.id), Assignment("home", ministry.id),
                Assignment("host", company.id), Assignment("starts_on", "2026-05-04"),
                Assignment("ends_on", "2026-05-08"),
            ])
        try await ministry.sync()
        try await company.sync()
        #expect(try company.replica.record(in: "person", id: ana.id)["email"] == .text("ana@x.si"))
        #expect(try company.has("exchange", exchange.id))
        // The exchange's entry was pulled; Ana came whole, without hers (made before Kovina's cursor).
        #expect(try company.historyCount("exchange", exchange.id) == 1)
        #expect(try company.historyCount("person", ana.id) == 0)
        try await town.sync()
        #expect(try !town.has("person", ana.id) && !town.has("exchange", exchange.id))

        // Kovina edits the exchange it hosts; then the ministry moves it to Town.
        _ = try company.replica.editor.update("exchange", id: exchange.id, [Assignment("notes", "desk ready")])
        try await company.sync()
        try await ministry.sync()
        _ = try ministry.replica.editor.update("exchange", id: exchange.id, [Assignment("host", town.id)])
        try await ministry.sync()
        try await company.sync()
        try await town.sync()
        #expect(try !company.has("person", ana.id) && !company.has("exchange", exchange.id), "they left Kovina")
        #expect(try company.historyCount("person", ana.id) == 0)
        #expect(try company.historyCount("exchange", exchange.id) == 0)
        #expect(try company.has("round", round.id), "leaving is not deleting everything")
        #expect(try town.replica.record(in: "exchange", id: exchange.id)["notes"] == .text("desk ready"))
        #expect(try town.replica.record(in: "person", id: ana.id)["full_name"] == .text("Ana"))

        // The exchange is deleted: Town keeps no trace of Ana; the ministry keeps its own person.
        try ministry.replica.editor.delete(from: "exchange", id: exchange.id)
        try await ministry.sync()
        try await town.sync()
        #expect(try !town.has("person", ana.id) && !town.has("exchange", exchange.id))
        #expect(try ministry.has("person", ana.id))
        #expect(try town.replica.status().pending == 0 && company.replica.status().pending == 0)
        await server.stop()
    }
}
