import Foundation
import PostgresNIO
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// A write transaction on PostgreSQL sends its statements and COMMIT in one flight
/// (``PostgresServerStore/writeTransaction(_:)``): one that fails after others succeeded must
/// leave nothing of any of them behind.
@Suite struct PostgresWriteTests {
    @Test func aWriteThatFailsBehindOthersThatSucceededLeavesNothingBehind() async throws {
        let bench = try await StoreBench(.postgres)
        let url = try #require(bench.subject.database)
        let name = "Anastazija Quintero-Wojcik"
        let ana = try await bench.person(of: bench.ministry, name)
        let head = try await bench.store.headSeq()
        // An erasure is the entry and the record first (one statement), then the entries'
        // openings: the second is refused.
        for statement in [
            "CREATE FUNCTION refuse() RETURNS trigger AS 'BEGIN RAISE EXCEPTION ''disk on fire''; END' LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE UPDATE ON log FOR EACH ROW EXECUTE FUNCTION refuse()",
        ] {
            try await TestPostgres.execute(PostgresQuery(unsafeSQL: statement), in: url)
        }
        await #expect(throws: (any Error).self) {
            try await bench.store.erase(
                EraseRequest(table: "person", recordID: ana), by: bench.coordinator, now: bench.now)
        }
        #expect(try await bench.store.headSeq() == head, "the erasure's entry was not kept")
        let page = try await bench.store.pullPage(since: 0, limit: 1000, for: bench.member(bench.ministry))
        #expect(page.items.contains { $0.contains(ana) } && !page.values.isEmpty, "her values are still there")
        #expect(try await bench.store.verify().failure == nil)
        // And the store writes again, at the seq that was not taken.
        try await TestPostgres.execute("DROP TRIGGER refuse ON log", in: url)
        let erased = try await bench.store.erase(
            EraseRequest(table: "person", recordID: ana), by: bench.coordinator, now: bench.now)
        #expect(erased.erased.contains("full_name"))
        #expect(try await bench.store.headSeq() == head + 1)
        let after = try await bench.store.pullPage(since: 0, limit: 1000, for: bench.member(bench.ministry))
        #expect(after.values.isEmpty && !after.items.contains { $0.contains(name) })
        #expect(try await bench.store.verify().failure == nil)
    }
}
