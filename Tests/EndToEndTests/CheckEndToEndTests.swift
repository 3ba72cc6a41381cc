import Foundation
import TandemTesting
import Testing

/// `tandem check` with the real binaries and a real server (SPEC §3, docs/sync.md "Am I in
/// sync?"): in sync after a sync; a table changed behind Tandem's back with `sqlite3` is named,
/// and so is one with edits not pushed yet; `tandem sync --resync` repairs, keeping those edits.
@Suite struct CheckEndToEndTests {
    /// Runs `sqlite3 DB SQL`, as someone who edits the file by hand would.
    static func sqlite3(_ db: String, _ sql: String) throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: try #require(RollbackEndToEndTests.sqlite3))
        process.arguments = [db, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test(.enabled(if: RollbackEndToEndTests.sqlite3 != nil, "needs the sqlite3 command"))
    func checkNamesATableChangedBehindTandemsBackAndResyncRepairsItKeepingPendingEdits() throws {
        let world = try ExchangeWorld()
        for name in ["coordinator", "ministry", "company"] {
            let check = try world.tandem(name, ["check"])
            #expect(
                check.status == 0 && check.output.hasPrefix("in sync: 6 tables, ") && check.stderr.isEmpty, "\(check)")
        }

        // Behind Tandem's back, the company's file loses its exchange and gets another name for
        // the company; and the company adds a practice it has not pushed yet.
        let db = world.server.folder.path("company.sqlite")
        try Self.sqlite3(
            db, "UPDATE organisation SET name = 'Tampered' WHERE id = '\(world.company.id)'; DELETE FROM exchange;")
        let practice = try world.ok("company", ["add", "practice", "organisation=\(world.company.id)", "title=Lean"])

        let check = try world.tandem("company", ["check"])
        #expect(check.status == 1, "\(check)")
        #expect(
            check.stdout == """
                organisation: differs: 2 records on both sides, not the same versions or values
                exchange: differs: 0 here, 1 on the server (at least 1 record differs)
                practice: 1 pending change not pushed yet (1 here, 0 on the server)

                """, "\(check)")
        #expect(check.stderr.hasPrefix("tandem: not in sync; ") && check.stderr.split(separator: "\n").count == 1)
        let json = try world.tandem("company", ["check", "--format", "json"])
        #expect(json.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["in_sync"] as? Bool == false)
        let statuses = (report["tables"] as? [[String: Any]] ?? []).map { "\($0["table"] ?? ""):\($0["status"] ?? "")" }
        #expect(
            statuses == [
                "round:equal", "organisation:differs", "person:equal", "challenge:equal", "exchange:differs",
                "practice:pending",
            ])
        // The ministry's replica was not touched.
        #expect(try world.tandem("ministry", ["check"]).status == 0)

        let resync = try world.tandem("company", ["sync", "--resync"])
        #expect(resync.status == 0, "\(resync)")
        let after = try world.tandem("company", ["check"])
        #expect(after.status == 0 && after.output.hasPrefix("in sync: "), "\(after)")
        #expect(try world.ok("company", ["get", "practice", practice, "--format", "json"]).contains("\"Lean\""))
        #expect(
            try world.ok("company", ["get", "organisation", world.company.id, "--format", "json"]).contains("Kovina"))
        #expect(try world.ok("company", ["list", "exchange", "--format", "csv"]).contains(world.exchange))
        try world.ok("coordinator", ["sync"])
        #expect(try world.ok("coordinator", ["get", "practice", practice, "--format", "json"]).contains("\"Lean\""))
    }

    @Test func checkFailsAsSyncDoesWhenTheServerIsAwayOrRefusesTheToken() throws {
        let world = try ExchangeWorld()
        #expect(try world.server.admin(["token", "revoke", "--token", world.company.token]).status == 0)
        let refused = try world.tandem("company", ["check"])
        #expect(refused.status == 77 && refused.stdout.isEmpty, "\(refused)")
        world.server.stop()
        let away = try world.tandem("ministry", ["check"])
        #expect(away.status == 69 && away.stdout.isEmpty, "\(away)")
        #expect(away.stderr.hasPrefix("tandem: ") && away.stderr.split(separator: "\n").count == 1, "\(away)")
    }
}
