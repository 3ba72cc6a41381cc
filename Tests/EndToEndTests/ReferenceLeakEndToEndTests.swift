import Foundation
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// The reference leak, replayed as it was found — real `tandem-server`, real `tandem` processes,
/// a raw signed push past the CLI's own check — and closed (docs/security.md, "A reference never
/// widens what a member sees").
@Suite struct ReferenceLeakEndToEndTests {
    @Test func aHostileMemberCannotReadAnotherOrganisationsEmployeeByReferringToHer() throws {
        let folder = try TemporaryDirectory(prefix: "tandem-leak")
        let log = folder.path("server.log")
        let server = try ServerProcess.start(logLevel: "trace", log: log)
        defer { server.stop() }
        let ministry = try server.addOrganisation(name: "Ministry", sector: "public")
        let company = try server.addOrganisation(name: "Kovina", sector: "private")
        let town = try server.addOrganisation(name: "Town", sector: "municipality")
        let cli = CLIReplicas(folder: folder, server: server)
        func replica(_ name: String, _ token: String) throws -> String { try cli.make(name, token: token) }
        func tandem(_ db: String, _ arguments: [String]) throws -> ProcessResult { try cli.run(db, arguments) }
        let coordinatorDB = try replica("coordinator", server.coordinatorToken)
        let ministryDB = try replica("ministry", ministry.token)
        let companyDB = try replica("company", company.token)
        let townDB = try replica("town", town.token)

        // Town adds Secret Sara and a practice whose contact she is; the coordinator opens a round.
        let sara = try tandem(
            townDB,
            ["add", "person", "organisation=\(town.id)", "full_name=Secret Sara", "email=sara@town.example"]
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            try tandem(townDB, ["add", "practice", "organisation=\(town.id)", "title=Open hours", "contact=\(sara)"])
                .status == 0)
        #expect(try tandem(townDB, ["sync"]).status == 0)
        let round = try tandem(coordinatorDB, ["add", "round", "number=5"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(try tandem(coordinatorDB, ["sync"]).status == 0)
        #expect(try tandem(ministryDB, ["sync"]).status == 0)

        // The ministry learns her id from the practice, but its CLI refuses to name her.
        let practices = try tandem(ministryDB, ["list", "practice", "--format", "json"])
        #expect(practices.stdout.contains(sara), "the practice publishes her id")
        let refused = try tandem(
            ministryDB,
            [
                "add", "exchange", "round=\(round)", "person=\(sara)", "home=\(ministry.id)", "host=\(company.id)",
                "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        #expect(refused.status == 65 && refused.stderr == "tandem: exchange.person: no person with id \(sara)\n")

        // Past the CLI: a raw push signed by the ministry's registered device.
        let ministryReplica = try Replica.open(at: ministryDB)
        let engine = try SyncEngine.connecting(ministryReplica)
        let clock = HLC(
            milliseconds: Int64(Date().timeIntervalSince1970 * 1000), counter: 0, device: ministryReplica.device)
        let probe = Change(
            changeID: UUIDv7Generator.id(at: clock), table: "exchange", recordID: UUIDv7Generator.id(at: clock),
            op: .insert,
            fields: [
                "round": .string(round), "person": .string(sara), "home": .string(ministry.id),
                "host": .string(company.id), "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
            ], baseVersion: 0, hlc: clock.description, device: ministryReplica.device)
        let results = try engine.api.push([probe].signed(with: try ministryReplica.deviceKey()))
        #expect(results.map(\.status) == [.rejected] && results.map(\.reason) == ["reference:person"], "\(results)")

        // Neither the ministry nor the company (the host it named) ever holds her.
        for db in [ministryDB, companyDB] {
            #expect(try tandem(db, ["sync"]).status == 0)
            let persons = try tandem(db, ["list", "person", "--format", "json"])
            #expect(!persons.stdout.contains(sara) && !persons.stdout.contains("sara@town.example"), "\(persons)")
            #expect(try tandem(db, ["get", "person", sara]).status == 66)
        }
        // Town and the coordinator do.
        #expect(try tandem(coordinatorDB, ["sync"]).status == 0)
        #expect(try tandem(coordinatorDB, ["get", "person", sara]).stdout.contains("Secret Sara"))

        // The programme's rule, checked by the CLI: the person on an exchange works for its home.
        let wrongHome = try tandem(
            coordinatorDB,
            [
                "add", "exchange", "round=\(round)", "person=\(sara)", "home=\(ministry.id)", "host=\(company.id)",
                "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        #expect(
            wrongHome.status == 65
                && wrongHome.stderr == "tandem: exchange.person: person.organisation must equal home\n", "\(wrongHome)")

        // No value of hers is in the server's log, even at trace level.
        server.stop()
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!logged.isEmpty)
        #expect(!logged.contains("sara@town.example") && !logged.contains("Secret Sara"))
    }
}
