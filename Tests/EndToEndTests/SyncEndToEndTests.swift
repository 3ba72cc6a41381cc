import Foundation
import TandemTesting
import Testing

/// The real `tandem` against a real `tandem-server serve`: replicas made from the server,
/// edits pushed and pulled, rejections and conflicts reported, exit codes when things fail.
@Suite struct SyncEndToEndTests {
    /// A served store with two organisations, and helpers to run `tandem` on replicas in its folder.
    final class World: @unchecked Sendable {
        let server: ServerProcess
        let ministry: (id: String, token: String)
        let company: (id: String, token: String)

        init() throws {
            server = try ServerProcess.start()
            ministry = try server.addOrganisation(name: "Ministry", sector: "public")
            company = try server.addOrganisation(name: "Kovina", sector: "private")
        }

        func db(_ name: String) -> String { server.folder.path("\(name).sqlite") }

        func tandem(_ name: String, _ arguments: [String]) throws -> ProcessResult {
            try BinaryRunner.run("tandem", arguments + ["--db", db(name)])
        }

        /// Runs a command that must succeed and returns its stdout without the final newline.
        @discardableResult
        func ok(_ name: String, _ arguments: [String]) throws -> String {
            let result = try tandem(name, arguments)
            guard result.status == 0 else { throw FixtureError(result: result) }
            return result.output
        }

        func clone(_ name: String, token: String) throws {
            try ok(name, ["init", "--server", server.url, "--token", token])
        }

        func json(_ name: String, _ arguments: [String]) throws -> Any {
            try JSONSerialization.jsonObject(
                with: Data(try ok(name, arguments + ["--format", "json"]).utf8), options: [.fragmentsAllowed])
        }
    }

    @Test func aRecordAddedOfflineReachesAnotherReplica() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        try world.clone("ministry", token: world.ministry.token)
        let round = try world.ok("coordinator", ["add", "round", "number=5", "status=open"])
        let pushed = try world.tandem("coordinator", ["sync"])
        #expect(pushed.status == 0, "\(pushed)")
        #expect(pushed.stdout.hasPrefix("Pushed 1 change"))
        #expect(pushed.stderr.isEmpty, "no progress line when stderr is not a terminal")

        try world.ok("ministry", ["sync"])
        let record = try #require(try world.json("ministry", ["get", "round", round]) as? [String: Any])
        #expect(record["number"] as? Int == 5 && record["status"] as? String == "open")
        let status = try #require(try world.json("ministry", ["status"]) as? [String: Any])
        #expect(status["organisation"] as? String == world.ministry.id)
        #expect(status["role"] as? String == "member")
        #expect(status["server"] as? String == world.server.url)
        #expect(status["pending"] as? Int == 0 && status["last_sync"] is String)

