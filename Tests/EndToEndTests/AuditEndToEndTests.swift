import Foundation
import GRDB
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// The real `tandem` against a real `tandem-server`: replicas register their device keys and
/// sign what they push; an auditor pulls the whole history, verifies it offline, exports it,
/// and catches a line altered in its own copy (SPEC §8).
@Suite struct AuditEndToEndTests {
    typealias World = SyncEndToEndTests.World

    /// The server's history as an auditor's token reads it, one line per entry.
    static func serverHistory(_ world: World, token: String) throws -> [String] {
        let api = SyncAPI(transport: try CurlTransport(server: world.server.url, token: token))
        return try api.history(since: 0, limit: 10_000).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A coordinator and the ministry edit one exchange, with a lww merge and a manual conflict;
    /// returns the exchange's id.
    @discardableResult
    static func edit(_ world: World) throws -> String {
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
        try world.ok("coordinator", ["set", "exchange", exchange, "starts_on=2026-05-05", "goals=Learn"])
        try world.ok("ministry", ["set", "exchange", exchange, "starts_on=2026-05-06", "goals=Teach"])
        try world.ok("coordinator", ["sync"])
        let sync = try world.ok("ministry", ["sync"])
        #expect(sync.contains("1 open conflict"), "starts_on is manual: \(sync)")
        return exchange
    }

    @Test func anAuditorPullsVerifiesAndExportsTheWholeHistory() throws {
        let world = try World()
        let exchange = try Self.edit(world)
        let auditorToken = try world.server.admin(["token", "issue", "--role", "auditor"]).output
        try world.clone("auditor", token: auditorToken)

        var history = try Self.serverHistory(world, token: auditorToken)
        let pulled = try world.tandem("auditor", ["audit", "pull"])
        #expect(pulled.status == 0, "\(pulled)")
        #expect(
            pulled.stdout
                == "pulled \(history.count) entries (seq 1–\(history.count)), checkpoint seq \(history.count)\n")
        #expect(pulled.stderr.isEmpty)
        let head = try #require(try JSONSerialization.jsonObject(with: Data(history.last!.utf8)) as? [String: Any])
        let verified = try world.tandem("auditor", ["audit", "verify"])
        #expect(verified.status == 0, "\(verified)")
        #expect(
            verified.stdout
                == "ok: \(history.count) entries, head seq \(history.count) \(head["hash"] as? String ?? "?"), 1 checkpoint verified\n"
        )

        // Every replica that pushed registered its device, and its changes carry its signature.
        let ministryDevice = try Self.device(of: world.db("ministry"))
        let entries = try history.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let registrations = entries.filter { ($0["change"] as? [String: Any])?["table"] as? String == "_device" }
        #expect(registrations.contains { ($0["change"] as? [String: Any])?["record_id"] as? String == ministryDevice })
        let ministryChanges = entries.filter {
            ($0["author"] as? [String: Any])?["device"] as? String == ministryDevice
        }
        #expect(ministryChanges.count >= 3)
        #expect(ministryChanges.allSatisfy { ($0["change"] as? [String: Any])?["signature"] is String })
        #expect(!entries.contains { ($0["outcome"] as? [String: Any])?["reason"] as? String == "signature" })

        // More edits: the next pull fetches only the new entries.
        try world.ok("ministry", ["set", "exchange", exchange, "notes=Bring a laptop"])
        try world.ok("ministry", ["sync"])
        let before = history.count
        history = try Self.serverHistory(world, token: auditorToken)
        #expect(history.count == before + 1)
        let again = try world.tandem("auditor", ["audit", "pull"])
        #expect(again.stdout == "pulled 1 entry (seq \(before + 1)–\(before + 1)), checkpoint seq \(before + 1)\n")
        let twice = try world.tandem("auditor", ["audit", "verify"])
        #expect(twice.status == 0 && twice.stdout.hasSuffix(", 2 checkpoints verified\n"), "\(twice)")

        // Export: the lines verbatim, or CSV.
        let ndjson = try world.tandem("auditor", ["audit", "export"])
        #expect(ndjson.status == 0)
        #expect(ndjson.stdout == history.map { $0 + "\n" }.joined())
        let csv = try world.tandem("auditor", ["audit", "export", "--format", "csv"])
        let rows = csv.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(rows.first == "seq,time,organisation,role,device,table,record_id,op,status,version,reason,hash")
        #expect(rows.count == history.count + 1)
        #expect(rows.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count >= 12 })

        // The coordinator may pull too; a member may not.
        let coordinator = try world.tandem("coordinator", ["audit", "pull"])
        #expect(coordinator.status == 0, "\(coordinator)")
        let member = try world.tandem("ministry", ["audit", "pull"])
        #expect(member.status == 77, "\(member)")
        #expect(member.stderr.hasPrefix("tandem: not permitted"))
        #expect(try world.tandem("ministry", ["audit", "verify"]).status == 66, "nothing pulled")
    }

    @Test func aLineAlteredInTheAuditorsCopyIsNamedByVerify() throws {
        let world = try World()
        let exchange = try Self.edit(world)
        let auditorToken = try world.server.admin(["token", "issue", "--role", "auditor"]).output
        try world.clone("auditor", token: auditorToken)
        try world.ok("auditor", ["audit", "pull"])
        // The exchange's insert: move its end a day later, as someone editing the file would.
        let queue = try DatabaseQueue(path: world.db("auditor"))
        let seq = try queue.write { db -> Int64 in
            let seq = try #require(
                try Int64.fetchOne(
                    db,
                    sql: "SELECT seq FROM tandem_audit_entry WHERE record_id = ? AND line LIKE '%\"op\":\"insert\"%'",
                    arguments: [exchange]))
            try db.execute(
                sql: "UPDATE tandem_audit_entry SET line = replace(line, '2026-05-08', '2026-05-09') WHERE seq = ?",
                arguments: [seq])
            return seq
        }
        try queue.close()
        let verified = try world.tandem("auditor", ["audit", "verify"])
        #expect(verified.status == 65, "\(verified)")
        #expect(verified.stdout.isEmpty)
        #expect(verified.stderr == "tandem: seq \(seq): the hash does not match the entry's contents (altered)\n")
    }

    @Test func remoteRegistersTheDeviceAndAnAuditorsDoesNot() throws {
        let world = try World()
        try world.ok("offline", ["init"])
        try world.ok("offline", ["add", "round", "number=7"])
        let remote = try world.tandem(
            "offline", ["remote", world.server.url, "--token", world.server.coordinatorToken])
        #expect(remote.status == 0, "\(remote)")
        let auditorToken = try world.server.admin(["token", "issue", "--role", "auditor"]).output
        let device = try Self.device(of: world.db("offline"))
        let registered = try Self.serverHistory(world, token: auditorToken).filter {
            $0.contains(#""table":"_device""#) && $0.contains(device)
        }
        #expect(registered.count == 1, "registered at `remote`, before any push")
        let sync = try world.tandem("offline", ["sync"])
        #expect(sync.status == 0 && sync.stderr.isEmpty, "\(sync)")

        try world.ok("watcher", ["init"])
        try world.ok("watcher", ["remote", world.server.url, "--token", auditorToken])
        let watcher = try Self.device(of: world.db("watcher"))
        #expect(!(try Self.serverHistory(world, token: auditorToken)).contains { $0.contains(watcher) })
    }

    /// A replica's device id, as `tandem_meta` holds it.
    static func device(of path: String) throws -> String {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM tandem_meta WHERE key = 'device'") ?? ""
        }
    }
}
