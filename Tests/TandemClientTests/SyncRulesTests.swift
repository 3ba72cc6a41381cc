import TandemClient
import TandemProtocol
import Testing

/// The sync engine's decisions, without a database or a network.
@Suite struct SyncRulesTests {
    private func result(_ status: Outcome.Status, seq: Int64? = 9, reason: String? = nil) -> PushResult {
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
}
