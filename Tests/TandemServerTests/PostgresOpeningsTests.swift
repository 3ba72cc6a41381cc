import Foundation
import PostgresNIO
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// The openings of personal values kept in their entries' rows on PostgreSQL (`log.openings`,
/// ``PostgresSchema/foldOpenings``): a store copied from SQLite and a store upgraded from the
/// version that kept them by commitment serve and verify the same values, erased ones stay
/// erased, and a row whose openings do not read is named by `verify`.
@Suite struct PostgresOpeningsTests {
    static let kept = "Anastazija Quintero-Wojcik"
    static let erased = "Bartholomew Erased-Onceagain"

    /// Ana (kept) with an exchange, and Bart, erased: what both tests start from.
    private static func programme(_ bench: StoreBench) async throws -> (ana: String, commitment: String) {
        let ana = try await bench.person(of: bench.ministry, kept)
        _ = try await bench.exchange(person: ana, home: bench.ministry, host: bench.company)
        let bart = try await bench.person(of: bench.ministry, erased)
        _ = try await bench.store.erase(
            EraseRequest(table: "person", recordID: bart), by: bench.coordinator, now: bench.now)
        let insert = try #require(try await bench.entries().first { $0.change["record_id"] == .string(ana) })
        return (ana, try #require(Commitment.hex(in: insert.change["fields"]?["full_name"] ?? .null)))
    }

    /// What a store serves of its personal values: the coordinator's history lines (values beside
    /// them) and what the ministry's member and the company's pull.
    private static func served(_ store: any ServerStore, _ bench: StoreBench) async throws -> [String] {
        var seen = try await store.history(since: 0, limit: 10_000, for: bench.coordinator).map(\.line)
        for organisation in [bench.ministry, bench.company] {
            let page = try await store.pullPage(since: 0, limit: 1000, for: bench.member(organisation))
            seen.append(page.values.json.serialized())
        }
        return seen
    }

    @Test func aStoreCopiedFromSQLiteServesTheSameValuesAndKeepsTheErasedOnesErased() async throws {
        let bench = try await StoreBench(.sqliteOnDisk)
        let (_, commitment) = try await Self.programme(bench)
        let before = try await Self.served(bench.store, bench)
        #expect(before.contains { $0.contains(Self.kept) } && !before.contains { $0.contains("Erased-Once") })
        let folder = try #require(bench.subject.resources as? TemporaryDirectory)
        let url = try await TestPostgres.newDatabase()
        let report = try await StoreCopy.copy(from: folder.path("data"), to: PostgresURL(url))
        #expect(report.rows["personal_value"] ?? 0 >= 1)
        let copy = try await PostgresServerStore.open(PostgresURL(url))
        #expect(try await Self.served(copy, bench) == before)
        let page = try await copy.pullPage(since: 0, limit: 1000, for: bench.member(bench.ministry))
        #expect(page.values.value(of: commitment) == .string(Self.kept))
        #expect(try await copy.verify().failure == nil)
    }

    @Test func aStoreUpgradedFromOpeningsByCommitmentServesTheSameValuesAndAnUnreadableRowIsFound()
        async throws
    {
        let bench = try await StoreBench(.postgres)
        let (ana, _) = try await Self.programme(bench)
        let before = try await Self.served(bench.store, bench)
        #expect(before.contains { $0.contains(Self.kept) } && !before.contains { $0.contains("Erased-Once") })
        let url = try #require(bench.subject.database)
        for statement in PostgresTampering.beforeOpeningsInLog {
            try await TestPostgres.execute(PostgresQuery(unsafeSQL: statement), in: url)
        }
        let upgraded = try await PostgresServerStore.open(PostgresURL(url))
        #expect(try await Self.served(upgraded, bench) == before)
        #expect(try await upgraded.verify().failure == nil)
        // Openings that do not read are not taken for none: verify names their entry.
        let insert = try #require(try await bench.entries().first { $0.change["record_id"] == .string(ana) })
        try await TestPostgres.execute("UPDATE log SET openings = '{\"not\": ' WHERE seq = \(insert.seq)", in: url)
        let report = try await upgraded.verify()
        #expect(report.failure?.seq == insert.seq, "\(String(describing: report.failure))")
    }
}
