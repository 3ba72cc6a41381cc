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

    /// A running server, the Ministry, and a replica of its member's.
    struct World {
        let folder: TemporaryDirectory
        let server: ServerProcess
        let ministry: (id: String, token: String)
        let cli: CLIReplicas
        let member: String

        init() throws {
            folder = try TemporaryDirectory(prefix: "tandem-schema")
            server = try ServerProcess.start()
            ministry = try server.addOrganisation(name: "Ministry", sector: "public")
            cli = CLIReplicas(folder: folder, server: server)
            member = try cli.make("ministry", token: ministry.token)
        }
    }

    @Test func aReplicaOfflineAcrossASchemaChangeKeepsItsEditAndMigratesAtItsNextSync() throws {
        let world = try World()
        let (folder, server, ministry, cli, member) = (
            world.folder, world.server, world.ministry, world.cli, world.member
        )
        defer { server.stop() }
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

    @Test func aLimitChangedWithTheSchemaReachesReplicasAtTheirNextSync() throws {
        let world = try World()
        let (folder, server, ministry, cli, member) = (
            world.folder, world.server, world.ministry, world.cli, world.member
        )
        defer { server.stop() }
        let summary = String(repeating: "s", count: 3000)
        let arguments = ["add", "practice", "organisation=\(ministry.id)", "title=Report", "summary=\(summary)"]
        // The operator lowers the value limit to 2 KiB: the replica, still on v1, takes 3000 bytes…
        var smaller = Schema.partnership
        smaller.limits = ChangeLimits(valueBytes: 2048, identifierBytes: 1024)
        let document = try folder.write(String(decoding: smaller.encoded(), as: UTF8.self), to: "v2.json")
        #expect(try server.admin(["schema", "apply", document]).status == 0)
        let early = try cli.run(member, arguments)
        #expect(early.status == 0)
        // …which the server refuses alone at its sync; from then on the replica refuses it itself.
        let synced = try cli.run(member, ["sync"])
        #expect(synced.status == 0 && synced.stderr.contains("1 change"), "\(synced)")
        #expect(try cli.run(member, ["status", "--format", "json"]).stdout.contains(#""reason":"value_too_large""#))
        let late = try cli.run(member, arguments)
        #expect(late.status == 65)
        #expect(
            late.stderr == "tandem: practice.summary: the value is 3002 bytes of JSON; the server takes at most 2048\n")
        #expect(try cli.run(member, ["schema", "--format", "json"]).stdout.contains(#""value_bytes":2048"#))
    }
}
