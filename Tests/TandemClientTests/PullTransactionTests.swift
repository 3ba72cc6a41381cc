import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// A pull writes a page fetched while the one before was being written in the same transaction
/// (up to `transactionItems` items), and leaves the replica as page-by-page commits would.
@Suite struct PullTransactionTests {
    /// A server holding `rounds` rounds.
    static func world(rounds: Int) throws -> SyncWorld {
        let world = SyncWorld()
        let (writer, writerEngine) = try world.replica()
        for number in 1...rounds { try writer.editor.insert(into: "round", [.init("number", String(number))]) }
        _ = try writerEngine.sync()
        return world
    }

    /// A new replica file in `folder` and an engine that pulls it from `world` two items a page.
    static func replica(of world: SyncWorld, in folder: URL) throws -> (Replica, SyncEngine) {
        let replica = try Replica.create(
            at: folder.appendingPathComponent("replica-\(UUID()).sqlite").path, schema: world.server.schema)
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: nil, role: .coordinator))
        var engine = SyncEngine(replica: replica, transport: world.server.transport(as: SyncWorld.coordinator))
        engine.pageSize = 2
        return (replica, engine)
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-pull-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The cursor each progress report finds committed, beside the page's own.
    static func pull(_ engine: SyncEngine, replica: Replica) throws -> (
        pulled: Int, reports: [(seq: Int64, cursor: Int64)]
    ) {
        var reports: [(seq: Int64, cursor: Int64)] = []
        let summary = try engine.pull { progress in
            if case let .pulling(_, seq) = progress { reports.append((seq, (try? replica.cursor()) ?? -1)) }
        }
        return (summary.pulled, reports)
    }

    /// Another connection holds the write lock while the first page arrives: the second page is
    /// fetched meanwhile and joins the first page's transaction.
    @Test func aPageFetchedWhileTheOneBeforeWaitsJoinsItsTransaction() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (replica, engine) = try Self.replica(of: Self.world(rounds: 6), in: folder)
        let holder = try DatabaseQueue(path: try #require(replica.path))
        let locked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? holder.inTransaction(.immediate) { _ in
                locked.signal()
                Thread.sleep(forTimeInterval: 0.5)
                return .commit
            }
            released.signal()
        }
        locked.wait()
        let (pulled, reports) = try Self.pull(engine, replica: replica)
        released.wait()
        #expect(pulled == 6)
        #expect(reports.count == 3)
        // When the first page is reported, the second page's cursor is committed with it.
        #expect(reports.count == 3 && reports[0].cursor >= reports[1].seq, "\(reports)")
        #expect(try replica.records(in: "round").count == 6)
        #expect(try replica.count("SELECT count(*) FROM tandem_history WHERE tbl = 'round'") == 6)
    }

    /// `transactionItems` no larger than a page: one transaction a page, each report finding its
    /// own page's cursor; and the replica ends as with larger transactions.
    @Test func transactionsOfOnePageEndInTheSameReplica() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let world = try Self.world(rounds: 7)
        let (single, pageByPage) = try Self.replica(of: world, in: folder)
        var engine = pageByPage
        engine.transactionItems = 2
        let (pulled, reports) = try Self.pull(engine, replica: single)
        #expect(pulled == 7)
        #expect(reports.map(\.cursor) == reports.map(\.seq))

        let (grouped, large) = try Self.replica(of: world, in: folder)
        #expect(try large.pull().pulled == 7)
        #expect(try grouped.snapshot() == single.snapshot())
        let history = "SELECT seq, tbl, record_id, version, fields, outcome, signature FROM tandem_history ORDER BY seq"
        #expect(try grouped.rows(history) == single.rows(history))
        #expect(try grouped.cursor() == single.cursor())
    }
}
