import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// Replicas syncing through the in-memory `FakeServer`.
struct SyncWorld {
    let server: FakeServer

    init(server: FakeServer = FakeServer()) { self.server = server }

    static let coordinator = Author(organisation: nil, role: .coordinator)

    /// A new in-memory replica that syncs with the server as `author`.
    func replica(as author: Author = coordinator, transport: ((any SyncTransport) -> any SyncTransport)? = nil)
        throws -> (replica: Replica, engine: SyncEngine)
    {
        let replica = try Replica.create(in: try DatabaseQueue(), schema: server.schema)
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"),
            identity: WhoAmI(organisation: author.organisation, role: author.role))
        let base = server.transport(as: author)
        return (replica, SyncEngine(replica: replica, transport: transport?(base) ?? base))
    }
}

extension Replica {
    func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try withDatabase { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try withDatabase { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
    }

    /// Every table's records, for comparing replicas.
    func snapshot() throws -> [String: [TandemProtocol.Record]] {
        var tables: [String: [TandemProtocol.Record]] = [:]
        for table in schema.tables { tables[table.name] = try records(in: table.name) }
        return tables
    }
}

@Suite struct SyncEngineTests {
    @Test func syncPushesTheOutboxAndEmptiesIt() throws {
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        let round = try replica.editor.insert(into: "round", [.init("number", "5"), .init("title", "Spring")])
        try replica.editor.update("round", id: round.id, [.init("status", "open")])
        let summary = try engine.sync()
        #expect(summary.pushed == 1 && summary.rejected.isEmpty)
        #expect(try replica.status().pending == 0)
        #expect(try replica.status().lastSync != nil)
        let stored = try #require(world.server.live("round")[round.id])
        #expect(stored["status"] == .string("open") && stored["title"] == .string("Spring"))
        #expect(world.server.log.count == 1)
        #expect(try replica.count("SELECT version FROM tandem_record WHERE id = ?", [round.id]) == 1)
    }

    @Test func aSecondReplicaReceivesWhatTheFirstPushed() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let (second, secondEngine) = try world.replica()
        let fixture = try FixtureData(first)
        _ = try firstEngine.sync()
        let summary = try secondEngine.sync()
        #expect(summary.pulled == world.server.log.count)
        #expect(try second.snapshot() == first.snapshot())
        #expect(try second.record(in: "person", id: fixture.ana)["full_name"] == .text("Ana"))
        #expect(try second.cursor() == Int64(world.server.log.count))
    }

    @Test func anInterruptedPushIsResentWithTheSameChangeIDs() throws {
        let world = SyncWorld()
        var losing: LosingTransport?
        let (replica, engine) = try world.replica { base in
            let transport = LosingTransport(base)
            losing = transport
            return transport
        }
        _ = try FixtureData(replica)
        losing?.loseNextAnswer(to: "/v1/push")
        #expect(throws: ReplicaError.self) { try engine.sync() }
        let frozen = try replica.rows("SELECT change_id FROM tandem_outbox ORDER BY seq").map {
            $0["change_id"] as String?
        }
        #expect(frozen.count == 6 && frozen.allSatisfy { $0 != nil })
        #expect(world.server.log.count == 6)

        let summary = try engine.sync()
        #expect(summary.pushed == 6 && summary.rejected.isEmpty)
        #expect(world.server.log.count == 6, "nothing applied or logged twice")
        #expect(Set(world.server.log.map(\.change.changeID)) == Set(frozen.compactMap { $0 }))
        #expect(try replica.status().pending == 0)
    }

    @Test func editsAfterAFailedPushBecomeANewChange() throws {
        let world = SyncWorld()
        var losing: LosingTransport?
        let (replica, engine) = try world.replica { base in
            let transport = LosingTransport(base)
            losing = transport
            return transport
        }
        let round = try replica.editor.insert(into: "round", [.init("number", "1")])
        losing?.loseNextAnswer(to: "/v1/push")
        #expect(throws: ReplicaError.self) { try engine.sync() }
        try replica.editor.update("round", id: round.id, [.init("title", "later")])
        #expect(try replica.count("SELECT count(*) FROM tandem_outbox") == 2)
        _ = try engine.sync()
        #expect(world.server.live("round")[round.id]?["title"] == .string("later"))
        #expect(try replica.record(in: "round", id: round.id)["title"] == .text("later"))
    }

