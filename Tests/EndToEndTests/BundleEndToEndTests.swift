import Foundation
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// Outgoing bundles with the real binaries (docs/sync.md, Bundles): a replica's pending changes
/// travel in a signed file to a replica that may carry them, whose next sync pushes them; the
/// server judges them as their device's organisation's, and nothing applies twice — not when the
/// bundle is imported or pushed again, not when the original replica pushes the same changes.
@Suite struct BundleEndToEndTests {
    /// Runs a shell command line (the standard tools a user would reach for).
    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(command)")
        return String(decoding: data, as: UTF8.self)
    }

    /// The server's history as the coordinator reads it, one JSON object an entry.
    static func history(_ world: ExchangeWorld) throws -> [[String: Any]] {
        let api = SyncAPI(transport: try CurlTransport(server: world.server.url, token: world.server.coordinatorToken))
        return try api.history(since: 0, limit: 100_000).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        }
    }

    /// The ministry, offline, edits its organisation and adds a person, then writes its bundle;
    /// returns the bundle's path, the ministry's device and the new person's id.
    static func ministryBundle(_ world: ExchangeWorld) throws -> (file: String, device: String, person: String) {
        try world.ok("ministry", ["set", "organisation", world.ministry.id, "web=https://gov.example"])
        let person = try world.ok("ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Bor"])
        let file = world.server.folder.path("ministry.tandem")
        let written = try world.ok("ministry", ["bundle", "export", file])
        let device = try #require(written.split(separator: " ").dropFirst(5).first.map(String.init))
        #expect(written == "Wrote 2 changes of device \(device) to \(file)", "\(written)")
        return (file, device, person)
    }

    @Test func theCoordinatorCarriesAMembersBundleAndNothingAppliesTwice() throws {
        let world = try ExchangeWorld()
        let (file, device, person) = try Self.ministryBundle(world)
        // Readable with standard tools: gzip of JSON lines, a header first.
        let header = try Self.shell("gzip -dc '\(file)' | head -n 1")
        #expect(header.contains(#""format":"tandem-bundle""#) && header.contains(device), "\(header)")

        let before = try Self.history(world).count
        let imported = try world.tandem("coordinator", ["bundle", "import", file])
        #expect(
            imported.status == 0
                && imported.stdout == "Queued 2 changes of device \(device); tandem sync pushes them\n", "\(imported)")
        let twice = try world.ok("coordinator", ["bundle", "import", file])
        #expect(twice.contains("Queued 0 changes") && twice.contains("2 queued or pushed before"), "\(twice)")
        let synced = try world.ok("coordinator", ["sync"])
        #expect(synced.hasPrefix("Pushed 0 changes and 2 carried from bundles"), "\(synced)")
        #expect(
            try world.json("coordinator", ["get", "organisation", world.ministry.id])["web"] as? String
                == "https://gov.example")
        #expect(try world.json("coordinator", ["get", "person", person])["full_name"] as? String == "Bor")

        // Judged and logged as the ministry's device, not the coordinator's.
        var entries = try Self.history(world).dropFirst(before).filter {
            ($0["author"] as? [String: Any])?["device"] as? String == device
        }
        let authors = entries.compactMap { $0["author"] as? [String: Any] }
        #expect(
            entries.count == 2
                && authors.allSatisfy {
                    $0["organisation"] as? String == world.ministry.id && $0["role"] as? String == "member"
                }, "\(entries)")

        // Imported and pushed again: the server answers duplicate, logs nothing.
        try world.ok("coordinator", ["bundle", "import", file])
        try world.ok("coordinator", ["sync"])
        // The ministry pushes the same changes itself: duplicate, and its outbox is clear.
        let ministrySync = try world.tandem("ministry", ["sync"])
        #expect(ministrySync.status == 0 && ministrySync.stderr.isEmpty, "\(ministrySync)")
        let status = try world.json("ministry", ["status"])
        #expect(status["pending"] as? Int == 0 && (status["rejected"] as? [Any])?.isEmpty == true, "\(status)")
        entries = try Self.history(world).dropFirst(before).filter {
            ($0["author"] as? [String: Any])?["device"] as? String == device
        }
        #expect(entries.count == 2, "each change logged once: \(entries.count)")
        #expect(try world.json("ministry", ["get", "person", person])["full_name"] as? String == "Bor")
    }

    @Test func aMemberCarriesItsOwnOrganisationsBundleOnly() throws {
        let world = try ExchangeWorld()
        let (file, _, person) = try Self.ministryBundle(world)
        let refused = try world.tandem("company", ["bundle", "import", file])
        #expect(refused.status == 77 && refused.stderr.split(separator: "\n").count == 1, "\(refused)")
        try world.ok("colleague", ["init", "--server", world.server.url, "--token", world.ministry.token])
        try world.ok("colleague", ["bundle", "import", file])
        let synced = try world.ok("colleague", ["sync"])
        #expect(synced.contains("2 carried from bundles"), "\(synced)")
        #expect(try world.json("colleague", ["get", "person", person])["full_name"] as? String == "Bor")
    }

    @Test func aCutAlteredOrForeignFileIsRefusedAndQueuesNothing() throws {
        let world = try ExchangeWorld()
        let (file, _, _) = try Self.ministryBundle(world)
        let folder = world.server.folder
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        let cut = folder.path("cut.tandem")
        try Self.shell("head -c \(size / 2) '\(file)' > '\(cut)'")
        // Cut at a line: gzip itself is whole, the bundle is not.
        let shortened = folder.path("shortened.tandem")
        try Self.shell("gzip -dc '\(file)' | head -n 2 | gzip -c > '\(shortened)'")
        let altered = folder.path("altered.tandem")
        try Self.shell("gzip -dc '\(file)' | sed 's/Bor/Bob/' | gzip -c > '\(altered)'")
        let foreign = folder.path("foreign.tandem")
        try Self.shell("printf 'id,name\\n1,x\\n' | gzip -c > '\(foreign)'")
        let plain = try folder.write("not gzip at all\n", to: "plain.tandem")
        for bad in [cut, shortened, altered, foreign, plain] {
            let result = try world.tandem("coordinator", ["bundle", "import", bad])
            #expect(result.status == 65, "\(bad): \(result)")
            #expect(result.stderr.hasPrefix("tandem: ") && result.stderr.split(separator: "\n").count == 1, "\(result)")
        }
        let missing = try world.tandem("coordinator", ["bundle", "import", folder.path("nowhere.tandem")])
        #expect(missing.status == 66, "\(missing)")
        let synced = try world.ok("coordinator", ["sync"])
        #expect(!synced.contains("carried"), "nothing was queued: \(synced)")
    }
}
