import Foundation
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// A server restored from a backup (issue 17, docs/operations.md), with the real binaries: the
/// operator copies the data directory while the server is stopped and later restores it; the
/// replicas notice at their next sync (exit 65, one stderr line naming the seqs), hand back what
/// the server lost, pull again from where both agree, and end up holding what the server holds.
@Suite struct RollbackEndToEndTests {
    /// The sync tests' world (a served store, organisations A and B, replicas made by `tandem
    /// init --server`), with the operator's backups.
    final class World: @unchecked Sendable {
        let base: SyncEndToEndTests.World
        let backups: TemporaryDirectory
        var server: ServerProcess { base.server }
        var a: (id: String, token: String) { base.ministry }
        var b: (id: String, token: String) { base.company }

        init() throws {
            base = try SyncEndToEndTests.World()
            backups = try TemporaryDirectory(prefix: "tandem-backups")
        }

        func db(_ name: String) -> String { base.db(name) }
        func tandem(_ name: String, _ arguments: [String]) throws -> ProcessResult { try base.tandem(name, arguments) }
        @discardableResult
        func ok(_ name: String, _ arguments: [String]) throws -> String { try base.ok(name, arguments) }
        func clone(_ name: String, token: String) throws { try base.clone(name, token: token) }

        /// Imports `persons` persons of A into replica `name`, then starts `tandem sync` on it
        /// in the background.
        func importAndStartSyncing(_ name: String, persons: Int) throws -> ChildProcess {
            let rows = (1...persons).map { "\(a.id),Person \($0)" }
            let csv = try server.folder.write("organisation,full_name\n" + rows.joined(separator: "\n"), to: "p.csv")
            try ok(name, ["import", "person", csv])
            let sync = ChildProcess()
            sync.executableURL = BinaryRunner.binaryDirectory.appendingPathComponent("tandem")
            sync.arguments = ["sync", "--db", db(name)]
            sync.standardOutput = FileHandle.nullDevice
            sync.standardError = FileHandle.nullDevice
            try sync.run()
            return sync
        }

        /// The operator's backup: stop, copy the data directory, start again (same port).
        func backUp(as name: String) throws {
            server.stop()
            try server.copyData(to: backups.path(name))
            try server.restart()
        }

        /// The operator's restore: stop (or after a crash), put the copy back, start again.
        func restore(_ name: String) throws {
            server.stop()
            try server.restoreData(from: backups.path(name))
            try server.restart()
        }

        /// The store's head seq, from `tandem-server verify --format json`.
        func head() throws -> Int64 {
            let result = try server.admin(["verify", "--format", "json"])
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            guard let seq = object?["seq"] as? Int else { throw FixtureError(result: result) }
            return Int64(seq)
        }

        /// The `full_name`s of the persons a replica holds.
        func persons(_ name: String) throws -> Set<String> {
            let list =
                try JSONSerialization.jsonObject(
                    with: Data(try ok(name, ["list", "person", "--format", "json"]).utf8)) as? [[String: Any]]
            return Set((list ?? []).compactMap { $0["full_name"] as? String })
        }

        /// Every table of a replica as JSON text, for comparing replicas that see the same.
        func snapshot(_ name: String) throws -> [String] {
            try ["round", "organisation", "person", "challenge", "exchange", "practice"].map { table in
                try ok(name, ["export", table, "--format", "json"])
            }
        }
    }

