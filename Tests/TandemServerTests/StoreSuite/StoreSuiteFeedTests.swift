import Foundation
import GRDB
import PostgresNIO
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// The pull feed (docs/visibility.md "The pull feed"): a member's pull reads its organisation's
/// feed instead of every entry, and still receives exactly what the rule gives — the entries of
/// the records it may read now, of the tables every token reads, and its own refused inserts.
@Suite struct StoreSuiteFeedTests {
    /// Each organisation gains sight of records that have a history (arrivals, a host changed),
    /// then the programme goes on: edits, refused inserts, a forged table, a departure, reference
    /// data. Returns the members.
    private static func programme(_ bench: StoreBench) async throws -> [Principal] {
        let (ministry, company, town) = (
            bench.member(bench.ministry), bench.member(bench.company), bench.member(bench.town)
        )
        let ana = try await bench.person(of: bench.ministry, "Ana")
        let bor = try await bench.person(of: bench.company, "Bor")
        let cid = try await bench.person(of: bench.town, "Cid")
        try await bench.expect(
            [.applied], [bench.update("person", ana, base: 1, ["email": .string("ana@gov.example")])], by: ministry)
        // The company gains Ana, the town Bor, the ministry Cid: each with her history before.
        let first = try await bench.exchange(person: ana, home: bench.ministry, host: bench.company)
        let second = try await bench.exchange(person: bor, home: bench.company, host: bench.town)
        _ = try await bench.exchange(person: cid, home: bench.town, host: bench.ministry)
        // The town gains the first exchange itself (it has a history) and Ana; the company loses them.
        try await bench.expect(
            [.applied], [bench.update("exchange", first, base: 1, ["host": .string(bench.town)])],
            by: bench.coordinator)
        // From here on every organisation's feed answers its pulls.
        try await bench.expect(
            [.applied], [bench.update("person", ana, base: 2, ["email": .string("ana@mail.example")])], by: ministry)
        try await bench.expect(
            [.rejected], [bench.insert("person", bench.newID(), bench.personFields(bench.ministry, "Eve"))], by: town)
        try await bench.expect([.rejected], [bench.update("round", ana, base: 1, ["title": .string("x")])], by: town)
        try await bench.expect(
            [.applied], [bench.update("person", bor, base: 1, ["email": .string("bor@kovina.example")])], by: company)
        try await bench.expect([.applied], [bench.delete("exchange", second, base: 1)], by: company)
        try await bench.expect(
            [.applied],
            [
                bench.insert(
                    "challenge", bench.newID(),
                    ["round": .string(bench.round), "title": .string("Open data"), "proposer": .string(bench.company)])
            ], by: company)
        let dan = try await bench.person(of: bench.company, "Dan")
        try await bench.expect(
            [.applied], [bench.update("person", dan, base: 1, ["email": .string("dan@kovina.example")])], by: company)
        return [ministry, company, town]
    }

    @Test(arguments: StoreKind.allCases)
    func aMembersPullFromAnyCursorReadsWhatAPullFromTheStartReadsAfterIt(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let members = try await Self.programme(bench)
        let head = try await bench.pullAll(bench.coordinator).next
        for member in members {
            // From the start the pull reads past where the organisation gained sight of records
            // with a history: it reads every entry, as the rule says. Past the last such seq, the
            // feed answers.
            let whole = try await bench.pullAll(member).items
            #expect(whole.contains { $0.entry != nil && $0.table == "person" })
            for since in 0...head {
                for limit in [1, 1000] {
                    let pulled = try await bench.pullAll(member, since: since, limit: limit).items
                    #expect(
                        pulled == whole.filter { $0.seq > since },
                        "\(member.organisation ?? "?") since \(since), pages of \(limit)")
                }
            }
        }
    }

    @Test(arguments: [StoreKind.sqliteOnDisk, .postgres])
    func aStoreMadeBeforeTheFeedPullsAsBefore(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let members = try await Self.programme(bench)
        let head = try await bench.pullAll(bench.coordinator).next
        var before: [String: [[PullItem]]] = [:]
        for member in members {
            for since in 0...head {
                before[member.organisation ?? "", default: []].append(
                    try await bench.pullAll(member, since: since).items)
            }
        }
        // The store as the version before the feed left it, opened again by this one.
        let reopened: any ServerStore
        if let url = bench.subject.database {
            for statement in PostgresTampering.beforeOpeningsInLog + [
                // And what came after it (its migrations run again as the store upgrades).
                "DROP TABLE pull_feed", "DROP TABLE feed_gap", "DROP TABLE reference_count",
                "UPDATE server_meta SET value = '3' WHERE key = 'postgres_version'",
            ] {
                try await TestPostgres.execute(PostgresQuery(unsafeSQL: statement), in: url)
            }
            reopened = try await PostgresServerStore.open(PostgresURL(url))
        } else {
            let folder = try #require(bench.subject.resources as? TemporaryDirectory)
            let directory = folder.path("data")
            try await DatabaseQueue(path: (directory as NSString).appendingPathComponent("store.sqlite")).write { db in
                try db.execute(
                    sql: """
                        DROP TABLE pull_feed;
                        DROP TABLE feed_gap;
                        DELETE FROM grdb_migrations WHERE identifier = 'v7-feed';
                        """)
            }
            reopened = try SQLiteServerStore.open(directory: directory)
        }
        for member in members {
            for since in 0...head {
                let pulled = try await reopened.pullAll(member, since: since).items
                #expect(
                    pulled == before[member.organisation ?? ""]?[Int(since)],
                    "\(member.organisation ?? "?") since \(since)")
            }
        }
        // And the feed goes on from there.
        let ana = try await bench.person(of: bench.ministry, "Ana again")
        let after = try await reopened.pullAll(bench.member(bench.ministry), since: head).items
        #expect(after.map(\.recordID) == [ana])
    }
}
