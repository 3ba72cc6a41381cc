import TandemClient
import TandemProtocol
import Testing

/// The rules of a server that went back (docs/operations.md), without a database or a network:
/// what the server's answer to a held checkpoint says, where the cursor goes back to, who may
/// hand back whose change, and who a carried change is judged as.
@Suite struct RollbackRulesTests {
    private let hash = String(repeating: "a", count: 64)
    private let other = String(repeating: "b", count: 64)

    private func answer(_ seq: Int64, _ hash: String) -> Checkpoint {
        Checkpoint(seq: seq, hash: hash, time: "t", publicKey: "k", signature: "s")
    }

    @Test func theServersAnswerSaysWhetherItStillHoldsTheSeq() {
        #expect(SyncRules.check(seq: 9, hash: hash, answer: answer(9, hash)) == .holds)
        #expect(SyncRules.check(seq: 9, hash: hash, answer: answer(8, other)) == .wentBack(head: 8))
        #expect(SyncRules.check(seq: 9, hash: hash, answer: answer(9, other)) == .forked)
        #expect(SyncRules.check(seq: 9, hash: nil, answer: answer(9, other)) == .holds, "no hash: the seq only")
    }

    @Test func theCursorGoesBackToTheForkOrBeforeARecordToFetchAgain() {
        #expect(SyncRules.cursor(afterRollbackTo: 8, current: 12, refetch: []) == 8)
        #expect(SyncRules.cursor(afterRollbackTo: 8, current: 5, refetch: []) == 5, "never forward")
        #expect(SyncRules.cursor(afterRollbackTo: 8, current: 12, refetch: [6, 3]) == 2)
        #expect(SyncRules.cursor(afterRollbackTo: 8, current: 12, refetch: [1]) == 0)
    }

    @Test func coordinatorsCarryAnyReplicasChangeMembersTheirOwnOrganisations() {
        let a = Author(organisation: "org-a", role: .member, device: "dev-a")
        let b = Author(organisation: "org-b", role: .member, device: "dev-b")
        let coordinator = Author(organisation: nil, role: .coordinator, device: "desk")
        let auditor = Author(organisation: nil, role: .auditor, device: "audit")
        let server = Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice)
        #expect(DeviceRegistry.mayCarry(a, by: coordinator) && DeviceRegistry.mayCarry(b, by: coordinator))
        #expect(DeviceRegistry.mayCarry(coordinator, by: coordinator))
        #expect(DeviceRegistry.mayCarry(a, by: Author(organisation: "org-a", role: .member, device: "dev-a2")))
        #expect(!DeviceRegistry.mayCarry(b, by: a) && !DeviceRegistry.mayCarry(coordinator, by: a))
        #expect(!DeviceRegistry.mayCarry(a, by: auditor))
        #expect(!DeviceRegistry.mayCarry(server, by: coordinator), "the server's own changes are its to make")
    }

    @Test func aCarriedChangeIsJudgedAsItsDevicesOrganisation() {
        let pusher = Author(organisation: nil, role: .coordinator, device: "dev-a")
        #expect(
            DeviceRegistry.author(pushedBy: pusher, registered: ("org-a", .member))
                == Author(organisation: "org-a", role: .member, device: "dev-a"))
        #expect(DeviceRegistry.author(pushedBy: pusher, registered: (nil, .coordinator)) == pusher)
        #expect(DeviceRegistry.author(pushedBy: pusher, registered: nil) == pusher, "unregistered: the signature fails")
        // A member's token decides for itself: another organisation's device fails its signature check.
        let member = Author(organisation: "org-b", role: .member, device: "dev-a")
        #expect(DeviceRegistry.author(pushedBy: member, registered: ("org-a", .member)) == member)
    }

    @Test func aRollbackStateReadsWhatItWrites() throws {
        var state = RollbackState(
            kind: .forked, heldSeq: 9, serverSeq: 9, forkSeq: 8, detectedAt: "2026-05-04T10:00:00Z")
        #expect(RollbackState(json: state.json) == state)
        state.handedBack = 2
        state.isRewound = true
        state.pulledFrom = 5
        #expect(RollbackState(json: state.json) == state)
        #expect(
            state.line
                == "the server's history forked: its entry at seq 9 is not the one this replica pulled (they agree "
                + "up to seq 8) (restored from an older copy or rolled back?); handed back 2 changes it had lost and "
                + "pulled again from seq 5 (docs/operations.md)")
        #expect(RollbackState(json: .object([])) == nil)
    }
}
