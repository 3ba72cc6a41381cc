import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// A replica file made now has 16 KiB pages; one made before keeps the page size it has.
@Suite struct ReplicaPageSizeTests {
    static func pageSize(_ replica: Replica) throws -> Int {
        try replica.withDatabase { db in try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0 }
    }

    @Test func aNewReplicaFileHasLargePages() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-pages-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("replica.sqlite").path
        _ = try Replica.create(at: path)
        #expect(try Self.pageSize(Replica.open(at: path)) == 16_384)
        let journal = try DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    /// A replica made with SQLite's default pages keeps them when it is opened and pulls.
    @Test func anEarlierReplicaKeepsItsPageSize() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-pages-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("replica.sqlite").path
        let world = SyncWorld()
        let (writer, writerEngine) = try world.replica()
        for number in 1...3 { try writer.editor.insert(into: "round", [.init("number", String(number))]) }
        _ = try writerEngine.sync()
        do {
            var configuration = Configuration()
            configuration.journalMode = .wal
            _ = try Replica.create(
                in: try DatabaseQueue(path: path, configuration: configuration), schema: world.server.schema)
        }
        let replica = try Replica.open(at: path)
        #expect(try Self.pageSize(replica) == 4_096)
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: nil, role: .coordinator))
        let engine = SyncEngine(replica: replica, transport: world.server.transport(as: SyncWorld.coordinator))
        #expect(try engine.pull().pulled == 3)
        #expect(try Self.pageSize(replica) == 4_096)
        #expect(try replica.records(in: "round").count == 3)
    }
}
