import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// What pulls send is kept beside the history, rendered once (docs/merge.md): each entry's pull
/// item and each record's values. Edited behind the store's back, they change what replicas
/// receive while the history stays sound — so `verify` checks them against it and names them.
@Suite struct StoreSuiteDerivedFormTests {
    /// The round's insert: its seq and its entry's pull item as kept.
    func roundInsert(_ bench: StoreBench) async throws -> (seq: Int64, item: String) {
        let seq = try #require(try await bench.record(bench.round)?.seq)
        let item = try #require(DerivedForms.item(of: try await bench.entry(at: seq))).serialized()
        #expect(item.contains(#""number":1"#))
        return (seq, item)
    }

    @Test(arguments: StoreKind.allCases)
    func anEditedPullItemIsNamedAtItsSeq(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (seq, item) = try await roundInsert(bench)
        #expect(try await bench.store.verify().failure == nil)
        try await bench.subject.tamper(.item(seq, item.replacingOccurrences(of: #""number":1"#, with: #""number":10"#)))
        let pulled = try await bench.pullAll(bench.coordinator).items.first { $0.seq == seq }
        #expect(pulled?.entry?.fields["number"] == .int(10), "pulls send the forgery")
        #expect(try await bench.entry(at: seq).change["fields"]?["number"] == .int(1), "the history is untouched")
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
        #expect(failure.problem.contains("pull item"), "\(failure)")
    }

    @Test(arguments: StoreKind.allCases)
    func aPullItemWithItsMembersReorderedStillVerifies(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (seq, item) = try await roundInsert(bench)
        guard case let .object(members) = try JSONValue.parse(item) else {
            Issue.record("not an object: \(item)")
            return
        }
        try await bench.subject.tamper(.item(seq, JSONValue.object(members.reversed()).serialized()))
        #expect(try await bench.store.verify().failure == nil, "the same JSON, said otherwise")
    }

    /// A forger's edit of the round's values (`{"number":1,"status":"planned"}` as the history
    /// set them): what pulls then send of `field`, and what the failure names beside the record.
    enum RecordForgery: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case edited, slipped, removed

        var values: String {
            switch self {
            case .edited: #"{"number":10,"status":"planned"}"#
            case .slipped: #"{"number":1,"status":"planned","title":"Forged"}"#
            case .removed: #"{"number":1}"#
            }
        }

        var pulled: (field: String, value: JSONValue?) {
            switch self {
            case .edited: ("number", .int(10))
            case .slipped: ("title", .string("Forged"))
            case .removed: ("status", nil)
            }
        }

        /// `field number is not what the history set`, `its values … disagree with its per-field state`.
        var named: String {
            switch self {
            case .edited: "number"
            case .slipped: "values"
            case .removed: "status"
            }
        }

        var testDescription: String { rawValue }
    }

    @Test(arguments: StoreKind.allCases, RecordForgery.allCases)
    func aForgedRecordIsNamedAtItsLastSeq(kind: StoreKind, forgery: RecordForgery) async throws {
        let bench = try await StoreBench(kind)
        let (seq, _) = try await roundInsert(bench)
        #expect(try await bench.record(bench.round)?.record == ["number": .int(1), "status": .string("planned")])
        try await bench.subject.tamper(.values(bench.round, forgery.values))
        let pulled = try await bench.record(bench.round)?.record?[forgery.pulled.field]
        #expect(pulled == forgery.pulled.value, "pulls send the forgery")
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
        #expect(failure.problem.contains(bench.round) && failure.problem.contains(forgery.named), "\(failure)")
    }

    /// A record keeps the default of its insert's time: a schema that changes the default since
    /// does not make it a forgery.
    @Test(arguments: StoreKind.allCases)
    func aDefaultChangedSinceAnInsertStillVerifies(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        #expect(try await bench.record(bench.round)?.record?["status"] == .string("planned"))
        var proposed = try await bench.store.currentSchema()
        let table = try #require(proposed.tables.firstIndex { $0.name == "round" })
        let field = try #require(proposed.tables[table].fields.firstIndex { $0.name == "status" })
        proposed.tables[table].fields[field].defaultValue = "open"
        _ = try await bench.store.applySchema(proposed, now: bench.now)
        let later = bench.newID()
        try await bench.expect([.applied], [bench.insert("round", later, ["number": .int(2)])], by: bench.coordinator)
        #expect(try await bench.record(later)?.record?["status"] == .string("open"))
        #expect(try await bench.store.verify().failure == nil)
        // A value no version of the schema gave is still named.
        try await bench.subject.tamper(.values(bench.round, #"{"number":1,"status":"closed"}"#))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.problem.contains(bench.round) && failure.problem.contains("status"), "\(failure)")
    }

    /// `verify` reads the store a page at a time (memory flat however long the history): what it
    /// finds does not depend on where the pages break.
    @Test(arguments: StoreKind.allCases)
    func verifyFindsTheSameWhateverItsPageSize(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let adapter = try #require(bench.store as? any StoreAdapter)
        let (_, exchange) = try await bench.anaOnAnExchange()
        let whole = try await adapter.verify(page: 100_000)
        let head = try await bench.store.headSeq()
        #expect(whole.failure == nil && whole.entries == head)
        for page in [1, 2, 3] { #expect(try await adapter.verify(page: page) == whole, "page \(page)") }

        // The last entry and the last record by id, past the first pages.
        let item = try #require(DerivedForms.item(of: try await bench.entry(at: head))).serialized()
        try await bench.subject.tamper(
            .item(head, item.replacingOccurrences(of: #""op":"#, with: #""forged":1,"op":"#)))
        for page in [1, 2, 3, 100_000] {
            #expect(try await adapter.verify(page: page).failure?.seq == head, "page \(page)")
        }
        try await bench.subject.tamper(.item(head, item))
        let last = try #require(try await bench.pullAll(bench.coordinator).items.map(\.recordID).max())
        #expect(last >= exchange)
        try await bench.subject.tamper(.values(last, "{}"))
        for page in [1, 2, 3, 100_000] {
            let failure = try await adapter.verify(page: page).failure
            #expect(failure?.problem.contains(last) == true, "page \(page): \(String(describing: failure))")
        }
    }
}
