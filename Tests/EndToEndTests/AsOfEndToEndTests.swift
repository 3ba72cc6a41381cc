import Foundation
import TandemClient
import TandemTesting
import Testing

/// `tandem get … --as-of` with the real binaries: after a life of edits (a lww merge, a manual
/// conflict resolved, a union of tags, a delete), a record as of any seq is what `get` printed
/// at that seq — from an auditor's audit store and from the pulled history of the replicas
/// that synced.
@Suite struct AsOfEndToEndTests {
    typealias World = SyncEndToEndTests.World

    /// What `get` printed for a record once everyone had synced, and the server's head then.
    struct Snapshot {
        var seq: Int64
        var table: String
        var id: String
        var json: String
    }

    static func head(_ world: World) throws -> Int64 {
        try SyncAPI(transport: try CurlTransport(server: world.server.url, token: world.server.coordinatorToken))
            .checkpoint().seq
    }

    @Test func getAsOfShowsWhatGetPrintedAtEachSeq() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        try world.clone("ministry", token: world.ministry.token)
        var snapshots: [Snapshot] = []
        func settle() throws {
            try world.ok("coordinator", ["sync"])
            try world.ok("ministry", ["sync"])
            try world.ok("coordinator", ["sync"])
        }
        func snap(_ table: String, _ id: String) throws {
            let json = try world.ok("coordinator", ["get", table, id, "--format", "json"])
            snapshots.append(Snapshot(seq: try Self.head(world), table: table, id: id, json: json))
        }

        let round = try world.ok("coordinator", ["add", "round", "number=5", "status=open"])
        try settle()
        try snap("round", round)
        try world.ok("coordinator", ["set", "round", round, "title=Spring"])
        try settle()
        try snap("round", round)

        let ana = try world.ok("ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Ana"])
        let exchange = try world.ok(
            "ministry",
            [
                "add", "exchange", "round=\(round)", "person=\(ana)", "home=\(world.ministry.id)",
                "host=\(world.company.id)", "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        let practice = try world.ok(
            "ministry", ["add", "practice", "organisation=\(world.ministry.id)", "title=Shadowing", "tags=a"])
        try settle()
        try snap("exchange", exchange)
        try snap("practice", practice)

        // Concurrent edits: goals (lww), starts_on (manual: held), tags (union).
        try world.ok("coordinator", ["set", "exchange", exchange, "goals=Learn", "starts_on=2026-05-05"])
        try world.ok("coordinator", ["set", "practice", practice, "tags=b"])
        try world.ok("ministry", ["set", "exchange", exchange, "goals=Teach", "starts_on=2026-05-06", "notes=x"])
        try world.ok("ministry", ["set", "practice", practice, "tags=c"])
        try settle()
        try snap("exchange", exchange)
        try snap("practice", practice)
        let tags = try #require(try world.json("coordinator", ["get", "practice", practice]) as? [String: Any])
        #expect(tags["tags"] as? [String] == ["b", "c"], "the union")

        let conflicts = try #require(try world.json("coordinator", ["conflicts"]) as? [[String: Any]])
        let conflict = try #require(conflicts.first?["id"] as? String)
        try world.ok("coordinator", ["resolve", conflict, "--keep", "incoming"])
        try settle()
        try snap("exchange", exchange)
        try world.ok("ministry", ["rm", "practice", practice])
        try settle()
        let deletedAt = try Self.head(world)

        // An auditor that receives personal values (`--personal`): its table output names Ana as
        // the coordinator's does (without it, her name is not its to show: `@` and a short id).
        let auditor = try world.server.admin(["token", "issue", "--role", "auditor", "--personal"]).output
        try world.clone("auditor", token: auditor)
        try world.ok("auditor", ["audit", "pull"])

        for snapshot in snapshots {
            for replica in ["auditor", "coordinator"] {
                let then = try world.tandem(
                    replica, ["get", snapshot.table, snapshot.id, "--as-of", String(snapshot.seq), "--format", "json"])
                #expect(then.status == 0, "\(replica) \(snapshot.table) at \(snapshot.seq): \(then)")
                #expect(then.output == snapshot.json, "\(replica) \(snapshot.table) at seq \(snapshot.seq)")
            }
        }
        // The member's pulled history of its own exchange says the same.
        for snapshot in snapshots where snapshot.table == "exchange" {
            let then = try world.ok(
                "ministry", ["get", "exchange", exchange, "--as-of", String(snapshot.seq), "--format", "json"])
            #expect(then == snapshot.json, "ministry at seq \(snapshot.seq)")
        }

        // Every format prints as `get` does.
        let last = try #require(snapshots.last)
        for format in ["table", "csv"] {
            let now = try world.ok("coordinator", ["get", "exchange", exchange, "--format", format])
            let then = try world.ok(
                "auditor",
                ["get", "exchange", String(exchange.prefix(13)), "--as-of", String(last.seq), "--format", format])
            #expect(then == now, "\(format)")
        }

        // A deleted record: absent after its delete, readable before it.
        let gone = try world.tandem("auditor", ["get", "practice", practice, "--as-of", String(deletedAt)])
        #expect(gone.status == 66, "\(gone)")
        #expect(
            gone.stderr == "tandem: practice \(practice) was deleted at seq \(deletedAt), before seq \(deletedAt)\n")
        let before = try world.ok(
            "auditor", ["get", "practice", practice, "--as-of", String(deletedAt - 1), "--format", "json"])
        #expect(before == snapshots.last { $0.table == "practice" }?.json)

        // Dates and times: the end of a day, UTC.
        let early = try world.tandem("auditor", ["get", "round", round, "--as-of", "2000-01-01"])
        #expect(early.status == 66 && early.stderr.contains("did not exist yet at 2000-01-01T23:59:59"), "\(early)")
        let later = try world.ok("auditor", ["get", "exchange", exchange, "--as-of", "2999-12-31", "--format", "json"])
        #expect(later == last.json)
        let offset = try world.ok(
            "auditor", ["get", "exchange", exchange, "--as-of", "2999-12-31T23:00:00+05:00", "--format", "json"])
        #expect(offset == last.json)
        let bad = try world.tandem("auditor", ["get", "exchange", exchange, "--as-of", "yesterday"])
        #expect(bad.status == 64 && bad.stderr.hasPrefix("tandem: --as-of yesterday: expected"), "\(bad)")
    }
}
