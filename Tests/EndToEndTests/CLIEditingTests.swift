import Foundation
import TandemTesting
import Testing

/// The `tandem` binary, run as a user's script would: exit codes, stdout shapes, stderr lines.
@Suite struct CLIEditingTests {
    @Test func initMakesAnOwnerOnlyReplicaAndRefusesToOverwrite() throws {
        let fixture = try CLIFixture()
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.db)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try fixture.tandem(["init"])
        #expect(again.status == 73)
        #expect(again.stderr.hasPrefix("tandem: ") && again.stderr.contains("already exists"))
    }

    @Test func initUsesTandemDBAndCreatesFolders() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("nested/deeper/r.sqlite")
        let result = try BinaryRunner.run("tandem", ["init"], environment: ["TANDEM_DB": path])
        #expect(result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: path))
        let xdg = try BinaryRunner.run("tandem", ["init"], environment: ["XDG_DATA_HOME": folder.path("xdg")])
        #expect(xdg.status == 0)
        #expect(FileManager.default.fileExists(atPath: folder.path("xdg/tandem/replica.sqlite")))
    }

    @Test func addPrintsTheIdAndJSONPrintsTheWholeRecord() throws {
        let fixture = try CLIFixture.populated()
        let added = try fixture.tandem(["add", "exchange"] + fixture.exchange)
        #expect(added.status == 0 && added.stderr.isEmpty)
        #expect(added.output.count == 36 && added.output.split(separator: "\n").count == 1)
        let record = try #require(
            try fixture.json(["add", "exchange"] + fixture.exchange + ["goals=learn"]) as? [String: Any])
        let keys: Set<String> = [
            "id", "round", "person", "home", "host", "starts_on", "ends_on", "status", "goals", "notes",
        ]
        #expect(Set(record.keys) == keys)
        #expect(record["status"] as? String == "draft")
        #expect(record["notes"] is NSNull)
        #expect(record["goals"] as? String == "learn")
    }

    @Test func jsonHasNumbersBooleansAndArrays() throws {
        let fixture = try CLIFixture.populated()
        let round = try #require(try fixture.json(["get", "round", fixture.round]) as? [String: Any])
        #expect((round["number"] as? NSNumber)?.intValue == 5)
        let practice = try fixture.id([
            "add", "practice", "organisation=\(fixture.ministry)", "title=Roofs", "tags=b;a",
        ])
        let json = try fixture.tandem(["get", "practice", practice, "--format", "json"]).output
        #expect(json.contains(#""tags":["a","b"]"#))
        #expect(json.hasPrefix(#"{"id":""#))
    }

    @Test func setChangesOnlyTheNamedFieldsAndEmptyIsNull() throws {
        let fixture = try CLIFixture.populated()
        let id = try fixture.id(["add", "exchange"] + fixture.exchange + ["notes=bring a laptop"])
        let set = try fixture.tandem(["set", "exchange", String(id.prefix(28)), "status=confirmed", "notes="])
        #expect(set.status == 0 && set.stdout.isEmpty && set.stderr.isEmpty)
        let record = try #require(try fixture.json(["get", "exchange", id]) as? [String: Any])
        #expect(record["status"] as? String == "confirmed")
        #expect(record["notes"] is NSNull)
        #expect(record["starts_on"] as? String == "2026-05-04")
    }

    @Test func listFiltersAndLimits() throws {
        let fixture = try CLIFixture.populated()
        _ = try fixture.id(["add", "exchange"] + fixture.exchange + ["status=confirmed"])
        _ = try fixture.id(["add", "exchange"] + fixture.exchange)
        _ = try fixture.id(["add", "exchange"] + fixture.exchange + ["status=confirmed"])
        let confirmed = try #require(
            try fixture.json(["list", "exchange", "--where", "status=confirmed"]) as? [[String: Any]])
        #expect(confirmed.count == 2)
        let limited = try #require(try fixture.json(["list", "exchange", "--limit", "1"]) as? [[String: Any]])
        #expect(limited.count == 1)
        let both = try #require(
            try fixture.json(["list", "exchange", "--where", "status=confirmed", "--where", "home=\(fixture.company)"])
                as? [[String: Any]])
        #expect(both.isEmpty)
        let table = try fixture.tandem(["list", "exchange"])
        #expect(table.stdout.hasPrefix("id ") && table.stdout.hasSuffix("(3 records)\n"))
        let csv = try fixture.tandem(["list", "exchange", "--format", "csv"])
        #expect(csv.stdout.hasPrefix("id,round,person,home,host,starts_on,ends_on,status,goals,notes\n"))
        #expect(csv.stdout.split(separator: "\n").count == 4)
    }

    @Test func rmIsRefusedWhileReferencedThenWorks() throws {
        let fixture = try CLIFixture.populated()
        let exchange = try fixture.id(["add", "exchange"] + fixture.exchange)
        let refused = try fixture.tandem(["rm", "person", fixture.ana])
        #expect(refused.status == 65)
        #expect(
            refused.stderr == "tandem: person \(fixture.ana): still referenced by 1 exchange record (exchange.person)\n"
        )
        #expect(try fixture.tandem(["rm", "exchange", exchange]).status == 0)
        #expect(try fixture.tandem(["rm", "person", fixture.ana]).status == 0)
        #expect(try fixture.tandem(["get", "person", fixture.ana]).status == 66)
    }

    @Test func statusShowsPendingChangesInTheSpecShape() throws {
        let fixture = try CLIFixture.populated()
        let status = try #require(try fixture.json(["status"]) as? [String: Any])
        // SPEC §3's keys, and the schema under an underscore (an extra key, as SPEC allows for records).
        #expect(
            Set(status.keys.filter { !$0.hasPrefix("_") }) == [
                "organisation", "role", "server", "pending", "conflicts", "rejected", "last_sync",
            ])
        // Extras, underscored as SPEC §3 has extras: the schema held, the clock offset (null before any server).
        #expect(Set(status.keys.filter { $0.hasPrefix("_") }) == ["_schema", "_clock_offset_ms"])
        #expect(status["_clock_offset_ms"] is NSNull)
        let schema = status["_schema"] as? [String: Any]
        #expect(schema?["name"] as? String == "partnership" && (schema?["version"] as? NSNumber)?.intValue == 1)
        #expect((status["pending"] as? NSNumber)?.intValue == 4)
        #expect(status["organisation"] is NSNull && status["server"] is NSNull && status["last_sync"] is NSNull)
        #expect((status["rejected"] as? [Any])?.isEmpty == true)
        #expect((status["conflicts"] as? NSNumber)?.intValue == 0)
    }

    @Test func reportCountsTheRoundFromTheReplica() throws {
        let fixture = try CLIFixture.populated()
        _ = try fixture.id(["add", "exchange"] + fixture.exchange + ["status=confirmed"])
        _ = try fixture.id(["add", "exchange"] + fixture.exchange + ["status=cancelled"])
        let marko = try fixture.id(["add", "person", "organisation=\(fixture.company)", "full_name=Marko"])
        _ = try fixture.id([
            "add", "exchange", "round=\(fixture.round)", "person=\(marko)", "home=\(fixture.company)",
            "host=\(fixture.ministry)", "starts_on=2026-06-01", "ends_on=2026-06-05", "status=completed",
        ])
        let selected = try fixture.id([
            "add", "challenge", "round=\(fixture.round)", "title=Open data", "proposer=\(fixture.ministry)",
            "status=selected", "mentor=\(marko)",
        ])
        _ = try fixture.id([
            "add", "challenge", "round=\(fixture.round)", "title=Permits", "proposer=\(fixture.company)",
        ])
        let report = try #require(try fixture.json(["report", "round", "5"]) as? [String: Any])
        #expect((report["round"] as? NSNumber)?.intValue == 5)
        let exchanges = try #require(report["exchanges"] as? [String: Any])
        #expect((exchanges["total"] as? NSNumber)?.intValue == 2)
        let byStatus = try #require(exchanges["by_status"] as? [String: NSNumber])
        #expect(
            byStatus.mapValues(\.intValue) == [
                "draft": 0, "proposed": 0, "confirmed": 1, "completed": 1, "cancelled": 0,
            ])
        let sectors = try #require(report["sectors"] as? [String: [String: NSNumber]])
        #expect(sectors.count == 6)
        #expect(sectors["public"]?["organisations"]?.intValue == 1 && sectors["public"]?["employees"]?.intValue == 1)
        #expect(sectors["private"]?["organisations"]?.intValue == 1 && sectors["private"]?["employees"]?.intValue == 1)
        #expect(sectors["ngo"]?["organisations"]?.intValue == 0)
        #expect((report["employees_exchanged"] as? NSNumber)?.intValue == 2)
        #expect(try fixture.tandem(["report", "round", "9"]).status == 66)
        // The round's challenges: by status, and which selected ones have a mentor.
        let challenges = try #require(report["challenges"] as? [String: Any])
        #expect((challenges["total"] as? NSNumber)?.intValue == 2)
        let challengeStatuses = try #require(challenges["by_status"] as? [String: NSNumber]).mapValues(\.intValue)
        #expect(
            challengeStatuses == ["proposed": 1, "selected": 1, "in_progress": 0, "completed": 0, "rejected": 0])
        let picked = try #require(challenges["selected"] as? [[String: Any]])
        #expect(picked.count == 1 && picked[0]["id"] as? String == selected && picked[0]["mentor"] as? String == marko)
        #expect((challenges["mentored"] as? NSNumber)?.intValue == 1)
        let csv = try fixture.tandem(["report", "round", "5", "--format", "csv"])
        #expect(
            csv.status == 0
                && csv.stdout.hasPrefix("section,name,organisations,employees,exchanges,challenges,mentor\n"))
        #expect(
            csv.stdout.contains("sector,public,1,1,,,\n") && csv.stdout.contains("challenge_status,selected,,,,1,\n"))
        #expect(csv.stdout.contains("selected_challenge,Open data,,,,selected,\(marko)\n"))
        let table = try fixture.tandem(["report", "round", "5"])
        #expect(table.stdout.contains("2 challenges") && table.stdout.contains("1 selected, 1 with a mentor"))
    }
}