    @Test func aRestoredServerIsNoticedAndLosesNothing() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        try world.clone("a", token: world.a.token)
        try world.clone("b", token: world.b.token)
        // 1. A adds a person and syncs; everyone syncs; the operator takes a backup.
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=Before Backup"])
        for name in ["a", "b", "coordinator"] { try world.ok(name, ["sync"]) }
        try world.backUp(as: "backup")
        let backupHead = try world.head()
        // 2. A adds a second person and syncs; the coordinator syncs and holds it too.
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=After Backup"])
        try world.ok("a", ["sync"])
        try world.ok("coordinator", ["sync"])
        let lostHead = try world.head()
        #expect(lostHead > backupHead)
        #expect(try world.persons("coordinator").contains("After Backup"))
        // 3. The disk fails; the operator restores the copy.
        try world.restore("backup")
        #expect(try world.head() == backupHead)
        // 4. B, which had seen nothing after the backup, adds a practice: the server gives it the
        // seq that A's lost change had, which A's and the coordinator's cursors have passed.
        try world.ok("b", ["add", "practice", "organisation=\(world.b.id)", "title=After Restore B"])
        let bSync = try world.tandem("b", ["sync"])
        #expect(bSync.status == 0, "B lost nothing: \(bSync)")
        // 5. A adds a third person and syncs: it notices, says so in one line, hands back what the
        // server lost, pulls again from where both agree.
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=After Restore"])
        let aSync = try world.tandem("a", ["sync"])
        #expect(aSync.status == 65, "\(aSync)")
        let aLines = aSync.stderr.split(separator: "\n")
        #expect(aLines.count == 1, "\(aSync)")
        #expect(
            aSync.stderr.hasPrefix("tandem: the server's history forked: its entry at seq \(backupHead + 1) ")
                && aSync.stderr.contains("agree up to seq \(backupHead)")
                && aSync.stderr.contains("handed back 1 change "),
            "\(aSync.stderr)")
        #expect(aSync.stdout.hasPrefix("Pushed 1 change"), "\(aSync)")
        // The coordinator notices too: the seq its cursor had passed now holds another entry.
        let cSync = try world.tandem("coordinator", ["sync"])
        #expect(cSync.status == 65, "\(cSync)")
        #expect(cSync.stderr.contains("forked") && cSync.stderr.contains("handed back 0 changes"), "\(cSync.stderr)")
        // Everyone syncs once more: nothing left to notice, and everyone holds the same.
        for name in ["a", "b", "coordinator"] {
            let again = try world.tandem(name, ["sync"])
            #expect(again.status == 0 && again.stderr.isEmpty, "\(name): \(again)")
            let status = try #require(
                try JSONSerialization.jsonObject(with: Data(try world.ok(name, ["status", "--format", "json"]).utf8))
                    as? [String: Any])
            #expect(status["pending"] as? Int == 0 && status["_rollback"] == nil, "\(name): \(status)")
        }
        let everyone: Set = ["Before Backup", "After Backup", "After Restore"]
        #expect(try world.persons("coordinator") == everyone)
        #expect(try world.persons("a") == everyone)
        #expect(try world.snapshot("coordinator").last == world.snapshot("b").last, "B and the coordinator: practices")
        // (An auditor that receives personal values: without --personal its persons arrive without them.)
        let auditor = try world.server.admin(["token", "issue", "--role", "auditor", "--personal"]).output
        try world.clone("auditor", token: auditor)
        #expect(try world.snapshot("auditor") == world.snapshot("coordinator"))
        // The server was told, and verify says so; its history itself is sound (the change handed
        // back verifies as A's, though the coordinator could have carried it).
        let verify = try world.server.admin(["verify"])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stderr.contains("rollback reported: a member token"), "\(verify)")
        #expect(try world.ok("auditor", ["audit", "pull"]).contains("checkpoint"))
        #expect(try world.tandem("auditor", ["audit", "verify"]).status == 0)
    }

    @Test func aCoordinatorHandsBackAnotherOrganisationsChangeAsThatOrganisations() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        try world.clone("a", token: world.a.token)
        for name in ["a", "coordinator"] { try world.ok(name, ["sync"]) }
        try world.backUp(as: "backup")
        let backupHead = try world.head()
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=After Backup"])
        try world.ok("a", ["sync"])
        try world.ok("coordinator", ["sync"])
        try world.restore("backup")
        // Before A comes back, the server is told — and verify fails — once the coordinator
        // presents what it had seen.
        let cSync = try world.tandem("coordinator", ["sync"])
        #expect(cSync.status == 65, "\(cSync)")
        #expect(
            cSync.stderr
                == "tandem: the server's history went back from seq \(backupHead + 1) to seq \(backupHead) "
                + "(restored from an older copy or rolled back?); handed back 1 change it had lost and pulled again "
                + "from seq \(backupHead) (docs/operations.md)\n")
        let verify = try world.server.admin(["verify"])
        #expect(verify.status == 0, "the head has moved past what was presented: \(verify)")
        #expect(verify.stderr.contains("a coordinator token"), "\(verify)")
        // The person is A's again, authored by A's organisation (A may edit it), and A's own sync
        // finds the entry it had seen at that seq — handed back by the coordinator — as another.
        let persons = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try world.ok("coordinator", ["list", "person", "--format", "json"]).utf8))
                as? [[String: Any]])
        let id = try #require(persons.first { $0["full_name"] as? String == "After Backup" }?["id"] as? String)
        let aSync = try world.tandem("a", ["sync"])
        #expect(aSync.status == 65 && aSync.stderr.contains("handed back 0 changes"), "\(aSync)")
        try world.ok("a", ["set", "person", id, "title=Dr"])
        let pushed = try world.tandem("a", ["sync"])
        #expect(pushed.status == 0 && pushed.stderr.isEmpty, "\(pushed)")
        let entries = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try world.ok("a", ["history", "person", id, "--format", "json"]).utf8))
                as? [[String: Any]])
        #expect(entries.count == 2, "\(entries)")
        #expect(entries.allSatisfy { ($0["author"] as? [String: Any])?["organisation"] as? String == world.a.id })
    }

    @Test func aServerKilledMidPushThenRestoredLosesNothing() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        try world.clone("a", token: world.a.token)
        try world.ok("a", ["sync"])
        try world.backUp(as: "backup")
        // Acknowledged after the backup: must survive the restore.
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=Acknowledged"])
        try world.ok("a", ["sync"])
        try world.ok("coordinator", ["sync"])
        // A big push, and the server killed while it runs.
        let sync = try world.importAndStartSyncing("a", persons: 3000)
        Thread.sleep(forTimeInterval: 0.4)
        world.server.crash()
        sync.waitUntilExit()
        #expect(sync.terminationStatus == 69, "the push was over before the server was killed")
        // The disk is replaced; the operator restores the copy.
        try world.restore("backup")
        for _ in 0..<2 {
            for name in ["a", "coordinator"] {
                let result = try world.tandem(name, ["sync"])
                #expect([0, 65].contains(result.status), "\(name): \(result)")
            }
        }
        let a = try world.persons("a")
        #expect(a.contains("Acknowledged") && a.count == 3001, "\(a.count) persons")
        #expect(try world.persons("coordinator") == a)
        #expect(try world.snapshot("coordinator") == world.snapshot("a"))
        let status = try world.ok("a", ["status", "--format", "json"])
        #expect(status.contains("\"pending\":0") && !status.contains("_rollback"), "\(status)")
    }

    @Test func statusKeepsSayingItUntilTheRepairIsFinished() throws {
        let world = try World()
        try world.clone("a", token: world.a.token)
        try world.ok("a", ["sync"])
        try world.backUp(as: "backup")
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=After Backup"])
        try world.ok("a", ["sync"])
        try world.restore("backup")
        // The sync notices, then loses the server while handing back.
        let replica = try Replica.open(at: world.db("a"))
        let remote = try #require(try replica.remote.current())
        let transport = FailingPush(base: try CurlTransport(server: remote.server, token: remote.token))
        #expect(throws: ReplicaError.self) { try SyncEngine(replica: replica, transport: transport).sync() }
        let table = try world.ok("a", ["status"])
        #expect(table.contains("rollback: the server's history went back from seq"), "\(table)")
        let json = try world.ok("a", ["status", "--format", "json"])
        #expect(json.contains(#""_rollback":{"kind":"went_back""#), "\(json)")
        // The next sync finishes the repair: still 65 (the server had lost history), then clean.
        let finished = try world.tandem("a", ["sync"])
        #expect(finished.status == 65 && finished.stderr.contains("handed back 1 change"), "\(finished)")
        #expect(!(try world.ok("a", ["status"])).contains("rollback"))
        #expect(try world.tandem("a", ["sync"]).status == 0)
    }
}

