import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// The `author` and `outcome` texts a pull stores in `tandem_history` are `json.serialized()` of
/// each entry's values, byte for byte, though a page serialises the ones its entries share once.
@Suite struct PullHistoryTextTests {
    @Test func eachEntryKeepsItsOwnAuthorAndOutcomeTextByteForByte() throws {
        let composed = "Caf\u{E9}"
        let decomposed = "Cafe\u{301}"  // equal to `composed` for Swift's `==`, not byte for byte
        let authors = [
            Author(organisation: composed, role: .member, device: "d"),
            Author(organisation: decomposed, role: .member, device: "d"),
            Author(organisation: composed, role: .member, device: "d"),
            Author(organisation: nil, role: .server),
            Author(organisation: "quote\"d", role: .coordinator, device: decomposed),
        ]
        let outcomes = [
            Outcome(status: .applied, version: 1, applied: ["full_name", composed]),
            Outcome(status: .applied, version: 2, applied: ["full_name", decomposed]),
            Outcome(status: .applied, version: 3, applied: ["full_name", composed]),
            Outcome(status: .merged, version: nil, applied: []),
            Outcome.rejected("not \"permitted\"\n", version: 7),
            Outcome(
                status: .conflict, version: 4, applied: ["email"],
                conflicts: [FieldConflict(field: "email", rule: .manual, kept: .double(-0.0), lost: .double(0.0))]),
            Outcome(
                status: .conflict, version: 5, applied: ["email"],
                conflicts: [FieldConflict(field: "email", rule: .manual, kept: .double(0.0), lost: .double(-0.0))]),
        ]
        var items: [PullItem] = []
        for index in 0..<(authors.count * outcomes.count) {
            let id = String(format: "0193a1b2-c3d4-7e5f-8a6b-%012d", index)
            items.append(
                PullItem(
                    seq: Int64(index + 1), table: "person", recordID: id, version: 1, isDeleted: false,
                    record: PullVisibilityTests.ana,
                    entry: PullItem.Entry(
                        changeID: id, time: "2026-05-04T10:00:00Z", author: authors[index % authors.count],
                        op: .insert, fields: PullVisibilityTests.ana, outcome: outcomes[index % outcomes.count],
                        hlc: nil)))
        }
        let (replica, engine) = try PullVisibilityTests().replica(pages: [
            PullResponse(items: items, next: Int64(items.count), more: false)
        ])
        _ = try engine.pull()
        let stored = try replica.withDatabase { db in
            try Row.fetchAll(db, sql: "SELECT author, outcome FROM tandem_history ORDER BY seq").map {
                (author: $0["author"] as String, outcome: $0["outcome"] as String)
            }
        }
        #expect(stored.count == items.count)
        for (item, row) in zip(items, stored) {
            #expect(Array(row.author.utf8) == Array(item.entry!.author.json.serialized().utf8), "seq \(item.seq)")
            #expect(Array(row.outcome.utf8) == Array(item.entry!.outcome.json.serialized().utf8), "seq \(item.seq)")
        }
    }
}
