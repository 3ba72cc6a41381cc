import GRDB
import TandemProtocol
import Testing

@testable import TandemServer

/// What only the SQLite store's own tables can show. What every store does — pushes, merges,
/// visibility, conflicts, history — is in the `StoreSuite…` tests, run over every kind of store.
@Suite struct SQLiteStoreTests {
    let now: Int64 = 1_790_000_000_000

    @Test func tokensAreStoredOnlyAsHashes() async throws {
        let store = try SQLiteServerStore.create(in: try DatabaseQueue())
        let token = try await store.issueToken(role: .auditor, organisation: nil, now: now)
        let (_, member) = try await store.addOrganisation(name: "Ministry", sector: "public", now: now)
        let stored = try await store.read { db in try String.fetchAll(db, sql: "SELECT hash FROM token") }
        #expect(stored.count == 2)
        #expect(!stored.contains(token) && !stored.contains(member))
        #expect(!stored.contains { $0.contains(token.dropFirst(4)) || $0.contains(member.dropFirst(4)) })
    }
}
