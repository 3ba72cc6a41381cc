import Foundation
import GRDB
import TandemTesting
import Testing

/// One oversized value (a pasted 100 KB report) never blocks the queue: the CLI refuses it when
/// it is typed or imported, and a change carrying one anyway (a replica written before that check)
/// is refused alone at sync, kept for retry, while the edits after it go through.
@Suite struct OversizedValueEndToEndTests {
    static let report = String(repeating: "A pasted practice report. ", count: 4_000)  // 104 000 bytes

    @Test func anOversizedValueIsRefusedWhenItIsTypedOrImported() throws {
        let world = try ExchangeWorld()
        let add = try world.tandem(
            "ministry",
            ["add", "practice", "organisation=\(world.ministry.id)", "title=Report", "summary=\(Self.report)"])
        #expect(add.status == 65, "\(add)")
        #expect(add.stderr.hasPrefix("tandem: practice.summary: ") && add.stderr.contains("65536"), "\(add.stderr)")
        #expect(add.stderr.split(separator: "\n").count == 1)
        let csv = try world.server.folder.write(
            "organisation,title,summary\n\(world.ministry.id),Report,\"\(Self.report)\"\n", to: "practices.csv")
        let imported = try world.tandem("ministry", ["import", "practice", csv])
        #expect(imported.status == 65 && imported.stderr.contains("practice.summary"), "\(imported.stderr)")
        #expect(try world.ok("ministry", ["list", "practice", "--format", "csv"]).split(separator: "\n").count == 1)
        #expect(try world.json("ministry", ["status"])["pending"] as? Int == 0, "nothing written")
        // Exactly at the limit is fine: 65 536 bytes of JSON is the text and its two quotes.
        let fits = String(repeating: "x", count: 65_534)
        #expect(
            try world.tandem(
                "ministry", ["add", "practice", "organisation=\(world.ministry.id)", "title=R", "summary=\(fits)"]
            ).status == 0)
    }

    @Test func aChangeCarryingOneAnywayIsRefusedAloneAndTheRestGoesThrough() throws {
        let world = try ExchangeWorld()
        let practice = try world.ok(
            "ministry", ["add", "practice", "organisation=\(world.ministry.id)", "title=Report", "summary=short"])
        // As a replica written by a tandem without the check would hold it: the value in the row
        // that the pending insert sends.
        let queue = try DatabaseQueue(path: world.server.folder.path("ministry.sqlite"))
        try queue.write { db in
            try db.execute(sql: "UPDATE practice SET summary = ? WHERE id = ?", arguments: [Self.report, practice])
        }
        try queue.close()
        try world.ok("ministry", ["set", "exchange", world.exchange, "goals=made after the report"])
        let sync = try world.tandem("ministry", ["sync"])
        #expect(sync.status == 0, "\(sync)")
        #expect(sync.stderr == "tandem: 1 change rejected; see tandem status\n")
        let status = try world.json("ministry", ["status"])
        #expect(status["pending"] as? Int == 0)
        let refused = try #require((status["rejected"] as? [[String: Any]])?.first)
        #expect(refused["reason"] as? String == "value_too_large" && refused["record_id"] as? String == practice)
        #expect((refused["fields"] as? [String: Any])?["summary"] as? String == Self.report, "what was typed is kept")
        try world.ok("company", ["sync"])
        #expect(
            try world.json("company", ["get", "exchange", world.exchange])["goals"] as? String
                == "made after the report")

        let id = try #require(refused["change_id"] as? String)
        #expect(try world.tandem("ministry", ["retry", id]).status == 65, "still too large")
        try world.ok("ministry", ["retry", id, "summary=The report's first page"])
        try world.ok("ministry", ["sync"])
        try world.ok("coordinator", ["sync"])
        let practices = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try world.ok("coordinator", ["list", "practice", "--format", "json"]).utf8))
                as? [[String: Any]])
        #expect(practices.map { $0["summary"] as? String } == ["The report's first page"])
        #expect(practices.first?["title"] as? String == "Report")
    }
}
