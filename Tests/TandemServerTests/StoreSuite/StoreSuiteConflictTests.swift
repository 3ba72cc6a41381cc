import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Manual conflicts (SPEC §5, §6): held until a coordinator or an owner resolves them; listed
/// only for those who may read the record; the decision is a logged change.
@Suite struct StoreSuiteConflictTests {
    func openConflict(_ bench: StoreBench) async throws -> (exchange: String, conflict: ConflictInfo) {
        try await bench.openConflict()
    }

    @Test(arguments: StoreKind.allCases)
    func anOpenConflictIsHeldUntilTheCoordinatorResolvesIt(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (exchange, conflict) = try await openConflict(bench)
        #expect(conflict.table == "exchange" && conflict.recordID == exchange && conflict.field == "starts_on")
        #expect(conflict.current == .string("2026-05-05") && conflict.incoming == .string("2026-05-06"))
        #expect(conflict.status == .open)
        #expect(try await bench.record(exchange)?.record?["starts_on"] == .string("2026-05-05"))
        let head = try await bench.store.headSeq()

        let resolved = try await bench.store.resolve(
            conflict: conflict.id, with: .keepIncoming, by: bench.coordinator, now: bench.now)
        #expect(resolved.id == conflict.id && resolved.status == .resolved && resolved.current == .string("2026-05-06"))
        let item = try #require(try await bench.record(exchange))
        #expect(item.record?["starts_on"] == .string("2026-05-06") && item.version == 4)
        // The decision is a change like any other: logged with the next seq, by its resolver.
        #expect(try await bench.store.headSeq() == head + 1)
        let entry = try await bench.entry(at: head + 1)
        #expect(entry.author.role == .coordinator && entry.author.device == DeviceRegistry.serverDevice)
        #expect(entry.change["fields"] == .object([JSONMember("starts_on", .string("2026-05-06"))]))
        #expect(try await bench.store.verify().failure == nil)

        #expect(try await bench.conflicts().isEmpty)
        #expect(try await bench.conflicts(all: true).map(\.status) == [.resolved])
        let again = await #expect(throws: ServerError.self) {
            try await bench.store.resolve(
                conflict: conflict.id, with: .keepCurrent, by: bench.coordinator, now: bench.now)
        }
        #expect(again?.code == .resolved)
    }

    @Test(arguments: StoreKind.allCases)
    func whoMayResolve(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (exchange, conflict) = try await openConflict(bench)
        let store = bench.store
        // An unknown id, and a conflict on a record the caller may not read, are both not found.
        let unknown = await #expect(throws: ServerError.self) {
            try await store.resolve(conflict: bench.newID(), with: .keepCurrent, by: bench.coordinator, now: bench.now)
        }
        #expect(unknown?.code == .notFound)
        let hidden = await #expect(throws: ServerError.self) {
            try await store.resolve(
                conflict: conflict.id, with: .keepCurrent, by: bench.member(bench.town), now: bench.now)
        }
        #expect(hidden?.code == .notFound)
        // An auditor reads everything but decides nothing.
        let auditor = await #expect(throws: ServerError.self) {
            try await store.resolve(conflict: conflict.id, with: .keepCurrent, by: bench.auditor, now: bench.now)
        }
        #expect(auditor?.code == .forbidden)
        // A value that breaks the date order is refused, and nothing changes.
        let head = try await store.headSeq()
        let refused = await #expect(throws: ServerError.self) {
            try await store.resolve(
                conflict: conflict.id, with: .value(.string("2026-06-01")), by: bench.member(bench.company),
                now: bench.now)
        }
        #expect(refused?.code == .rejected)
        #expect(try await store.headSeq() == head)
        #expect(try await bench.conflicts().map(\.id) == [conflict.id])
        // An owner (the host) may resolve, with a value of its own.
        let resolved = try await store.resolve(
            conflict: conflict.id, with: .value(.string("2026-05-07")), by: bench.member(bench.company), now: bench.now)
        #expect(resolved.status == .resolved && resolved.current == .string("2026-05-07"))
        #expect(try await bench.record(exchange)?.record?["starts_on"] == .string("2026-05-07"))
    }

    @Test(arguments: StoreKind.allCases)
    func conflictsAreListedOnlyForRecordsTheCallerReads(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (exchange, _) = try await openConflict(bench)
        for principal in [bench.coordinator, bench.auditor, bench.member(bench.ministry), bench.member(bench.company)] {
            #expect(try await bench.store.conflicts(for: principal, includeResolved: true).count == 1)
        }
        #expect(try await bench.store.conflicts(for: bench.member(bench.town), includeResolved: true).isEmpty)
        // The exchange moves to the town: the conflict goes with it.
        try await bench.expect(
            [.applied], [bench.update("exchange", exchange, base: 3, ["host": .string(bench.town)])],
            by: bench.member(bench.ministry))
        #expect(try await bench.store.conflicts(for: bench.member(bench.company), includeResolved: false).isEmpty)
        #expect(try await bench.store.conflicts(for: bench.member(bench.town), includeResolved: false).count == 1)
    }
}