    @Test func aRejectedChangeIsReportedAndNoLongerPending() throws {
        let world = SyncWorld()
        let (coordinator, coordinatorEngine) = try world.replica()
        try coordinator.editor.insert(into: "round", [.init("number", "5")])
        _ = try coordinatorEngine.sync()

        let member = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member)
        let (replica, engine) = try world.replica(as: member)
        _ = try engine.sync()
        // A member may not create rounds: the server refuses, the replica drops the row. (The
        // replica would refuse it too, knowing its role: here it believes it is a coordinator, as
        // one whose token was downgraded since it last asked.)
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: nil, role: .coordinator))
        let refused = try replica.editor.insert(into: "round", [.init("number", "6")])
        let summary = try engine.sync()
        #expect(summary.rejected.map(\.reason) == [.notPermitted])
        let status = try replica.status()
        #expect(status.pending == 0)
        #expect(status.rejected.count == 1)
        #expect(status.rejected.first?.recordID == refused.id && status.rejected.first?.table == "round")
        #expect(throws: ReplicaError.self) { try replica.record(in: "round", id: refused.id) }
        #expect(try replica.records(in: "round").map { $0["number"] } == [.int(5)])
        // The refused change is kept whole, so nothing the user typed is lost.
        let kept = try replica.rows("SELECT change FROM tandem_rejected")
        #expect((kept.first?["change"] as String?)?.contains("\"number\":6") == true)
    }

    @Test func aDuplicateOfARejectionIsStillARejection() throws {
        let world = SyncWorld()
        let member = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member)
        var losing: LosingTransport?
        let (replica, engine) = try world.replica(as: member) { base in
            let transport = LosingTransport(base)
            losing = transport
            return transport
        }
        // Believing it is a coordinator, the replica lets the edit through; the server refuses it.
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: nil, role: .coordinator))
        try replica.editor.insert(into: "round", [.init("number", "6")])
        losing?.loseNextAnswer(to: "/v1/push")
        #expect(throws: ReplicaError.self) { try engine.sync() }
        let summary = try engine.sync()
        #expect(summary.rejected.map(\.reason) == [.notPermitted])
        #expect(try replica.status().rejected.count == 1)
        #expect(try replica.records(in: "round").isEmpty)
    }

    @Test func aPullKeepsPendingEditsVisible() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let (second, secondEngine) = try world.replica()
        let round = try first.editor.insert(into: "round", [.init("number", "5"), .init("title", "Spring")])
        _ = try firstEngine.sync()
        _ = try secondEngine.sync()

        try second.editor.update("round", id: round.id, [.init("title", "Mine")])
        try first.editor.update("round", id: round.id, [.init("status", "open")])
        _ = try firstEngine.sync()
        _ = try secondEngine.pull()
        let seen = try second.record(in: "round", id: round.id)
        #expect(seen["title"] == .text("Mine"), "the user's own pending edit")
        #expect(seen["status"] == .text("open"), "the other replica's edit")
        #expect(try second.status().pending == 1)

        _ = try secondEngine.sync()
        _ = try firstEngine.sync()
        #expect(try first.snapshot() == second.snapshot())
        #expect(world.server.live("round")[round.id]?["title"] == .string("Mine"))
    }

    @Test func aPendingDeleteStaysDeletedThroughAPull() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let (second, secondEngine) = try world.replica()
        let round = try first.editor.insert(into: "round", [.init("number", "5")])
        _ = try firstEngine.sync()
        _ = try secondEngine.sync()
        try second.editor.delete(from: "round", id: round.id)
        try first.editor.update("round", id: round.id, [.init("title", "renamed")])
        _ = try firstEngine.sync()
        _ = try secondEngine.pull()
        #expect(try second.records(in: "round").isEmpty)
        _ = try secondEngine.sync()
        _ = try firstEngine.sync()
        #expect(try first.records(in: "round").isEmpty)
        #expect(world.server.live("round").isEmpty)
    }

    @Test func anAnswerLostAfterAPullIsSettledByPullingAgain() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        var losing: LosingTransport?
        let (second, secondEngine) = try world.replica { base in
            let transport = LosingTransport(base)
            losing = transport
            return transport
        }
        let round = try first.editor.insert(into: "round", [.init("number", "5")])
        _ = try firstEngine.sync()
        _ = try secondEngine.sync()
        // The second replica's push is applied, its answer lost; then a pull runs past its entry
        // while the change is still pending, and the first replica changes the same field later.
        try second.editor.update("round", id: round.id, [.init("title", "second")])
        losing?.loseNextAnswer(to: "/v1/push")
        #expect(throws: ReplicaError.self) { try secondEngine.sync() }
        try first.editor.update("round", id: round.id, [.init("title", "first")])
        _ = try firstEngine.sync()
        _ = try secondEngine.pull()
        #expect(try second.record(in: "round", id: round.id)["title"] == .text("second"), "rebased")
        _ = try secondEngine.sync()
        #expect(try second.record(in: "round", id: round.id)["title"] == .text("first"), "as the server has it")
        #expect(try first.snapshot() == second.snapshot())
    }

    @Test func aLaggingClockCatchesUpWithWhatItPulls() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let lagging = try Replica.create(
            in: try DatabaseQueue(), schema: world.server.schema, clock: ReplicaClock { 1_000 })
        try lagging.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: nil, role: .coordinator))
        let laggingEngine = SyncEngine(replica: lagging, transport: world.server.transport(as: SyncWorld.coordinator))
        let round = try first.editor.insert(into: "round", [.init("number", "5")])
        try first.editor.update("round", id: round.id, [.init("title", "first")])
        _ = try firstEngine.sync()
        _ = try laggingEngine.sync()
        // Seen after the first replica's edit, the lagging replica's edit wins the lww field.
        try lagging.editor.update("round", id: round.id, [.init("title", "later")])
        try first.editor.update("round", id: round.id, [.init("status", "open")])
        _ = try laggingEngine.sync()
        _ = try firstEngine.sync()
        #expect(world.server.live("round")[round.id]?["title"] == .string("later"))
        let sent = try #require(world.server.log.last { $0.change.device == lagging.device })
        let seen = try #require(world.server.log.first { $0.change.recordID == round.id })
        #expect(sent.change.hlc > seen.change.hlc)
    }

    @Test func swappedUniqueValuesArePulledCleanly() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let (second, secondEngine) = try world.replica()
        let a = try first.editor.insert(
            into: "organisation", [.init("name", "A"), .init("sector", "public"), .init("registration_id", "X")])
        let b = try first.editor.insert(
            into: "organisation", [.init("name", "B"), .init("sector", "public"), .init("registration_id", "Y")])
        _ = try firstEngine.sync()
        _ = try secondEngine.sync()
        try first.editor.update("organisation", id: a.id, [.init("registration_id", "Z")])
        _ = try firstEngine.sync()
        try first.editor.update("organisation", id: b.id, [.init("registration_id", "X")])
        _ = try firstEngine.sync()
        try first.editor.update("organisation", id: a.id, [.init("registration_id", "Y")])
        _ = try firstEngine.sync()
        _ = try secondEngine.sync()
        #expect(try second.record(in: "organisation", id: a.id)["registration_id"] == .text("Y"))
        #expect(try second.record(in: "organisation", id: b.id)["registration_id"] == .text("X"))
        #expect(try first.snapshot() == second.snapshot())
    }

    @Test func historyListsPulledEntriesThenPendingEdits() throws {
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        let round = try replica.editor.insert(into: "round", [.init("number", "5")])
        _ = try engine.sync()
        try replica.editor.update("round", id: round.id, [.init("title", "Spring")])
        _ = try engine.sync()
        try replica.editor.update("round", id: round.id, [.init("status", "open")])
        let history = try replica.history(of: "round", id: String(round.id.prefix(13)))
        #expect(history.map(\.seq) == [1, 2, nil])
        #expect(history.map(\.version) == [1, 2, nil])
        #expect(history.map(\.isPending) == [false, false, true])
        #expect(history.map(\.op) == [.insert, .update, .update])
        let json = history[1].json
        #expect(json["fields"] == .object([JSONMember("title", .string("Spring"))]))
        #expect(json["outcome"]?["status"] == .string("applied"))
        #expect(
            json["author"] == .object([JSONMember("organisation", .null), JSONMember("role", .string("coordinator"))]))
        #expect(history[2].json["outcome"] == .null)
        #expect(history[2].json["fields"] == .object([JSONMember("status", .string("open"))]))
    }

    @Test func historyOfADeletedRecordIsStillReadable() throws {
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        let round = try replica.editor.insert(into: "round", [.init("number", "5")])
        _ = try engine.sync()
        try replica.editor.delete(from: "round", id: round.id)
        _ = try engine.sync()
        let history = try replica.history(of: "round", id: round.id)
        #expect(history.map(\.op) == [.insert, .delete])
        #expect(throws: ReplicaError.self) { try replica.history(of: "round", id: "0000dead") }
    }

    @Test func conflictsAreCachedAndResolvedByPrefix() throws {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let (second, secondEngine) = try world.replica()
        let fixture = try FixtureData(first)
        let exchange = try first.editor.insert(
            into: "exchange",
            [
                .init("round", fixture.round), .init("person", fixture.ana), .init("home", fixture.ministry),
                .init("host", fixture.company), .init("starts_on", "2026-05-04"), .init("ends_on", "2026-05-08"),
            ])
        _ = try firstEngine.sync()
        _ = try secondEngine.sync()
        // starts_on is `manual`: concurrent edits open a conflict.
        try first.editor.update("exchange", id: exchange.id, [.init("starts_on", "2026-05-05")])
        try second.editor.update("exchange", id: exchange.id, [.init("starts_on", "2026-05-06")])
        _ = try firstEngine.sync()
        let summary = try secondEngine.sync()
        #expect(summary.conflicts == 1)
        #expect(try second.status().conflicts == 1)
        let conflict = try #require(try second.conflicts.cached().first)
        #expect(conflict.current == .string("2026-05-05") && conflict.incoming == .string("2026-05-06"))

        let resolved = try secondEngine.resolve(String(conflict.id.prefix(8)), value: "2026-05-07")
        #expect(resolved.status == .resolved)
        #expect(try second.record(in: "exchange", id: exchange.id)["starts_on"] == .text("2026-05-07"))
        #expect(try second.status().conflicts == 0)
        #expect(try secondEngine.conflicts(includeResolved: true).map(\.status) == [.resolved])
    }

    @Test func resyncRebuildsFromTheServerKeepingPendingEdits() throws {
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        let round = try replica.editor.insert(into: "round", [.init("number", "5")])
        _ = try engine.sync()
        // Damage the replica behind tandem's back, then make a pending edit.
        try replica.withDatabase { db in try db.execute(sql: "UPDATE round SET title = 'garbage'") }
        let other = try replica.editor.insert(into: "round", [.init("number", "6")])
        try replica.withDatabase { db in try db.execute(sql: "DELETE FROM tandem_outbox") }
        try replica.editor.update("round", id: round.id, [.init("status", "open")])
        _ = try engine.resync()
        #expect(try replica.record(in: "round", id: round.id)["title"] == .null)
        #expect(try replica.record(in: "round", id: round.id)["status"] == .text("open"))
        #expect(throws: ReplicaError.self) { try replica.record(in: "round", id: other.id) }
        #expect(world.server.live("round")[round.id]?["status"] == .string("open"))
    }

    @Test func pushesGoInBatchesInEditOrder() throws {
        let world = SyncWorld()
        var (replica, engine) = try world.replica()
        engine.batchSize = 4
        engine.pageSize = 3
        for number in 1...10 { try replica.editor.insert(into: "round", [.init("number", String(number))]) }
        let summary = try engine.sync()
        #expect(summary.pushed == 10)
        #expect(world.server.requests.filter { $0 == "POST /v1/push" }.count == 3)
        #expect(world.server.log.map { $0.change.fields["number"] } == (1...10).map { .int(Int64($0)) })
        let (other, otherEngine) = try world.replica()
        var paged = otherEngine
        paged.pageSize = 3
        _ = try paged.sync()
        #expect(try other.records(in: "round").count == 10)
        _ = replica
    }

    /// The pull fetches one page ahead while it writes the one before: every page arrives, in
    /// order, and the transport never carries two requests at once.
    @Test func aPullReadsOnePageAheadAndNeverTwoRequestsAtOnce() throws {
        let world = SyncWorld()
        let (writer, writerEngine) = try world.replica()
        for number in 1...25 { try writer.editor.insert(into: "round", [.init("number", String(number))]) }
        _ = try writerEngine.sync()
        let counting = OverlapCountingTransport()
        let (reader, readerEngine) = try world.replica { base in
            counting.base = base
            return counting
        }
        var engine = readerEngine
        engine.pageSize = 2
        // After each page is written, the request for the next one has already been sent (or
        // is sent within a second): it was started before the page was written.
        var aheadOfWriting: [Bool] = []
        let summary = try engine.pull { progress in
            guard case let .pulling(_, seq) = progress else { return }
            aheadOfWriting.append(counting.waitForPull(since: seq, seconds: 1))
        }
        #expect(summary.pulled == 25)
        #expect(try reader.records(in: "round").count == 25)
        #expect(counting.pulls >= 13, "one request a page of 2")
        #expect(counting.mostAtOnce == 1)
        #expect(aheadOfWriting.dropLast().allSatisfy { $0 } && aheadOfWriting.count >= 13, "\(aheadOfWriting)")
    }
}

