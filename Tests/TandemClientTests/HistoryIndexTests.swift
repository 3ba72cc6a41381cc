import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// A first pull leaves the pulled history's index by record out while it fills an empty history
/// and builds it when the pull ends, when a page removes records, or when the replica is next
/// opened after a pull cut short (docs/replica.md).
@Suite struct HistoryIndexTests {
    typealias Scripted = PullVisibilityTests.ScriptedServer

    static let person = PullVisibilityTests.person
    static let ana = PullVisibilityTests.ana

    static func hasIndex(_ replica: Replica) throws -> Bool {
        try replica.count("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'tandem_history_record'")
            == 1
    }

    static func edit(seq: Int64, version: Int64, email: String) -> PullItem {
        PullItem(
            seq: seq, table: "person", recordID: person, version: version, isDeleted: false,
            record: ana.merging(["email": .string(email)]) { $1 },
            entry: PullVisibilityTests.entry(.update, ["email": .string(email)]))
    }

    /// The index is out while pages come, and there once the last one is written.
    @Test func aFirstPullBuildsTheIndexWhenItEnds() throws {
        let world = SyncWorld()
        let (writer, writerEngine) = try world.replica()
        for number in 1...7 { try writer.editor.insert(into: "round", [.init("number", String(number))]) }
        _ = try writerEngine.sync()
        let (reader, readerEngine) = try world.replica()
        var engine = readerEngine
        engine.pageSize = 2
        // A transaction a page, so that each report sees its own page's state.
        engine.transactionItems = 0
        var indexed: [Bool] = []
        let summary = try engine.pull { _ in indexed.append((try? Self.hasIndex(reader)) ?? true) }
        #expect(summary.pulled == 7)
        #expect(indexed.dropLast().allSatisfy { !$0 } && indexed.last == true, "\(indexed)")
        #expect(try Self.hasIndex(reader))
        let round = try #require(try reader.records(in: "round").first)
        #expect(try reader.history(of: "round", id: round.id).count == 1)
    }

    /// One page is the whole pull: the index stays.
    @Test func aPullOfOnePageKeepsTheIndex() throws {
        let world = SyncWorld()
        let (writer, writerEngine) = try world.replica()
        try writer.editor.insert(into: "round", [.init("number", "1")])
        _ = try writerEngine.sync()
        let (reader, engine) = try world.replica()
        var indexed: [Bool] = []
        _ = try engine.pull { _ in indexed.append((try? Self.hasIndex(reader)) ?? false) }
        #expect(indexed == [true])
    }

    /// A departure looks its record's history up: the index is built before the page is written.
    @Test func aPageThatRemovesARecordBuildsTheIndexFirst() throws {
        let departure = PullItem(
            seq: 9, table: "person", recordID: Self.person, version: 3, isDeleted: false, record: nil, entry: nil,
            isVisible: false)
        let replica = try Replica.create(in: try DatabaseQueue())
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"),
            identity: WhoAmI(organisation: "0193a1b2-c3d4-7e5f-8a6b-00000000000c", role: .member))
        var engine = SyncEngine(
            replica: replica,
            transport: Scripted([
                PullResponse(items: [Self.edit(seq: 6, version: 3, email: "ana@x.si")], next: 6, more: true),
                PullResponse(items: [departure], next: 9, more: true),
                PullResponse(items: [], next: 9, more: false),
            ]))
        engine.transactionItems = 0
        var states: [(indexed: Bool, history: Int)] = []
        _ = try engine.pull { _ in
            states.append(
                (
                    (try? Self.hasIndex(replica)) ?? false,
                    (try? replica.count("SELECT count(*) FROM tandem_history")) ?? -1
                ))
        }
        #expect(states.map(\.indexed) == [false, true, true])
        #expect(states.map(\.history) == [1, 0, 0])
        #expect(try replica.records(in: "person").isEmpty)
    }

    /// A pull cut short after its first page leaves the index out; opening the replica builds it,
    /// and the next sync finishes the pull.
    @Test func aPullCutShortLeavesTheIndexOutUntilTheReplicaIsOpened() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-index-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("replica.sqlite").path
        let pages = [
            PullResponse(items: [Self.edit(seq: 4, version: 2, email: "a@x.si")], next: 4, more: true),
            PullResponse(items: [Self.edit(seq: 6, version: 3, email: "b@x.si")], next: 6, more: false),
        ]
        let identity = WhoAmI(organisation: PullVisibilityTests.organisation, role: .member)
        do {
            let replica = try Replica.create(at: path)
            try replica.remote.set(Remote(server: "http://fake", token: "t"), identity: identity)
            let engine = SyncEngine(
                replica: replica, transport: CutShort(Scripted(pages), pulls: 1))
            #expect(throws: ReplicaError.self) { _ = try engine.pull() }
            #expect(try replica.cursor() == 4)
            #expect(try !Self.hasIndex(replica))
        }
        let reopened = try Replica.open(at: path)
        #expect(try Self.hasIndex(reopened))
        _ = try SyncEngine(replica: reopened, transport: Scripted(Array(pages.dropFirst()))).pull()
        #expect(try reopened.record(in: "person", id: Self.person)["email"] == .text("b@x.si"))
        #expect(try reopened.history(of: "person", id: Self.person).count == 2)
    }
}

/// Passes on the first `pulls` pull requests, then fails every other one as a lost connection.
final class CutShort: SyncTransport, @unchecked Sendable {
    let base: any SyncTransport
    private let lock = NSLock()
    private var left: Int

    init(_ base: any SyncTransport, pulls: Int) {
        self.base = base
        left = pulls
    }

    func send(_ request: TransportRequest) throws -> TransportResponse {
        if request.path == "/v1/pull" {
            let allowed = lock.withLock {
                left -= 1
                return left >= 0
            }
            guard allowed else { throw ReplicaError(.unavailable, "cannot reach the server: connection reset") }
        }
        return try base.send(request)
    }
}
