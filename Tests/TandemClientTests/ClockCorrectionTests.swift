import Foundation
import GRDB
import Synchronization
import TandemClient
import TandemProtocol
import Testing

/// A device clock a test can set and move: the real time plus a shift.
final class ShiftedClock: Sendable {
    private let shift = Mutex<Int64>(0)

    init(by milliseconds: Int64 = 0) { shift.withLock { $0 = milliseconds } }

    func set(_ milliseconds: Int64) { shift.withLock { $0 = milliseconds } }

    var clock: ReplicaClock { ReplicaClock { FakeServer.now() + self.shift.withLock { $0 } } }
}

/// A device whose clock is wrong — ahead, behind, or jumping — never has a change refused for
/// `clock`, and its changes are stamped when they were made, in the server's time.
@Suite struct ClockCorrectionTests {
    static let minute: Int64 = 60_000
    static let day: Int64 = 86_400_000

    func replica(world: SyncWorld, clock: ShiftedClock) throws -> (replica: Replica, engine: SyncEngine) {
        let replica = try Replica.create(in: try DatabaseQueue(), schema: world.server.schema, clock: clock.clock)
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: nil, role: .coordinator))
        return (replica, SyncEngine(replica: replica, transport: world.server.transport(as: SyncWorld.coordinator)))
    }

    /// The HLC the server logged for the change to `record`.
    func loggedClock(_ world: SyncWorld, _ record: String) throws -> HLC {
        let entry = try #require(world.server.log.last { $0.change.recordID == record })
        return try #require(HLC(entry.change.hlc))
    }

    @Test(arguments: [20 * minute, -20 * minute, 3 * day, -400 * day])
    func anEditOnAWrongClockIsAcceptedAndStampedWhenItWasMade(shift: Int64) throws {
        let world = SyncWorld()
        let device = ShiftedClock(by: shift)
        let (replica, engine) = try replica(world: world, clock: device)
        let before = FakeServer.now()
        let round = try replica.editor.insert(into: "round", [.init("number", "5")])
        let summary = try engine.sync()
        #expect(summary.rejected.isEmpty, "\(summary.rejected)")
        let stamp = try loggedClock(world, round.id)
        #expect(abs(stamp.milliseconds - before) < 2_000, "stamped \(stamp) for an edit made at \(before)")
        let offset = try #require(try replica.clockOffset())
        #expect(abs(offset + shift) < 1_000)
        let notice = try #require(try replica.status().clockNotice)
        #expect(notice.hasSuffix(shift > 0 ? "ahead of the server's" : "behind the server's"), "\(notice)")

        // Offline again: the next edit is stamped in the server's time from the start.
        try replica.editor.update("round", id: round.id, [.init("title", "Spring")])
        let text = try #require(try replica.rows("SELECT hlc FROM tandem_outbox").first?["hlc"] as String?)
        let pending = try #require(HLC(text))
        #expect(abs(pending.milliseconds - FakeServer.now()) < 2_000)
        #expect(try engine.sync().rejected.isEmpty)
    }

    @Test func aClockThatJumpsBackBetweenTwoEditsKeepsTheirOrder() throws {
        let world = SyncWorld()
        let device = ShiftedClock(by: 60 * Self.minute)
        let (replica, engine) = try replica(world: world, clock: device)
        let first = try replica.editor.insert(into: "round", [.init("number", "5")])
        device.set(-60 * Self.minute)
        let second = try replica.editor.insert(into: "round", [.init("number", "6")])
        #expect(try engine.sync().rejected.isEmpty)
        let (one, two) = (try loggedClock(world, first.id), try loggedClock(world, second.id))
        #expect(one < two)
        #expect(two.milliseconds <= FakeServer.now() + SyncRules.clockTolerance)
        // After the jump the device knows its offset: a later edit is stamped after both.
        try replica.editor.update("round", id: first.id, [.init("title", "later")])
        #expect(try engine.sync().rejected.isEmpty)
        #expect(try loggedClock(world, first.id) > two)
    }

    @Test func aCorrectClockSaysNothing() throws {
        let world = SyncWorld()
        let (replica, engine) = try replica(world: world, clock: ShiftedClock())
        _ = try replica.editor.insert(into: "round", [.init("number", "5")])
        _ = try engine.sync()
        #expect(try replica.status().clockNotice == nil)
        let offset = try #require(try replica.status().clockOffset)
        #expect(abs(offset) < ClockOffset.noticeThreshold)
    }
}