        let history = try #require(
            try world.json("ministry", ["history", "round", String(round.prefix(13))]) as? [[String: Any]])
        #expect(history.count == 1)
        #expect(history.first?["op"] as? String == "insert" && history.first?["pending"] as? Bool == false)
        #expect((history.first?["author"] as? [String: Any])?["role"] as? String == "coordinator")
        #expect(
            Set(history.first?.keys.map { $0 } ?? []) == [
                "seq", "version", "time", "author", "op", "fields", "outcome", "pending",
            ])
    }

    @Test func aLargeImportGoesThroughInCompressedBatchesAndPages() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        let rows = (1...1200).map { "\($0),Round number \($0) with a longer title to fill the body" }
        let csv = try world.server.folder.write(
            "number,title\n" + rows.joined(separator: "\n") + "\n", to: "rounds.csv")
        try world.ok("coordinator", ["import", "round", csv])
        let pushed = try world.ok("coordinator", ["sync"])
        #expect(pushed.hasPrefix("Pushed 1200 changes"))
        try world.clone("auditor", token: try world.server.admin(["token", "issue", "--role", "auditor"]).output)
        let count = try world.ok("auditor", ["list", "round", "--format", "csv"]).split(separator: "\n").count
        #expect(count == 1201)
    }

    @Test func aRejectedChangeIsSaidOnStderrAndListedByStatus() throws {
        // A change the replica cannot know to be refused: an edit of a record the coordinator
        // deleted meanwhile (a member's edit of what it does not own is refused locally).
        let world = try World()
        try world.clone("ministry", token: world.ministry.token)
        try world.clone("coordinator", token: world.server.coordinatorToken)
        let person = try world.ok("ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Ana"])
        let kept = try world.ok("ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Bo"])
        try world.ok("ministry", ["sync"])
        try world.ok("coordinator", ["sync"])
        try world.ok("coordinator", ["rm", "person", person])
        try world.ok("coordinator", ["sync"])
        try world.ok("ministry", ["set", "person", person, "full_name=Ana Novak"])
        let result = try world.tandem("ministry", ["sync"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr == "tandem: 1 change rejected; see tandem status\n")
        let status = try #require(try world.json("ministry", ["status"]) as? [String: Any])
        #expect(status["pending"] as? Int == 0)
        let rejected = try #require(status["rejected"] as? [[String: Any]])
        #expect(rejected.count == 1)
        #expect(rejected.first?["table"] as? String == "person" && rejected.first?["reason"] as? String == "deleted")
        #expect(Set(rejected.first?.keys.map { $0 } ?? []) == ["change_id", "table", "record_id", "reason", "fields"])
        #expect((rejected.first?["fields"] as? [String: Any])?["full_name"] as? String == "Ana Novak", "what was typed")
        #expect(try world.tandem("ministry", ["get", "person", person]).status == 66)
        #expect(try world.tandem("ministry", ["get", "person", kept]).status == 0)
    }

    @Test func anUnreachableServerIsExit69AndInitLeavesNoFile() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        try world.ok("coordinator", ["add", "round", "number=5"])
        world.server.stop()
        let sync = try world.tandem("coordinator", ["sync"])
        #expect(sync.status == 69, "\(sync)")
        #expect(sync.stderr.hasPrefix("tandem: cannot reach \(world.server.url)"))
        #expect(try world.json("coordinator", ["status"]).self is [String: Any])
        let status = try #require(try world.json("coordinator", ["status"]) as? [String: Any])
        #expect(status["pending"] as? Int == 1)

        let created = try world.tandem(
            "late", ["init", "--server", world.server.url, "--token", world.server.coordinatorToken])
        #expect(created.status == 69)
        #expect(!FileManager.default.fileExists(atPath: world.db("late")))

        let conflicts = try world.tandem("coordinator", ["conflicts", "--format", "json"])
        #expect(conflicts.status == 0 && conflicts.output == "[]")
        #expect(conflicts.stderr.contains("showing the conflicts known locally"))
    }

    @Test func aRefusedTokenIsExit77AndChangesNothing() throws {
        let world = try World()
        let result = try world.tandem("bad", ["init", "--server", world.server.url, "--token", "tdm_not_a_token"])
        #expect(result.status == 77, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: world.db("bad")))

        try world.clone("coordinator", token: world.server.coordinatorToken)
        let remote = try world.tandem("coordinator", ["remote", world.server.url, "--token", "tdm_not_a_token"])
        #expect(remote.status == 77)
        #expect(try world.tandem("coordinator", ["sync"]).status == 0, "the old token is kept")

        // An auditor's replica refuses edits (77); an edit made before the replica knew its role
        // is refused by the server at push (403, 77).
        let auditor = try world.server.admin(["token", "issue", "--role", "auditor"]).output
        try world.clone("auditor", token: auditor)
        #expect(try world.tandem("auditor", ["add", "round", "number=9"]).status == 77)
        try world.ok("offline", ["init"])
        try world.ok("offline", ["add", "round", "number=9"])
        try world.ok("offline", ["remote", world.server.url, "--token", auditor])
        let push = try world.tandem("offline", ["sync"])
        #expect(push.status == 77, "an auditor may not push: \(push)")
    }

    @Test func aManualConflictIsListedAndResolved() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        let round = try world.ok("coordinator", ["add", "round", "number=5", "status=open"])
        try world.ok("coordinator", ["sync"])
        try world.clone("ministry", token: world.ministry.token)
        let ana = try world.ok("ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Ana"])
        let exchange = try world.ok(
            "ministry",
            [
                "add", "exchange", "round=\(round)", "person=\(ana)", "home=\(world.ministry.id)",
                "host=\(world.company.id)", "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        try world.ok("ministry", ["sync"])
        try world.ok("coordinator", ["sync"])
        // starts_on is `manual`: the later edit is held as an open conflict.
        try world.ok("coordinator", ["set", "exchange", exchange, "starts_on=2026-05-05"])
        try world.ok("ministry", ["set", "exchange", exchange, "starts_on=2026-05-06"])
        try world.ok("coordinator", ["sync"])
        let sync = try world.ok("ministry", ["sync"])
        #expect(sync.contains("1 open conflict"))

        let conflicts = try #require(try world.json("ministry", ["conflicts"]) as? [[String: Any]])
        #expect(conflicts.count == 1)
        let conflict = try #require(conflicts.first)
        #expect(Set(conflict.keys) == ["id", "table", "record_id", "field", "current", "incoming", "status"])
        #expect(conflict["current"] as? String == "2026-05-05" && conflict["incoming"] as? String == "2026-05-06")
        let status = try #require(try world.json("ministry", ["status"]) as? [String: Any])
        #expect(status["conflicts"] as? Int == 1)

        let id = try #require(conflict["id"] as? String)
        let resolved = try world.tandem("coordinator", ["resolve", String(id.prefix(8)), "--keep", "incoming"])
        #expect(resolved.status == 0, "\(resolved)")
        let record = try #require(try world.json("coordinator", ["get", "exchange", exchange]) as? [String: Any])
        #expect(record["starts_on"] as? String == "2026-05-06")
        #expect(try world.json("coordinator", ["conflicts"]) as? [Any] != nil)
        let all = try #require(try world.json("coordinator", ["conflicts", "--all"]) as? [[String: Any]])
        #expect(all.map { $0["status"] as? String } == ["resolved"])
        try world.ok("ministry", ["sync"])
        #expect(
            (try world.json("ministry", ["get", "exchange", exchange]) as? [String: Any])?["starts_on"] as? String
                == "2026-05-06")

        let both = try world.tandem("ministry", ["resolve", id, "--keep", "current", "--value", "x"])
        #expect(both.status == 64)
    }
}
