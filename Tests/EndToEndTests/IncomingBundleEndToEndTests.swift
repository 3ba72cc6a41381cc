import Foundation
import TandemProtocol
import TandemTesting
import Testing

/// Bundles both ways with the real binaries (docs/sync.md, Bundles): an organisation whose
/// replica has never been online (`tandem init --org`) gets what it may see from its coordinator
/// in a file the server signed, edits, and sends its changes back in a file its device signed;
/// once online it continues from there.
@Suite struct IncomingBundleEndToEndTests {
    typealias Bundles = BundleEndToEndTests

    /// The coordinator's bundle for `organisation` at `name` in the world's folder; returns its path.
    @discardableResult
    static func export(_ world: ExchangeWorld, for organisation: String, to name: String, since: Int64? = nil) throws
        -> String
    {
        let file = world.server.folder.path(name)
        let written = try world.ok(
            "coordinator",
            ["bundle", "export", file, "--for", organisation] + (since.map { ["--since", "\($0)"] } ?? []))
        #expect(written.hasPrefix("Wrote ") && written.contains("signed by the server"), "\(written)")
        return file
    }

    @Test func anOfflineOrganisationExchangesBundlesWithItsCoordinator() throws {
        let world = try ExchangeWorld()
        let company = world.company.id
        let made = try world.ok("field", ["init", "--org", company])
        #expect(made.hasSuffix("for organisation \(company)"), "\(made)")
        let incoming = try Self.export(world, for: company, to: "in.tandem")
        let applied = try world.ok("field", ["bundle", "import", incoming])
        let visible = try #require(Int(applied.split(separator: " ")[1]), "\(applied)")
        // What the company may see, as a pull by its token brings it: its exchange, Ana on it.
        #expect(try world.json("field", ["get", "exchange", world.exchange])["host"] as? String == company)
        #expect(try world.json("field", ["get", "person", world.ana])["full_name"] as? String == "Ana Novak")
        #expect(try world.ok("field", ["bundle", "import", incoming]).hasPrefix("Nothing new"), "twice is harmless")

        // A week offline: the company edits, and sends its changes back.
        try world.ok("field", ["set", "organisation", company, "web=https://kovina.example"])
        let practice = try world.ok("field", ["add", "practice", "organisation=\(company)", "title=Welding school"])
        let outgoing = world.server.folder.path("out.tandem")
        try world.ok("field", ["bundle", "export", outgoing])
        try world.ok("coordinator", ["bundle", "import", outgoing])
        let carried = try world.ok("coordinator", ["sync"])
        #expect(carried.contains("2 carried from bundles"), "\(carried)")
        #expect(try world.json("coordinator", ["get", "practice", practice])["title"] as? String == "Welding school")
        #expect(try world.json("field", ["status"])["organisation"] as? String == company)
        let entries = try Bundles.history(world).filter {
            (($0["change"] as? [String: Any])?["record_id"] as? String) == practice
        }
        let author = try #require(entries.first?["author"] as? [String: Any])
        #expect(
            entries.count == 1 && author["organisation"] as? String == company && author["role"] as? String == "member")

        // The next incoming bundle brings the coordinator's view of it; the old one is refused.
        try world.ok("coordinator", ["set", "exchange", world.exchange, "goals=Welding"])
        try world.ok("coordinator", ["sync"])
        let newer = try Self.export(world, for: company, to: "newer.tandem")
        try world.ok("field", ["bundle", "import", newer])
        #expect(try world.json("field", ["get", "exchange", world.exchange])["goals"] as? String == "Welding")
        let old = try world.tandem("field", ["bundle", "import", incoming])
        #expect(old.status == 65 && old.stderr.contains("older"), "\(old)")
        let status = try world.json("field", ["status"])
        #expect(status["pending"] as? Int == 2, "its own edits stay pending until it syncs: \(status)")