/// A transport that counts the requests in flight at once (and delays each a little, so that
/// an overlap would show).
final class OverlapCountingTransport: SyncTransport, @unchecked Sendable {
    var base: (any SyncTransport)?
    private let lock = NSLock()
    private var inFlight = 0
    private(set) var mostAtOnce = 0
    private(set) var pulls = 0
    private var sinces: Set<Int64> = []
    private let pulled = NSCondition()

    /// Whether a pull from `since` is sent within `seconds`.
    func waitForPull(since: Int64, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        pulled.lock()
        defer { pulled.unlock() }
        while !sinces.contains(since) {
            guard pulled.wait(until: deadline) else { return false }
        }
        return true
    }

    func send(_ request: TransportRequest) throws -> TransportResponse {
        lock.withLock {
            inFlight += 1
            mostAtOnce = max(mostAtOnce, inFlight)
            if request.path.hasPrefix("/v1/pull") { pulls += 1 }
        }
        if request.path.hasPrefix("/v1/pull"),
            let since = request.query.first(where: { $0.name == "since" }).flatMap({ Int64($0.value) })
        {
            pulled.lock()
            sinces.insert(since)
            pulled.broadcast()
            pulled.unlock()
        }
        defer { lock.withLock { inFlight -= 1 } }
        Thread.sleep(forTimeInterval: 0.002)
        guard let base else { throw ReplicaError(.internal, "no transport") }
        return try base.send(request)
    }
}

/// A round, two organisations and a person, inserted into a replica.
struct FixtureData {
    let round: String
    let ministry: String
    let company: String
    let ana: String

    init(_ replica: Replica) throws {
        round = try replica.editor.insert(into: "round", [.init("number", "5"), .init("status", "open")]).id
        ministry = try replica.editor.insert(
            into: "organisation", [.init("name", "Ministry"), .init("sector", "public")]
        ).id
        company = try replica.editor.insert(
            into: "organisation", [.init("name", "Kovina"), .init("sector", "private")]
        ).id
        ana = try replica.editor.insert(into: "person", [.init("organisation", ministry), .init("full_name", "Ana")]).id
        // Two more edits that coalesce into the inserts: six changes in all with the next line.
        try replica.editor.update("round", id: round, [.init("title", "Spring")])
        try replica.editor.insert(into: "organisation", [.init("name", "Tree"), .init("sector", "ngo")])
        try replica.editor.insert(into: "person", [.init("organisation", company), .init("full_name", "Marko")])
    }
}
