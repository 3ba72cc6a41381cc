import Foundation
import TandemTesting
import Testing

/// Issue 14 end to end with the real binaries: a person's personal data erased everywhere while
/// every verifier still passes (SPEC §8, docs/audit.md "Personal data").
@Suite struct ErasureEndToEndTests {
    typealias World = SyncEndToEndTests.World

    /// Bytes of the person's name and e-mail: found nowhere once she is erased.
    static let surname = "Brzeczyszczykiewicz"
    static let mailbox = "zofia.ode@ministry.example"

    /// Every file under `folder` (replicas with their WAL, the server's store, logs) that holds one of `needles`.
    static func files(in folder: URL, holding needles: [String]) throws -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                let bytes = try? Data(contentsOf: url)
            else { continue }
            for needle in needles where bytes.range(of: Data(needle.utf8)) != nil {
                found.append("\(url.lastPathComponent): \(needle)")
            }
        }
        return found
    }

    /// The exit status of `python3 scripts/verify-history.py FILE`.
    static func verifyWithScript(_ file: String) throws -> Int32 {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/verify-history.py").path, file]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aPersonErasedLeavesNoByteAnywhereAndEveryVerifierPasses() throws {
        let world = try World()
        try world.clone("coordinator", token: world.server.coordinatorToken)
        let round = try world.ok(
            "coordinator", ["add", "round", "number=3", "status=open", "opens_on=2026-01-01", "closes_on=2026-12-31"])
        try world.ok("coordinator", ["sync"])
        // The ministry adds Zofia and sends her to the company; edits her several times.
        try world.clone("ministry", token: world.ministry.token)
        let zofia = try world.ok(
            "ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Zofia \(Self.surname)"])
        let exchange = try world.ok(
            "ministry",
            [
                "add", "exchange", "round=\(round)", "person=\(zofia)", "home=\(world.ministry.id)",
                "host=\(world.company.id)", "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        try world.ok("ministry", ["set", "person", zofia, "email=\(Self.mailbox)", "title=Adviser"])
        try world.ok("ministry", ["sync"])
        // A conflict on her record: the coordinator and the ministry set her title at once.
        try world.ok("coordinator", ["sync"])
        try world.ok("coordinator", ["set", "person", zofia, "title=Head of \(Self.surname) unit"])
        try world.ok("ministry", ["set", "person", zofia, "title=Chief \(Self.surname) adviser"])
        try world.ok("coordinator", ["sync"])
        try world.ok("ministry", ["sync"])
        // The host sees her through the exchange; an auditor with personal values pulls before.
        try world.clone("company", token: world.company.token)
        let early = try world.server.admin(["token", "issue", "--role", "auditor", "--personal"]).output
        try world.clone("auditor-early", token: early)
        try world.ok("auditor-early", ["audit", "pull"])
        let before = try Self.files(in: world.server.folder.url, holding: [Self.surname])
        #expect(!before.isEmpty, "the name is there first")

        // Only a coordinator erases; a table without personal data is refused before the network.
        let refused = try world.tandem("ministry", ["erase", "person", zofia])
        #expect(refused.status == 77, "\(refused)")
        #expect(try world.tandem("coordinator", ["erase", "round", round]).status == 65)
        let erased = try world.tandem("coordinator", ["erase", "person", zofia])
        #expect(erased.status == 0, "\(erased)")

        // Everyone syncs; the early auditor pulls again; a second auditor pulls after.
        for name in ["ministry", "company", "coordinator"] { try world.ok(name, ["sync"]) }
        try world.ok("auditor-early", ["audit", "pull"])
        let late = try world.server.admin(["token", "issue", "--role", "auditor"]).output
        try world.clone("auditor-late", token: late)
        try world.ok("auditor-late", ["audit", "pull"])

        // Not a byte of her name or e-mail in any file: replicas, WALs, the server's store, logs.
        let holding = try Self.files(in: world.server.folder.url, holding: [Self.surname, Self.mailbox])
        #expect(holding.isEmpty, "\(holding)")
        // Every verifier passes, on histories pulled before and after the erasure.
        for auditor in ["auditor-early", "auditor-late"] {
            let verified = try world.tandem(auditor, ["audit", "verify"])
            #expect(verified.status == 0, "\(auditor): \(verified)")
        }
        #expect(try world.server.admin(["verify"]).status == 0)
        let export = world.server.folder.path("history.ndjson")
        try Data(try world.ok("auditor-early", ["audit", "export"]).utf8 + [10]).write(
            to: URL(fileURLWithPath: export))
        #expect(try Self.verifyWithScript(export) == 0)
        // The record and its references stay; her personal fields are null; she is not editable.
        for name in ["ministry", "company", "coordinator"] {
            let person = try #require(try world.json(name, ["get", "person", zofia]) as? [String: Any])
            #expect(person["full_name"] is NSNull && person["organisation"] as? String == world.ministry.id, "\(name)")
            let trip = try #require(try world.json(name, ["get", "exchange", exchange]) as? [String: Any])
            #expect(trip["person"] as? String == zofia, "\(name)")
        }
        let edit = try world.tandem("ministry", ["set", "person", zofia, "title=Back"])
        #expect(edit.status == 65 && edit.stderr.contains("erased"), "\(edit)")
    }
}