/// A transport whose pushes never arrive (the server went away in the middle of a sync).
private struct FailingPush: SyncTransport {
    let base: any SyncTransport

    func send(_ request: TransportRequest) throws -> TransportResponse {
        if request.path == "/v1/push" { throw ReplicaError(.unavailable, "cannot reach the server: gone") }
        return try base.send(request)
    }
}

extension RollbackEndToEndTests {
    @Test func anAuditorsKeptCheckpointTellsTheServerItWentBack() throws {
        let world = try World()
        try world.clone("a", token: world.a.token)
        try world.clone("auditor", token: try world.server.admin(["token", "issue", "--role", "auditor"]).output)
        try world.ok("a", ["sync"])
        try world.backUp(as: "backup")
        let backupHead = try world.head()
        try world.ok("a", ["add", "person", "organisation=\(world.a.id)", "full_name=After Backup"])
        try world.ok("a", ["sync"])
        try world.ok("auditor", ["audit", "pull"])
        try world.restore("backup")
        let log = world.backups.path("server.log")
        try world.server.restart(log: log)
        // The auditor's pull presents the checkpoint it kept: the history no longer extends it (65),
        // and the server keeps the report and logs it at once, so verify fails until the store has
        // moved past it, and the start-up check says it too.
        let pull = try world.tandem("auditor", ["audit", "pull"])
        #expect(pull.status == 65, "\(pull)")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("THE STORE'S HISTORY WENT BACK: an auditor"))
        try world.server.restart()
        let startUp =
            "THE STORE'S HISTORY WENT BACK: seq \(backupHead + 1): the store's head (seq \(backupHead)) is older"
        let found = try Self.eventually { try String(contentsOfFile: log, encoding: .utf8).contains(startUp) }
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        #expect(found, "the start-up check says it: \(logged)")
        let verify = try world.server.admin(["verify"])
        #expect(verify.status == 65, "\(verify)")
        #expect(
            verify.stderr.hasPrefix(
                "tandem-server: seq \(backupHead + 1): the store's head (seq \(backupHead)) is older than a "
                    + "checkpoint an auditor presented"), "\(verify.stderr)")
        // A hands back what it lost; the store moves past the report; verify is sound again and
        // still lists it.
        #expect(try world.tandem("a", ["sync"]).status == 65)
        let after = try world.server.admin(["verify"])
        #expect(after.status == 0 && after.stderr.contains("rollback reported: an auditor token"), "\(after)")
    }
}

