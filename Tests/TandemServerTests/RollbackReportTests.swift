import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TandemProtocol
import Testing

@testable import TandemServer

/// A store restored from a backup (docs/operations.md): pull pages carry the signed checkpoint
/// of the entry they reach, `GET /v1/checkpoint?seq=N` signs any entry (or the head when the
/// history ends before it), and a checkpoint presented that the store no longer holds is kept
/// as a report that `verify` and the start-up check name.
@Suite struct RollbackReportTests {
    @Test func pullPagesCarryTheSignedCheckpointOfTheEntryTheyReach() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        try await fixture.app().test(.router) { client in
            let page = try PullResponse(
                json: try await client.call(.get, "/v1/pull?since=0&limit=1", token: ministry.token).json)
            let checkpoint = try #require(page.checkpoint)
            #expect(checkpoint.seq == page.next && checkpoint.isSignatureValid)
            let entry = try #require(try await fixture.store.history(since: page.next - 1, limit: 1).first?.entry)
            #expect(checkpoint.hash == entry.hash)
        }
    }

    @Test func aCheckpointAtASeqIsTheEntryOrTheHead() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let head = try await fixture.store.headSeq()
        let history = try await fixture.store.history(since: 0, limit: 100)
        try await fixture.app().test(.router) { client in
            let first = try Checkpoint(
                json: try await client.call(.get, "/v1/checkpoint?seq=1", token: ministry.token).json)
            let entry = try history[0].entry
            #expect(first.seq == 1 && first.hash == entry.hash && first.isSignatureValid)
            let beyond = try Checkpoint(
                json: try await client.call(.get, "/v1/checkpoint?seq=\(head + 50)", token: ministry.token).json)
            #expect(beyond.seq == head, "the history ends before: the head")
            for bad in [
                "seq=0", "seq=x", "hash=\(first.hash)", "seq=1&hash=\(first.hash)", "seq=1&hash=XYZ&time=t&signature=s",
            ] {
                let reply = try await client.call(.get, "/v1/checkpoint?\(bad)", token: ministry.token)
                #expect(reply.status == .badRequest, "\(bad)")
            }
            #expect(try await client.call(.get, "/v1/checkpoint?seq=1").status == .unauthorized)
        }
        #expect(try await fixture.store.rollbackReports().reports.isEmpty, "asking is not presenting")
    }

    @Test func aPresentedCheckpointTheStoreNoLongerHoldsIsReported() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let head = try await fixture.store.headSeq()
        let key = fixture.store.serverKey
        // What a replica pulled before the store went back: an entry past its head, signed by it.
        let lost = Checkpoint(
            seq: head + 2, hash: String(repeating: "ab", count: 32), time: "2026-05-04T10:00:00.000Z", signedBy: key)
        // A claim nobody signed is ignored; one the store holds is no report.
        let forged = Checkpoint(seq: head + 3, hash: lost.hash, time: lost.time, signedBy: SigningKey())
        let held = try await fixture.store.checkpoint(now: ServerFixture.now)
        try await fixture.app().test(.router) { client in
            for checkpoint in [forged, held, lost, lost] {
                let query = CheckpointQuery(presenting: checkpoint).parameters.map {
                    "\($0.name)=\(Self.escape($0.value))"
                }
                let reply = try await client.call(
                    .get, "/v1/checkpoint?" + query.joined(separator: "&"), token: ministry.token)
                #expect(reply.status == .ok)
                #expect(try Checkpoint(json: reply.json).seq == min(checkpoint.seq, head))
            }
        }
        let (storeHead, reports) = try await fixture.store.rollbackReports()
        #expect(storeHead == head)
        #expect(reports.count == 1, "each checkpoint presented once: \(reports)")
        let report = try #require(reports.first)
        #expect(report.presented.seq == lost.seq && report.presented.hash == lost.hash && report.role == .member)
        #expect(report.presented.isSignatureValid && report.headSeq == head && report.storeHash == nil)
        #expect(report.isBehind(head: storeHead))
        #expect(
            RollbackReport.behindLine(report, head: storeHead).hasPrefix(
                "seq \(lost.seq): the store's head (seq \(head)) is older"))
        // Once the store has moved past it, it is still reported, no longer behind.
        #expect(!report.isBehind(head: lost.seq))
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
