import Foundation
import TandemProtocol
import TandemTesting
import Testing

/// Schema evolution with real binaries (SPEC §2): `tandem-server schema apply` while the server
/// runs; a replica offline across the change keeps its pending edit, pushes it, migrates its tables
/// in place at its next sync; the installation is a history entry auditors verify.
@Suite struct SchemaEvolutionEndToEndTests {
    /// The partnership schema plus a practice `website`, an exchange status `postponed` and a
    /// `visit` table.
    static func evolved() -> Schema {
        var schema = Schema.partnership
        let practice = schema.tables.firstIndex { $0.name == "practice" }!
        schema.tables[practice].fields.append(FieldSchema(name: "website", type: .text))
        let exchange = schema.tables.firstIndex { $0.name == "exchange" }!
        let status = schema.tables[exchange].fields.firstIndex { $0.name == "status" }!
        schema.tables[exchange].fields[status].values?.append("postponed")
        schema.tables.append(
            TableSchema(
                name: "visit",
                fields: [
                    FieldSchema(name: "organisation", type: .ref, isRequired: true, references: "organisation"),
                    FieldSchema(name: "on", type: .date),
                ], owners: ["organisation"]))
        return schema
    }

    @Test func aReplicaOfflineAcrossASchemaChangeKeepsItsEditAndMigratesAtItsNextSync() throws {
        let folder = try TemporaryDirectory(prefix: "tandem-schema")
        let server = try ServerProcess.start()
        defer { server.stop() }
        let ministry = try server.addOrganisation(name: "Ministry", sector: "public")
        let cli = CLIReplicas(folder: folder, server: server)
        let member = try cli.make("ministry", token: ministry.token)
        let auditorToken = try server.admin(["token", "issue", "--role", "auditor"]).output
        let auditor = try cli.make("auditor", token: auditorToken.trimmingCharacters(in: .whitespacesAndNewlines))

        // Offline, under v1: a practice.
        let practice = try cli.run(member, ["add", "practice", "organisation=\(ministry.id)", "title=Job shadowing"])
        #expect(practice.status == 0)
        let practiceID = practice.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.run(member, ["set", "practice", practiceID, "website=x"]).status == 65, "no such field yet")

        // The operator installs v2 while the server runs; refusals name what, a missing file is 66.
        let document = try folder.write(String(decoding: Self.evolved().encoded(), as: UTF8.self), to: "v2.json")
        let applied = try server.admin(["schema", "apply", document])
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.output.hasPrefix("installed schema partnership v2 (seq "), "\(applied)")
        var shrunk = Self.evolved()
        shrunk.tables.removeAll { $0.name == "practice" }
        let removal = try folder.write(String(decoding: shrunk.encoded(), as: UTF8.self), to: "bad.json")
        let refused = try server.admin(["schema", "apply", removal])
        #expect(refused.status == 65)
        #expect(refused.stderr == "tandem-server: practice: the table is removed or renamed (only additive changes)\n")
        #expect(try server.admin(["schema", "apply", folder.path("none.json")]).status == 66)

        // The replica still on v1 pushes its edit (merged under v2) and migrates its tables.
        #expect(try cli.run(member, ["status"]).stdout.contains("partnership v1"))
        let synced = try cli.run(member, ["sync"])
        #expect(synced.status == 0 && synced.stdout.hasPrefix("Pushed 1 change"), "\(synced)")
        let status = try cli.run(member, ["status", "--format", "json"])
        #expect(status.stdout.contains(#""_schema":{"name":"partnership","version":2}"#), "\(status)")
        let schema = try cli.run(member, ["schema", "--format", "json"])
        #expect(schema.stdout.contains(#""name":"visit""#) && schema.stdout.contains(#""version":2"#))
        #expect(try cli.run(member, ["schema"]).stdout.contains("website"))
        // The new field and table work, locally and through the server.
        #expect(try cli.run(member, ["set", "practice", practiceID, "website=https://gov.example"]).status == 0)
        #expect(try cli.run(member, ["add", "visit", "organisation=\(ministry.id)", "on=2026-05-04"]).status == 0)
        let again = try cli.run(member, ["sync"])
        #expect(again.status == 0 && again.stdout.hasPrefix("Pushed 2 changes") && again.stderr.isEmpty, "\(again)")
        let fresh = try cli.make("fresh", token: ministry.token)
        let got = try cli.run(fresh, ["get", "practice", practiceID, "--format", "json"])
        #expect(got.stdout.contains(#""website":"https://gov.example""#), "\(got)")

        // The installation is in the history, and the history verifies.
        #expect(try cli.run(auditor, ["audit", "pull"]).status == 0)
        let verified = try cli.run(auditor, ["audit", "verify"])
        #expect(verified.status == 0 && verified.stdout.hasPrefix("ok: "), "\(verified)")
        let exported = try cli.run(auditor, ["audit", "export"])
        #expect(exported.stdout.contains(#""table":"_schema""#))
        let serverVerify = try server.admin(["verify"])
        #expect(serverVerify.status == 0, "\(serverVerify)")
    }
}
