import TandemClient
import TandemProtocol
import Testing

/// The sync engine's decisions, without a database or a network.
@Suite struct SyncRulesTests {
    private func result(_ status: Outcome.Status, seq: Int64? = 9, reason: RejectionReason? = nil) -> PushResult {
        PushResult(changeID: "c", status: status, seq: seq, version: 2, reason: reason)
    }

    @Test func everyAnswerButARejectionLeavesTheChangeAccepted() {
        for status in [Outcome.Status.applied, .merged, .conflict, .duplicate] {
            #expect(SyncRules.disposition(of: result(status)) == .accepted)
        }
        #expect(SyncRules.disposition(of: result(.rejected, reason: "deleted")) == .rejected(reason: "deleted"))
        #expect(SyncRules.disposition(of: result(.rejected)) == .rejected(reason: "unknown"))
    }

    @Test func aDuplicateCarryingAReasonWasARejection() {
        #expect(
            SyncRules.disposition(of: result(.duplicate, reason: "unique:number")) == .rejected(reason: "unique:number")
        )
    }

    @Test func theCursorGoesBackOnlyForEntriesAlreadyPulled() {
        #expect(SyncRules.cursor(after: [result(.applied, seq: 11), result(.applied, seq: 12)], current: 10) == 10)
        #expect(SyncRules.cursor(after: [result(.duplicate, seq: 7), result(.applied, seq: 11)], current: 10) == 6)
        #expect(SyncRules.cursor(after: [result(.duplicate, seq: 7), result(.duplicate, seq: 3)], current: 10) == 2)
        #expect(SyncRules.cursor(after: [result(.rejected, seq: nil)], current: 10) == 10)
        #expect(SyncRules.cursor(after: [result(.duplicate, seq: 1)], current: 1) == 0)
    }

    @Test func rebaseLaysPendingUpdatesOverTheServerState() {
        let server: [String: JSONValue] = ["number": .int(5), "title": .string("Spring")]
        let view = SyncRules.rebase(
            server: server,
            pending: [
                .init(op: .update, fields: ["title": .string("Mine")]),
                .init(op: .update, fields: ["status": .string("open"), "title": .null]),
            ])
        #expect(view == ["number": .int(5), "status": .string("open")])
    }

    @Test func rebaseKeepsAPendingDeleteDeletedAndCannotReviveARecord() {
        let server: [String: JSONValue] = ["number": .int(5)]
        #expect(SyncRules.rebase(server: server, pending: [.init(op: .delete, fields: [:])]) == nil)
        #expect(SyncRules.rebase(server: nil, pending: [.init(op: .update, fields: ["number": .int(6)])]) == nil)
        #expect(SyncRules.rebase(server: nil, pending: []) == nil)
        #expect(SyncRules.rebase(server: server, pending: []) == server)
    }

    @Test func rebaseOfAPendingInsertShowsItsValues() {
        let inserted: [String: JSONValue] = ["number": .int(7), "status": .string("planned")]
        #expect(SyncRules.rebase(server: nil, pending: [.init(op: .insert, fields: inserted)]) == inserted)
        #expect(
            SyncRules.rebase(
                server: nil,
                pending: [.init(op: .insert, fields: inserted), .init(op: .update, fields: ["title": .string("t")])])
                == inserted.merging(["title": .string("t")]) { _, new in new })
    }

    @Test func theLatestAcceptedClockIsTakenInButNotARejectedOne() {
        func item(_ seq: Int64, hlc: String?, _ status: Outcome.Status = .applied) -> PullItem {
            PullItem(
                seq: seq, table: "round", recordID: "r", version: 1, isDeleted: false, record: [:],
                entry: .init(
                    changeID: "c\(seq)", time: "t", author: Author(organisation: nil, role: .coordinator), op: .update,
                    fields: [:], outcome: Outcome(status: status), hlc: hlc))
        }
        let now: Int64 = 1_000_000
        let items = [
            item(1, hlc: HLC(milliseconds: now - 10, counter: 0, device: "a").description),
            item(2, hlc: HLC(milliseconds: now + 50, counter: 3, device: "b").description),
            item(3, hlc: HLC(milliseconds: now + 20 * 60_000, counter: 0, device: "c").description, .rejected),
            item(5, hlc: nil), item(6, hlc: "garbage"),
        ]
        #expect(SyncRules.latestClock(in: items) == HLC(milliseconds: now + 50, counter: 3, device: "b"))
        #expect(SyncRules.latestClock(in: [item(1, hlc: nil)]) == nil)
    }

    @Test func aPullEndsWhenTheServerHasNoMoreAndRefusesACursorThatDoesNotMove() throws {
        #expect(try SyncRules.nextPull(after: PullResponse(items: [], next: 5, more: false), since: 5) == nil)
        #expect(try SyncRules.nextPull(after: PullResponse(items: [], next: 9, more: true), since: 5) == 9)
        #expect(throws: ReplicaError.self) {
            try SyncRules.nextPull(after: PullResponse(items: [], next: 5, more: true), since: 5)
        }
    }

    @Test func pendingStampsMoveByTheCorrectionAndNoneStaysAhead() {
        let now: Int64 = 10_000_000
        let minute: Int64 = 60_000
        func stamp(_ milliseconds: Int64, _ counter: Int = 0) -> HLC {
            HLC(milliseconds: milliseconds, counter: counter, device: "d")
        }
        // A clock 20 minutes fast: the stamps move back by 20 minutes, order and counters kept.
        let fast = SyncRules.correctClocks(
            pending: [stamp(now + 20 * minute - 500), stamp(now + 20 * minute - 500, 1)],
            device: stamp(now + 20 * minute - 500, 1), shift: -20 * minute, now: now, seen: nil)
        #expect(fast.pending == [stamp(now - 500), stamp(now - 500, 1)])
        #expect(fast.device == stamp(now, 0), "the device clock starts again from now")

        // A slow clock: the stamps move forward; the device clock, not ahead, stays.
        let slow = SyncRules.correctClocks(
            pending: [stamp(now - 20 * minute - 900)], device: stamp(now - 20 * minute - 900), shift: 20 * minute,
            now: now, seen: nil)
        #expect(slow.pending == [stamp(now - 900)])
        #expect(slow.device == stamp(now - 900))

        // A jitter within the tolerance moves nothing.
        let still = SyncRules.correctClocks(
            pending: [stamp(now - 5)], device: stamp(now - 5), shift: 300, now: now, seen: nil)
        #expect(still.pending == [stamp(now - 5)] && still.device == stamp(now - 5))

        // A stamp still ahead after the shift (the clock changed between edit and push) is stamped
        // anew at now, after what was pulled and after the stamps before it.
        let seen = HLC(milliseconds: now + 2_000, counter: 4, device: "other")
        let jumped = SyncRules.correctClocks(
            pending: [stamp(now - 100), stamp(now + 3 * SyncRules.clockTolerance + 2_000), stamp(now + 90 * minute)],
            device: stamp(now + 90 * minute), shift: 0, now: now, seen: seen)
        #expect(jumped.pending[0] == stamp(now - 100))
        #expect(jumped.pending[1] == stamp(now + 2_000, 5))
        #expect(jumped.pending[2] == stamp(now + 2_000, 6))
        #expect(jumped.device == stamp(now + 2_000, 6))
        #expect(jumped.pending.allSatisfy { $0.milliseconds <= now + WireProtocol.maximumClockSkewMilliseconds })
    }
}
