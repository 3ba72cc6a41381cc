import Foundation
import GRDB
import TandemProtocol
import TandemTesting
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

    /// The write-ahead log is copied into the database file beside the writer, after each write
    /// transaction (``WALCheckpointer``), not only when SQLite's writer checkpoint (now at
    /// 10,000 pages) comes round: a copy of the database file alone, taken once the background
    /// is done, holds every committed entry.
    @Test func committedWritesReachTheDatabaseFileBesideTheWriter() async throws {
        let folder = try TemporaryDirectory(prefix: "tandem-wal")
        let (store, _) = try SQLiteServerStore.create(directory: folder.url.path, now: now)
        for index in 0..<5 {
            _ = try await store.addOrganisation(name: "Organisation \(index)", sector: "public", now: now)
        }
        let head = try await store.headSeq()
        let checkpointer = try #require(store.checkpointer)
        checkpointer.drain()
        let copy = folder.path("copy.sqlite")
        try FileManager.default.copyItem(atPath: folder.path(SQLiteServerStore.fileName), toPath: copy)
        let copied = try DatabaseQueue(path: copy)
        let logged = try await copied.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM log") }
        #expect(head > 5)
        #expect(logged == head)
    }
}
