import Foundation
import TandemTesting
import Testing

/// Table output names organisations, persons, rounds and challenges, with a short id (`@` and
/// the start of the id's random last group) where needed to tell records apart; JSON and CSV keep
/// the ids exactly (SPEC §3; docs/replica.md "Short ids").
@Suite struct NamesEndToEndTests {
    /// `@` and the first `length` characters of the id's last group.
    static func short(_ id: String, _ length: Int = 6) -> String { "@" + id.dropFirst(24).prefix(length) }

    @Test func listGetStatusHistoryAndTheReportShowNamesWhileJSONAndCSVKeepIds() throws {
        let world = try ExchangeWorld()
        let round = try world.ok("company", ["list", "round", "--format", "csv"]).split(separator: "\n")[1]
            .split(separator: ",")[0]
        let list = try world.ok("company", ["list", "exchange"])
        let row = try #require(list.split(separator: "\n").dropFirst(2).first.map(String.init))
        #expect(row.hasPrefix(Self.short(world.exchange) + "  "), "\(list)")
        for name in ["5", "Ana Novak", "Ministry", "Kovina", "2026-05-04"] { #expect(row.contains(name), "\(list)") }
        for id in [world.exchange, world.ana, world.ministry.id, world.company.id, String(round)] {
            #expect(!list.contains(id), "table output names \(id)")
        }
        let get = try world.ok("company", ["get", "exchange", Self.short(world.exchange)])
        #expect(get.contains(world.exchange) && get.contains("Ana Novak") && !get.contains(world.ana), "\(get)")

        // JSON and CSV keep the ids exactly.
        let json = try world.ok("company", ["list", "exchange", "--format", "json"])
        let csv = try world.ok("company", ["list", "exchange", "--format", "csv"])
        for id in [world.exchange, world.ana, world.ministry.id, world.company.id, String(round)] {
            #expect(json.contains("\"\(id)\"") && csv.contains(id), "\(id)")
        }
        #expect(!json.contains("Ana Novak") && !csv.contains("Ministry"))

        let status = try world.ok("company", ["status"])
        #expect(status.contains("organisation  Kovina\n"), "\(status)")
        #expect(try world.json("company", ["status"])["organisation"] as? String == world.company.id)
        let history = try world.ok("company", ["history", "exchange", Self.short(world.exchange)])
        #expect(history.contains("  Ministry  ") && history.contains("home=Ministry"), "\(history)")
        #expect(!history.contains(world.ministry.id) && !history.contains(world.ana), "\(history)")

        // The coordinator selects a challenge Ana mentors: the report names her.
        try world.ok("coordinator", ["sync"])
        try world.ok(
            "coordinator",
            [
                "add", "challenge", "round=\(round)", "title=Open data", "proposer=\(world.ministry.id)",
                "status=selected", "mentor=\(world.ana)",
            ])
        let report = try world.ok("coordinator", ["report", "round", "5"])
        #expect(
            report.contains("Open data") && report.contains("Ana Novak") && !report.contains(world.ana), "\(report)")
        #expect(try world.ok("coordinator", ["report", "round", "5", "--format", "csv"]).contains(world.ana))
    }

    @Test func recordsThatShareANameGetTheirShortIdsAndEitherFormOfIdIsTaken() throws {
        let world = try ExchangeWorld()
        let twin = try world.ok(
            "ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Ana Novak"])
        let list = try world.ok("ministry", ["list", "person"])
        for id in [world.ana, twin] { #expect(list.contains(Self.short(id) + "  "), "\(list)") }
        let exchanges = try world.ok("ministry", ["list", "exchange"])
        #expect(exchanges.contains("Ana Novak @"), "two Ana Novaks: the exchange's says which: \(exchanges)")
        // A short id, a prefix of the whole id (as before) and the whole id name the same record.
        for form in [Self.short(twin), Self.short(twin, 4), String(twin.prefix(24)), twin] {
            let get = try world.tandem("ministry", ["get", "person", form, "--format", "json"])
            #expect(get.status == 0 && get.stdout.contains("\"id\":\"\(twin)\""), "\(form): \(get)")
        }
        // Refs take short ids too; a short id too short, or naming nothing, is refused.
        try world.ok("ministry", ["set", "exchange", world.exchange, "person=\(Self.short(twin))"])
        #expect(try world.ok("ministry", ["get", "exchange", world.exchange, "--format", "json"]).contains(twin))
        #expect(try world.tandem("ministry", ["get", "person", "@abc"]).status == 64)
        #expect(try world.tandem("ministry", ["get", "person", "@ffffffffffff"]).status == 66)
    }

    @Test func conflictsNameTheirRecords() throws {
        let world = try ExchangeWorld()
        try world.ok("ministry", ["set", "exchange", world.exchange, "starts_on=2026-05-05"])
        try world.ok("company", ["set", "exchange", world.exchange, "starts_on=2026-05-06"])
        try world.ok("ministry", ["sync"])
        try world.ok("company", ["sync"])
        let table = try world.ok("company", ["conflicts"])
        #expect(table.contains(Self.short(world.exchange)) && !table.contains(world.exchange), "\(table)")
        let json = try world.ok("company", ["conflicts", "--format", "json"])
        #expect(json.contains("\"record_id\":\"\(world.exchange)\""), "\(json)")
    }
}
