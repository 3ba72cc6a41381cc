import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Read visibility on pull (SPEC §6, docs/visibility.md): a member receives reference data, its
/// own records, its exchanges and the persons on them — no one else's; a record that becomes
/// visible arrives whole, one that stops being visible leaves.
@Suite struct StoreSuiteVisibilityTests {
    // MARK: - Arrival and departure

    @Test(arguments: StoreKind.allCases)
    func aPersonArrivesWholeWhenPutOnAnExchangeTheOrganisationHosts(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let company = bench.member(bench.company)
        let ana = try await bench.person(of: bench.ministry, "Ana")
        try await bench.expect(
            [.applied], [bench.update("person", ana, base: 1, ["email": .string("ana@gov.example")])],
            by: bench.member(bench.ministry))
        let before = try await bench.pullAll(company)
        #expect(!before.items.contains { $0.recordID == ana }, "the host cannot see Ana yet")

        let exchange = try await bench.exchange(person: ana, home: bench.ministry, host: bench.company)
        let after = try await bench.pullAll(company, since: before.next)
        #expect(after.items.map(\.recordID) == [exchange, ana])
        let arrival = try #require(after.items.last)
        #expect(arrival.entry == nil && arrival.isVisible && !arrival.isDeleted && arrival.version == 2)
        #expect(
            arrival.record?["full_name"] == .string("Ana") && arrival.record?["email"] == .string("ana@gov.example"))
        #expect(arrival.seq == after.items[0].seq, "the arrival carries the seq of the change that caused it")
        // From the start, the host now reads Ana's whole history.
        #expect(try await bench.pullAll(company).items.filter { $0.recordID == ana }.count >= 2)
    }

    @Test(arguments: StoreKind.allCases)
    func thePersonLeavesWhenTheExchangeIsDeleted(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let company = bench.member(bench.company)
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let cursor = try await bench.pullAll(company).next
        try await bench.expect(
            [.applied], [bench.delete("exchange", exchange, base: 1)], by: bench.member(bench.ministry))

        let after = try await bench.pullAll(company, since: cursor)
        #expect(after.items.map(\.recordID) == [exchange, ana])
        #expect(after.items[0].isDeleted && after.items[0].entry?.op == .delete, "the host sees the delete")
        let departure = after.items[1]
        #expect(!departure.isVisible && !departure.isDeleted && departure.record == nil && departure.entry == nil)
        #expect(try await bench.replica(of: company)[ana] == nil)
        // The home organisation keeps its own person.
        #expect(try await bench.replica(of: bench.member(bench.ministry))[ana]?["full_name"] == .string("Ana"))
    }

    @Test(arguments: StoreKind.allCases)
    func aNewHostReceivesTheExchangeAndItsPersonAndTheOldHostLosesThem(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (company, town) = (bench.member(bench.company), bench.member(bench.town))
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let companyCursor = try await bench.pullAll(company).next
        let townCursor = try await bench.pullAll(town).next
        try await bench.expect(
            [.applied], [bench.update("exchange", exchange, base: 1, ["host": .string(bench.town)])],
            by: bench.member(bench.ministry))

        let oldHost = try await bench.pullAll(company, since: companyCursor)
        #expect(oldHost.items.map(\.recordID).sorted() == [exchange, ana].sorted())
        #expect(oldHost.items.allSatisfy { !$0.isVisible && $0.record == nil && $0.entry == nil })

        let newHost = try await bench.pullAll(town, since: townCursor)
        #expect(newHost.items.map(\.recordID) == [exchange, ana])
        #expect(newHost.items[0].entry?.op == .update && newHost.items[0].record?["host"] == .string(bench.town))
        #expect(newHost.items[0].record?["starts_on"] == .string("2026-05-04"), "the exchange arrives whole")
        #expect(newHost.items[1].entry == nil && newHost.items[1].record?["full_name"] == .string("Ana"))
    }

    @Test(arguments: StoreKind.allCases)
    func anotherPersonOnTheExchangeSwapsWhoTheHostSees(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let company = bench.member(bench.company)
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let bor = try await bench.person(of: bench.ministry, "Bor")
        let cursor = try await bench.pullAll(company).next
        try await bench.expect(
            [.applied], [bench.update("exchange", exchange, base: 1, ["person": .string(bor)])],
            by: bench.member(bench.ministry))
        let after = try await bench.pullAll(company, since: cursor)
        #expect(after.items.contains { $0.recordID == ana && !$0.isVisible && $0.record == nil })
        let rows = try await bench.replica(of: company)
        #expect(rows[ana] == nil)
        #expect(rows[bor]?["full_name"] == .string("Bor") && rows[exchange]?["person"] == .string(bor))
    }

    @Test(arguments: StoreKind.allCases)
    func aPersonOnTwoExchangesStaysUntilTheLastOneGoes(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ministry, company) = (bench.member(bench.ministry), bench.member(bench.company))
        let (ana, first) = try await bench.anaOnAnExchange()
        let second = try await bench.exchange(person: ana, home: bench.ministry, host: bench.company)
        let cursor = try await bench.pullAll(company).next
        try await bench.expect([.applied], [bench.delete("exchange", first, base: 1)], by: ministry)
        #expect(!(try await bench.pullAll(company, since: cursor)).items.contains { $0.recordID == ana })
        try await bench.expect([.applied], [bench.delete("exchange", second, base: 1)], by: ministry)
        #expect(
            try await bench.pullAll(company, since: cursor).items.contains { $0.recordID == ana && !$0.isVisible })
    }

    // MARK: - What each token reads

    @Test(arguments: StoreKind.allCases)
    func anEntryNamingAnotherTableDoesNotCarryTheRecord(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let town = bench.member(bench.town)
        let ana = try await bench.person(of: bench.ministry, "Ana")
        try await bench.expect([.rejected], [bench.update("round", ana, base: 1, ["title": .string("x")])], by: town)
        let forged = try #require(try await bench.pullAll(town).items.first { $0.recordID == ana })
        #expect(forged.table == "round" && forged.record == nil && forged.entry?.outcome.status == .rejected)
    }

    @Test(arguments: StoreKind.allCases)
    func aMemberSeesItsExchangesAndTheirPersonsButNoOneElses(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ministry, company, town) = (
            bench.member(bench.ministry), bench.member(bench.company), bench.member(bench.town)
        )
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let bor = try await bench.person(of: bench.company, "Bor")
        let mentor = try await bench.person(of: bench.company, "Mentor")
        // A challenge's mentor and a practice's contact do not open a person to everyone.
        try await bench.expect(
            [.applied, .applied],
            [
                bench.insert(
                    "challenge", bench.newID(),
                    [
                        "round": .string(bench.round), "title": .string("Open data"),
                        "proposer": .string(bench.company), "mentor": .string(mentor),
                    ]),
                bench.insert(
                    "practice", bench.newID(),
                    ["organisation": .string(bench.company), "title": .string("Shadowing"), "contact": .string(bor)]),
            ], by: company)

        let ministryItems = try await bench.pullAll(ministry).items
        #expect(Set(ministryItems.filter { $0.table == "person" }.map(\.recordID)) == [ana])
        #expect(Set(ministryItems.filter { $0.table == "exchange" }.map(\.recordID)) == [exchange])
        let townItems = try await bench.pullAll(town).items
        #expect(townItems.allSatisfy { $0.table != "person" && $0.table != "exchange" })
        #expect(Set(townItems.map(\.table)) == ["organisation", "round", "challenge", "practice"])
        let companyItems = try await bench.pullAll(company).items
        #expect(Set(companyItems.filter { $0.table == "person" }.map(\.recordID)) == [ana, bor, mentor])
        // Nor may a member refer to a person it cannot read: the answer is that of no such person.
        let leak = try await bench.expect(
            [.rejected],
            [
                bench.insert(
                    "practice", bench.newID(),
                    ["organisation": .string(bench.town), "title": .string("Peek"), "contact": .string(ana)])
            ], by: town)
        #expect(leak[0].reason == "reference:contact" && leak[0].version == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func coordinatorsAndAuditorsReadEveryEntry(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, exchange) = try await bench.anaOnAnExchange()
        try await bench.expect(
            [.applied], [bench.update("exchange", exchange, base: 1, ["host": .string(bench.town)])],
            by: bench.coordinator)
        // Every entry of the history but the device registrations, which replicas never receive.
        let entries = try await bench.store.history(since: 0, limit: 10_000).filter { try !$0.isDeviceRegistration }
        #expect(entries.count > 5)
        for principal in [bench.coordinator, bench.auditor] {
            let pulled = try await bench.pullAll(principal)
            #expect(pulled.items.map(\.seq) == entries.map(\.seq))
            #expect(pulled.items.allSatisfy { $0.entry != nil && $0.isVisible })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRejectedInsertReachesOnlyItsAuthor(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let id = bench.newID()
        try await bench.expect(
            [.rejected],
            [bench.insert("person", id, ["organisation": .string(bench.ministry), "full_name": .null])],
            by: bench.member(bench.ministry))
        let own = try await bench.pullAll(bench.member(bench.ministry)).items.filter { $0.recordID == id }
        #expect(own.count == 1 && own.first?.record == nil && own.first?.entry?.outcome.status == .rejected)
        #expect(!(try await bench.pullAll(bench.member(bench.company))).items.contains { $0.recordID == id })
    }

    @Test(arguments: StoreKind.allCases)
    func pagesNeverSplitASeqAndMovePastInvisibleEntries(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let company = bench.member(bench.company)
        let (_, exchange) = try await bench.anaOnAnExchange()
        let bor = try await bench.person(of: bench.ministry, "Bor")
        let roundSeq = try #require(try await bench.record(bench.round)).seq
        try await bench.expect(
            [.applied], [bench.update("exchange", exchange, base: 1, ["person": .string(bor)])],
            by: bench.member(bench.ministry))
        let head = try await bench.store.headSeq()
        let whole = try await bench.pullAll(company)
        for limit in [1, 2, 3, 1000] {
            let small = try await bench.pullAll(company, limit: limit)
            #expect(small.items == whole.items, "limit \(limit)")
            #expect(small.next == head)
        }
        // Nothing to read for the town after the round: one empty page that moves the cursor to the head.
        let empty = try await bench.store.pull(since: roundSeq, limit: 10, for: bench.member(bench.town))
        #expect(empty.items.isEmpty && empty.next == head && !empty.more)
    }
}
