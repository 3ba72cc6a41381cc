import GRDB
import TandemClient
import TandemProtocol
import Testing

/// A change the server refuses stays in the replica, with its fields, until the user retries or
/// dismisses it; neither needs the network.
@Suite struct RejectedChangeTests {
    /// Two coordinators' replicas; the second pushes a round whose number the first took: `unique:number`.
    func uniqueRefusal() throws -> (world: SyncWorld, replica: Replica, engine: SyncEngine, rejection: Rejection) {
        let world = SyncWorld()
        let (first, firstEngine) = try world.replica()
        let (second, secondEngine) = try world.replica()
        _ = try first.editor.insert(into: "round", [.init("number", "5"), .init("title", "First")])
        _ = try firstEngine.sync()
        _ = try second.editor.insert(into: "round", [.init("number", "5"), .init("title", "Typed offline")])
        let summary = try secondEngine.sync()
        let rejection = try #require(summary.rejected.first)
        #expect(rejection.reason == .unique("number"))
        return (world, second, secondEngine, rejection)
    }

    @Test func aRefusedChangeKeepsItsFieldsAndIsNotPending() throws {
        let (_, replica, engine, rejection) = try uniqueRefusal()
        let status = try replica.status()
        #expect(status.pending == 0)
        let kept = try #require(status.rejected.first)
        #expect(kept.op == .insert)
        #expect(kept.fields["title"] == .string("Typed offline") && kept.fields["number"] == .int(5))
        let json = try #require(status.json["rejected"])
        guard case let .array(entries) = json, case let .object(members)? = entries.first else {
            Issue.record("rejected: \(json)")
            return
        }
        #expect(members.map(\.key) == ["change_id", "table", "record_id", "reason", "fields"])
        // Not pushed again by a sync.
        #expect(try engine.sync().pushed == 0)
        #expect(try replica.status().rejected.map(\.changeID) == [rejection.changeID])
    }

    @Test func retryQueuesTheEditAgainWithOverridesAsANewRecord() throws {
        let (world, replica, engine, rejection) = try uniqueRefusal()
        // The value that was refused is refused again locally (the replica has pulled round 5).
        #expect(throws: ReplicaError.self) { try replica.editor.retryRejected(rejection.changeID) }
        #expect(try replica.status().rejected.count == 1, "nothing written on failure")
        #expect(throws: ReplicaError.self) {
            try replica.editor.retryRejected(rejection.changeID, overriding: [.init("number", "x")])
        }

        let (_, record) = try replica.editor.retryRejected(
            String(rejection.changeID.prefix(13)), overriding: [.init("number", "6")])
        let retried = try #require(record)
        #expect(retried.id != rejection.recordID, "a refused insert comes back under a new id")
        #expect(retried["title"] == .text("Typed offline") && retried["number"] == .int(6))
        #expect(try replica.status().rejected.isEmpty && replica.status().pending == 1)
        let summary = try engine.sync()
        #expect(summary.rejected.isEmpty && summary.pushed == 1)
        #expect(world.server.live("round")[retried.id]?["title"] == .string("Typed offline"))
    }

    @Test func dismissForgetsTheRefusal() throws {
        let (_, replica, _, rejection) = try uniqueRefusal()
        let dismissed = try replica.editor.dismissRejected(rejection.changeID)
        #expect(dismissed.changeID == rejection.changeID)
        #expect(try replica.status().rejected.isEmpty && replica.status().pending == 0)
        #expect {
            try replica.editor.dismissRejected(rejection.changeID)
        } throws: { ($0 as? ReplicaError)?.code == .notFound }
        #expect {
            try replica.editor.retryRejected("01")
        } throws: { ($0 as? ReplicaError)?.code == .usage }
    }

    @Test func aRefusedUpdateOfADeletedRecordCannotBeRetried() throws {
        // A member's edit of a person the coordinator deleted meanwhile: `deleted`; retrying needs the
        // record, so the user is told to dismiss it.
        let world = SyncWorld()
        let (coordinator, coordinatorEngine) = try world.replica()
        let round = try coordinator.editor.insert(into: "round", [.init("number", "5"), .init("title", "Spring")])
        _ = try coordinatorEngine.sync()
        let (other, otherEngine) = try world.replica()
        _ = try otherEngine.sync()
        try coordinator.editor.update("round", id: round.id, [.init("title", "Summer")])
        _ = try coordinatorEngine.sync()
        try coordinator.editor.delete(from: "round", id: round.id)
        _ = try coordinatorEngine.sync()
        try other.editor.update("round", id: round.id, [.init("title", "Autumn")])
        let rejection = try #require(try otherEngine.sync().rejected.first)
        #expect(rejection.reason == "deleted" && rejection.fields == ["title": .string("Autumn")])
        #expect {
            try other.editor.retryRejected(rejection.changeID)
        } throws: { ($0 as? ReplicaError)?.code == .notFound }
        #expect(try other.status().rejected.count == 1)
    }

    @Test func aRefusalKeptBeforeChangesWereKeptStillShowsAndCanBeDismissed() throws {
        let world = SyncWorld()
        let (replica, _) = try world.replica()
        let id = "0193a1b2-c3d4-7e5f-8a6b-000000000001"
        try replica.withDatabase { db in
            try db.execute(
                sql: "INSERT INTO tandem_rejected(change_id, tbl, record_id, reason) VALUES (?, 'round', ?, 'clock')",
                arguments: [id, "0193a1b2-c3d4-7e5f-8a6b-000000000002"])
        }
        let kept = try #require(try replica.status().rejected.first)
        #expect(kept.reason == "clock" && kept.fields.isEmpty && kept.op == nil)
        #expect {
            try replica.editor.retryRejected(id)
        } throws: { ($0 as? ReplicaError)?.code == .notFound }
        try replica.editor.dismissRejected(String(id.prefix(30)))
        #expect(try replica.status().rejected.isEmpty)
    }
}
