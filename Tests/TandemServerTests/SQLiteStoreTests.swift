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

    /// Records decoded by one batch are reused by the next only while the row's last seq is the
    /// same (``RecordCache``): a record another process changed in the same file meanwhile is
    /// read afresh, so a change made on its new version applies as a plain edit, not as a
    /// concurrent one merged against a stale copy.
    @Test func aRecordChangedByAnotherProcessIsNotTakenFromTheCache() async throws {
        let folder = try TemporaryDirectory(prefix: "tandem-cache")
        let (first, token) = try SQLiteServerStore.create(directory: folder.url.path, now: now)
        let second = try SQLiteServerStore.open(directory: folder.url.path)
        let coordinator = try #require(try await first.authenticate(token: token))
        var changes = ChangeMaker()
        let insert = changes.insert("organisation", ["name": .string("Ministry"), "sector": .string("public")])
        let id = insert.recordID
        func push(_ change: Change, to store: SQLiteServerStore) async throws -> PushResult {
            let signed = try await TestDevices.shared.sign([change], for: coordinator, in: store, now: now)
            return try #require(try await store.push(signed, by: coordinator, now: now).first)
        }
        #expect(try await push(insert, to: first).status == .applied)
        // The first store decodes the record (and keeps it) while it merges an edit of it.
        let renamed = changes.update("organisation", id, base: 1, ["name": .string("Ministry of Labour")])
        #expect(try await push(renamed, to: first).version == 2)
        // Another process edits it: version 3.
        let moved = changes.update("organisation", id, base: 2, ["sector": .string("private")])
        #expect(try await push(moved, to: second).version == 3)
        // An edit made on version 3, through the first store: applied, not merged as concurrent.
        let edited = changes.update("organisation", id, base: 3, ["name": .string("Labour")])
        let result = try await push(edited, to: first)
        #expect(result.status == .applied)
        #expect(result.version == 4)
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