        // Online at last: nothing applies twice, its outbox clears, and it pulls only what is new.
        try world.ok("field", ["remote", world.server.url, "--token", world.company.token])
        let synced = try world.tandem("field", ["sync"])
        #expect(synced.status == 0 && synced.stderr.isEmpty, "\(synced)")
        // Its changes' answers name seqs it has pulled already: it steps back to just before the
        // first (as for a lost answer), not to the start.
        let pulled = try #require(Int(synced.stdout.split(separator: " ")[4]), "\(synced)")
        #expect(synced.stdout.hasPrefix("Pushed 2 changes, pulled ") && pulled < visible, "\(synced)")
        // After a sync that brought more, a bundle made before it is older than what the replica holds.
        try world.ok("coordinator", ["set", "exchange", world.exchange, "goals=Welding and safety"])
        try world.ok("coordinator", ["sync"])
        #expect(try world.ok("field", ["sync"]).contains("pulled 1 item"))
        let stale = try world.tandem("field", ["bundle", "import", newer])
        #expect(stale.status == 65 && stale.stderr.contains("older"), "\(stale)")
        let online = try world.json("field", ["status"])
        #expect(online["pending"] as? Int == 0 && (online["rejected"] as? [Any])?.isEmpty == true, "\(online)")
        #expect(
            try Bundles.history(world).filter {
                (($0["change"] as? [String: Any])?["record_id"] as? String) == practice
            }.count == 1)
    }

    @Test func aBundleForAnotherOrganisationOrAlteredOrSignedByAnotherKeyIsRefused() throws {
        let world = try ExchangeWorld()
        try world.ok("field", ["init", "--org", world.company.id])
        let theirs = try Self.export(world, for: world.ministry.id, to: "ministry.tandem")
        let other = try world.tandem("field", ["bundle", "import", theirs])
        #expect(other.status == 65 && other.stderr.contains("meant for organisation \(world.ministry.id)"), "\(other)")
        #expect(other.stderr.split(separator: "\n").count == 1)

        let file = try Self.export(world, for: world.company.id, to: "company.tandem")
        let altered = world.server.folder.path("altered.tandem")
        try Bundles.shell("gzip -dc '\(file)' | sed 's/Ana Novak/Ana Nova/' | gzip -c > '\(altered)'")
        let tampered = try world.tandem("field", ["bundle", "import", altered])
        #expect(tampered.status == 65 && tampered.stderr.contains("altered"), "\(tampered)")
        let cut = world.server.folder.path("cut.tandem")
        try Bundles.shell("gzip -dc '\(file)' | head -n 3 | gzip -c > '\(cut)'")
        #expect(try world.tandem("field", ["bundle", "import", cut]).status == 65)
        #expect(try world.ok("field", ["list", "exchange", "--format", "json"]) == "[]", "nothing applied")

        // Re-signed whole by another key: a valid bundle, but not this server's.
        try world.ok("field", ["bundle", "import", file])
        let text = try Bundles.shell("gzip -dc '\(file)'")
        var lines = text.split(separator: "\n").map { Array($0.utf8) }
        let header = try JSONValue.parse(bytes: lines.removeFirst())
        lines.removeLast()
        guard case let .object(members) = header else {
            Issue.record("the header is not an object: \(header)")
            return
        }
        let kept = members.filter { !["format", "version", "kind", "public_key", "count"].contains($0.key) }
        let forged = BundleFrame.seal(kind: .pull, header: kept, body: lines, key: SigningKey())
        let plain = try world.server.folder.write(String(decoding: forged, as: UTF8.self), to: "forged.txt")
        let resigned = world.server.folder.path("forged.tandem")
        try Bundles.shell("gzip -c '\(plain)' > '\(resigned)'")
        let foreign = try world.tandem("field", ["bundle", "import", resigned])
        #expect(foreign.status == 65 && foreign.stderr.contains("another key"), "\(foreign)")
    }
}
