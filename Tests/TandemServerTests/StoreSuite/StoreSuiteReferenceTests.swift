import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// References are kept as rows where the merge asks which records refer to one (a limit's group,
/// a path read through), and counted everywhere else (``ReferenceIndex``, docs/merge.md
/// "References"): an exchange's home and host are counts.
@Suite struct StoreSuiteReferenceTests {
    @Test(arguments: StoreKind.allCases)
    func anOrganisationReferredToByCountsCannotBeDeletedUntilItsReferrersGo(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, exchange) = try await bench.anaOnAnExchange()
        // The company is the exchange's host, and nothing else refers to it.
        let refused = try await bench.expect(
            [.rejected], [bench.delete("organisation", bench.company, base: 1)], by: bench.coordinator)
        #expect(refused[0].reason == "referenced")
        try await bench.expect([.applied], [bench.delete("exchange", exchange, base: 1)], by: bench.coordinator)
        try await bench.expect(
            [.applied], [bench.delete("organisation", bench.company, base: 1)], by: bench.coordinator)
        #expect(try await bench.store.verify().failure == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aTamperedReferenceCountIsNamed(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, exchange) = try await bench.anaOnAnExchange()
        #expect(try await bench.store.verify().failure == nil)
        // Counted as unreferenced, the company could be deleted from under its exchange.
        try await bench.subject.tamper(.referenceCount(bench.company, 0))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.problem.contains(bench.company), "\(failure)")
        let seq = try #require(try await bench.record(exchange)?.seq)
        #expect(failure.seq == seq, "the last entry that changed a record referring to it: \(failure)")
    }

    /// A schema version that groups by a field kept as a count makes the store keep its rows:
    /// the limit counts the exchanges held before it.
    @Test(arguments: StoreKind.allCases)
    func aLimitAddedOnACountedFieldCountsTheRecordsHeldBefore(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, _) = try await bench.anaOnAnExchange()
        var proposed = try await bench.store.currentSchema()
        let table = try #require(proposed.tables.firstIndex { $0.name == "exchange" })
        proposed.tables[table].constraints.append(
            Constraint(kind: .limit, field: Constraint.Path(field: "host"), max: 1))
        _ = try await bench.store.applySchema(proposed, now: bench.now)
        #expect(try await bench.store.verify().failure == nil)
        let second = try await bench.push(
            [
                bench.insert(
                    "exchange", bench.newID(),
                    bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company))
            ], by: bench.member(bench.ministry))
        #expect(second.map(\.reason) == ["limit:host"], "\(second)")
        try await bench.expect(
            [.applied],
            [
                bench.insert(
                    "exchange", bench.newID(), bench.exchangeFields(person: ana, home: bench.ministry, host: bench.town)
                )
            ], by: bench.member(bench.ministry))
        #expect(try await bench.store.verify().failure == nil)
    }

    /// A store made before reference counts (every reference a row) is indexed again when it opens:
    /// deletes are still refused while referred to, limits still count, and `verify` agrees.
    @Test(arguments: [StoreKind.sqliteOnDisk, .postgres])
    func aStoreFromBeforeReferenceCountsIsIndexedAgainWhenOpened(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let mentor = try await bench.person(of: bench.ministry, "Mentor")
        let challenges = (0..<5).map { index in
            bench.insert(
                "challenge", bench.newID(),
                [
                    "round": .string(bench.round), "title": .string("C\(index)"), "proposer": .string(bench.ministry),
                    "status": .string("selected"), "mentor": .string(mentor),
                ])
        }
        try await bench.expect(Array(repeating: .applied, count: 5), challenges, by: bench.coordinator)
        try await bench.subject.tamper(.beforeReferenceCounts)

        let reopened = try await bench.subject.another()
        #expect(try await reopened.verify().failure == nil)
        func push(_ change: Change) async throws -> PushResult? {
            try await reopened.pushSigned([change], by: bench.coordinator, now: bench.now).first
        }
        let sixth = bench.insert(
            "challenge", bench.newID(),
            [
                "round": .string(bench.round), "title": .string("C5"), "proposer": .string(bench.ministry),
                "status": .string("selected"), "mentor": .string(mentor),
            ])
        #expect(try await push(sixth)?.reason == "limit:round")
        #expect(try await push(bench.delete("organisation", bench.company, base: 1))?.reason == "referenced")
        #expect(try await push(bench.delete("person", ana, base: 1))?.reason == "referenced")
        #expect(try await push(bench.delete("exchange", exchange, base: 1))?.status == .applied)
        #expect(try await push(bench.delete("organisation", bench.company, base: 1))?.status == .applied)
        #expect(try await reopened.verify().failure == nil)
    }
}