extension RollbackEndToEndTests {
    /// Whether `condition` holds within 10 s (asked every 50 ms).
    static func eventually(_ condition: () throws -> Bool) throws -> Bool {
        for _ in 0..<200 {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    static let sqlite3 = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// docs/operations.md: `sqlite3 store.sqlite ".backup …"` of a live store while a replica
    /// pushes is a consistent copy: it verifies, serves, and the replicas repair against it.
    @Test(.enabled(if: sqlite3 != nil, "needs the sqlite3 command"))
    func aLiveBackupWithSQLite3IsConsistent() throws {
        let world = try World()
        try world.clone("a", token: world.a.token)
        let sync = try world.importAndStartSyncing("a", persons: 2000)
        Thread.sleep(forTimeInterval: 0.3)
        let copy = world.backups.path("live")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let backup = ChildProcess()
        backup.executableURL = URL(fileURLWithPath: try #require(Self.sqlite3))
        backup.arguments = [world.server.data + "/store.sqlite", ".backup '\(copy)/store.sqlite'"]
        try backup.run()
        backup.waitUntilExit()
        #expect(backup.terminationStatus == 0)
        sync.waitUntilExit()
        #expect(sync.terminationStatus == 0)
        let verify = try BinaryRunner.run("tandem-server", ["verify", "--data", copy])
        #expect(verify.status == 0 && verify.stdout.hasPrefix("ok: "), "\(verify)")
        // Restored, it serves; the replica hands back whatever the copy missed.
        try world.restore("live")
        let again = try world.tandem("a", ["sync"])
        #expect([0, 65].contains(again.status), "\(again)")
        #expect(try world.tandem("a", ["sync"]).status == 0)
        #expect(try world.persons("a").count == 2000)
        // (Names counted: an auditor that receives personal values.)
        try world.clone(
            "auditor", token: try world.server.admin(["token", "issue", "--role", "auditor", "--personal"]).output)
        #expect(try world.persons("auditor").count == 2000)
    }
}
