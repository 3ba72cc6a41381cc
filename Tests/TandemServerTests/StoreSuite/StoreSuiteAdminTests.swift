import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// What `tandem-server` does beside serving, through the ``ServerStore`` protocol: installing the
/// next schema, and the rollback reports it keeps when someone presents a checkpoint the history
/// no longer holds (docs/operations.md).
@Suite struct StoreSuiteAdminTests {
    @Test(arguments: StoreKind.allCases)
    func aSchemaIsInstalledAsTheNextVersionAndLogged(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let store = bench.store
        let before = try await store.currentSchema()
        let head = try await store.headSeq()
        var proposed = before
        proposed.tables.append(TableSchema(name: "visit", fields: [FieldSchema(name: "notes", type: .text)]))
        let (installed, seq) = try await store.applySchema(proposed, now: bench.now)
        #expect(installed.version == before.version + 1 && seq == head + 1)
        #expect(try await store.currentSchema() == installed)
        let entry = try await bench.entry(at: seq)
        #expect(entry.change["table"] == .string(SchemaRegistry.table) && entry.author.role == .server)
        // The new table takes records at once.
        try await bench.expect(
            [.applied], [bench.insert("visit", bench.newID(), ["notes": .string("first")])], by: bench.coordinator)

        // Dropping a table is not additive: refused, nothing logged, the schema unchanged.
        var dropped = installed
        dropped.tables.removeAll { $0.name == "visit" }
        let refused = await #expect(throws: ServerError.self) {
            try await store.applySchema(dropped, now: bench.now)
        }
        #expect(refused?.code == "schema_refused", "\(String(describing: refused))")
        #expect(try await store.currentSchema() == installed)
        #expect(try await store.headSeq() == head + 2)
        #expect(try await store.verify().failure == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aCheckpointTheHistoryNoLongerHoldsIsReported(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let store = bench.store
        let kept = try await store.checkpoint(now: bench.now)
        // Presenting what the history holds, or asking without presenting, reports nothing.
        let held = try await store.checkpoint(at: kept.seq, presenting: kept, by: bench.auditor, now: bench.now)
        #expect(held.report == nil && held.checkpoint.seq == kept.seq && held.checkpoint.hash == kept.hash)
        #expect(try await store.rollbackReports().reports.isEmpty)

        // The store goes back one entry (restored from an older copy).
        try await bench.subject.tamper(.remove(kept.seq...kept.seq))
        var forged = kept
        forged.signature = SigningKey().sign(Array("not the server's".utf8))
        let claim = try await store.checkpoint(at: kept.seq, presenting: forged, by: bench.auditor, now: bench.now)
        #expect(claim.report == nil, "a checkpoint the server did not sign is a claim, not evidence")
        let (checkpoint, report) = try await store.checkpoint(
            at: kept.seq, presenting: kept, by: bench.auditor, now: bench.now + 1)
        #expect(checkpoint.seq == kept.seq - 1, "the head, the history ending before the seq asked")
        let found = try #require(report)
        #expect(found.presented == kept && found.headSeq == kept.seq - 1 && found.storeHash == nil)
        #expect(found.role == .auditor && found.tokenID == bench.auditor.tokenID)
        let (head, reports) = try await store.rollbackReports()
        #expect(head == kept.seq - 1 && reports == [found])
        #expect(found.isBehind(head: head))
    }
}
