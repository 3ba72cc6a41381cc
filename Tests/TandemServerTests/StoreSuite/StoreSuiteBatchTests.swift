import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// A push batch is applied in order, one change after another (SPEC §5): every later change of
/// the batch sees what the earlier ones did — the records they inserted, updated or deleted, the
/// unique values they took or freed, the change ids they used, the references they made — exactly
/// as if each change had been pushed alone. Each result's seq is the next one, with no gap.
@Suite struct StoreSuiteBatchTests {
    /// The seqs of `results` run on from `head` with no gap (duplicates aside).
    func expectGapFree(
        _ results: [PushResult], after head: Int64, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let logged = results.filter { $0.status != .duplicate }.map(\.seq)
        #expect(logged == (0..<Int64(logged.count)).map { head + 1 + $0 }, "\(results)", sourceLocation: sourceLocation)
    }

    // MARK: - References

    @Test(arguments: StoreKind.allCases)
    func aLaterChangeRefersToRecordsInsertedEarlierInTheBatch(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (round, ana, exchange, challenge) = (bench.newID(), bench.newID(), bench.newID(), bench.newID())
        let head = try await bench.store.headSeq()
        let results = try await bench.expect(
            [.applied, .applied, .applied, .applied],
            [
                bench.insert("round", round, ["number": .int(2)]),
                bench.insert("person", ana, bench.personFields(bench.ministry, "Ana")),
                bench.insert(
                    "exchange", exchange,
                    bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company, round: round)),
                bench.insert(
                    "challenge", challenge,
                    ["round": .string(round), "title": .string("Open data"), "proposer": .string(bench.company)]),
            ], by: bench.coordinator)
        #expect(results.map(\.version) == [1, 1, 1, 1])
        expectGapFree(results, after: head)
        #expect(try await bench.record(exchange)?.record?["round"] == .string(round))
        // A member too: its own person, then a practice naming her as contact.
        let (bor, practice) = (bench.newID(), bench.newID())
        try await bench.expect(
            [.applied, .applied],
            [
                bench.insert("person", bor, bench.personFields(bench.ministry, "Bor")),
                bench.insert(
                    "practice", practice,
                    ["organisation": .string(bench.ministry), "title": .string("Mentoring"), "contact": .string(bor)]),
            ], by: bench.member(bench.ministry))
    }

    @Test(arguments: StoreKind.allCases)
    func aReferenceToARecordInsertedLaterInTheBatchIsRejected(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, exchange) = (bench.newID(), bench.newID())
        let results = try await bench.expect(
            [.rejected, .applied],
            [
                bench.insert(
                    "exchange", exchange, bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company)),
                bench.insert("person", ana, bench.personFields(bench.ministry, "Ana")),
            ], by: bench.member(bench.ministry))
        #expect(results[0].reason == "reference:person" && results[0].version == nil)
        #expect(try await bench.record(exchange)?.record == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aReferenceToAnInsertRejectedEarlierInTheBatchIsRejected(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (round, challenge) = (bench.newID(), bench.newID())
        let results = try await bench.expect(
            [.rejected, .rejected],
            [
                bench.insert("round", round, ["title": .string("no number")]),
                bench.insert(
                    "challenge", challenge,
                    ["round": .string(round), "title": .string("Open data"), "proposer": .string(bench.company)]),
            ], by: bench.coordinator)
        #expect(results.map(\.reason) == ["check:number", "reference:round"])
    }

    @Test(arguments: StoreKind.allCases)
    func aDeleteEarlierInTheBatchIsSeenByALaterReference(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let bor = try await bench.person(of: bench.ministry, "Bor")
        // Deleted, then named by an exchange: the exchange refers to no live record.
        let refused = try await bench.expect(
            [.applied, .rejected],
            [
                bench.delete("person", bor, base: 1),
                bench.insert(
                    "exchange", bench.newID(),
                    bench.exchangeFields(person: bor, home: bench.ministry, host: bench.company)),
            ], by: ministry)
        #expect(refused[0].version == 2 && refused[1].reason == "reference:person")
        // Named by an exchange, then deleted: the person is referenced.
        let ana = try await bench.person(of: bench.ministry, "Ana")
        let exchange = bench.newID()
        let referenced = try await bench.expect(
            [.applied, .rejected],
            [
                bench.insert(
                    "exchange", exchange, bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company)),
                bench.delete("person", ana, base: 1),
            ], by: ministry)
        #expect(referenced[1].reason == "referenced" && referenced[1].version == 1)
        // The exchange deleted, then the person: nothing refers to her any more.
        try await bench.expect(
            [.applied, .applied], [bench.delete("exchange", exchange, base: 1), bench.delete("person", ana, base: 1)],
            by: ministry)
        #expect(try await bench.record(ana)?.isDeleted == true)
    }

    // MARK: - Unique values

    @Test(arguments: StoreKind.allCases)
    func twoInsertsOfTheSameUniqueValueInOneBatch(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (first, second) = (bench.newID(), bench.newID())
        let head = try await bench.store.headSeq()
        let results = try await bench.expect(
            [.applied, .rejected],
            [bench.insert("round", first, ["number": .int(2)]), bench.insert("round", second, ["number": .int(2)])],
            by: bench.coordinator)
        #expect(results[1].reason == "unique:number" && results[1].version == nil)
        expectGapFree(results, after: head)
        // The batch's own first insert and the round made before both hold their numbers.
        let taken = try await bench.expect(
            [.rejected, .rejected],
            [
                bench.insert("round", bench.newID(), ["number": .int(1)]),
                bench.update("round", second, base: 0, ["number": .int(3)]),
            ],
            by: bench.coordinator)
        #expect(taken.map(\.reason) == ["unique:number", "missing"])
    }

    @Test(arguments: StoreKind.allCases)
    func aUniqueValueFreedEarlierInTheBatchIsFree(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (second, third, fourth) = (bench.newID(), bench.newID(), bench.newID())
        try await bench.expect([.applied], [bench.insert("round", second, ["number": .int(2)])], by: bench.coordinator)
        // Round 2 becomes 5, and another takes 2; round 1 is deleted and its number taken again.
        let results = try await bench.expect(
            [.applied, .applied, .applied, .applied, .rejected],
            [
                bench.update("round", second, base: 1, ["number": .int(5)]),
                bench.insert("round", third, ["number": .int(2)]),
                bench.delete("round", bench.round, base: 1),
                bench.insert("round", fourth, ["number": .int(1)]),
                bench.update("round", third, base: 1, ["number": .int(5)]),
            ], by: bench.coordinator)
        #expect(results.last?.reason == "unique:number" && results.last?.version == 1)
        #expect(try await bench.record(second)?.record?["number"] == .int(5))
        #expect(try await bench.record(third)?.record?["number"] == .int(2))
        #expect(try await bench.record(fourth)?.record?["number"] == .int(1))
    }

    @Test(arguments: StoreKind.allCases)
    func aUniqueCollisionAcrossPushesIsRejectedWithTheField(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        try await bench.expect(
            [.applied], [bench.update("organisation", bench.ministry, base: 1, ["registration_id": .string("SI-1")])],
            by: bench.member(bench.ministry))
        let second = try await bench.expect(
            [.rejected], [bench.update("organisation", bench.company, base: 1, ["registration_id": .string("SI-1")])],
            by: bench.member(bench.company))
        #expect(second[0].reason == "unique:registration_id" && second[0].version == 1)
        // Unset values are not unique: both may have none.
        try await bench.expect(
            [.applied], [bench.update("organisation", bench.company, base: 1, ["registration_id": .null])],
            by: bench.member(bench.company))
    }

    // MARK: - Change ids

    @Test(arguments: StoreKind.allCases)
    func theSameChangeTwiceInOneBatchIsADuplicateTheSecondTime(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let ana = try await bench.person(of: bench.ministry, "Ana")
        let edit = bench.update("person", ana, base: 1, ["title": .string("Dr")])
        let refused = bench.update("person", ana, base: 1, ["full_name": .null])
        let next = bench.update("person", ana, base: 2, ["email": .string("ana@gov.example")])
        let head = try await bench.store.headSeq()
        let results = try await bench.expect(
            [.applied, .duplicate, .rejected, .duplicate, .applied], [edit, edit, refused, refused, next], by: ministry)
        #expect(results.map(\.seq) == [head + 1, head + 1, head + 2, head + 2, head + 3])
        #expect(results.map(\.version) == [2, 2, 2, 2, 3])
        #expect(results.map(\.reason) == [nil, nil, "check:full_name", "check:full_name", nil])
        expectGapFree(results, after: head)
        #expect(try await bench.store.headSeq() == head + 3, "each change logged once")
        let item = try #require(try await bench.record(ana))
        #expect(item.version == 3 && item.record?["title"] == .string("Dr"))
    }

    /// A change refused for its signature is kept as evidence but does not take its change id:
    /// the genuine change under the same id, later in the batch, still applies.
    @Test(arguments: StoreKind.allCases)
    func aForgeryEarlierInTheBatchDoesNotTakeTheGenuineChangesID(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let device = bench.deviceID("d", for: ministry)
        let change = bench.update("organisation", bench.ministry, base: 1, ["web": .string("https://gov.example")])
        let genuine = TestDevices.shared.signed(change, as: device)
        var forged = change
        forged.device = device
        forged.fields = ["web": .string("https://forged.example")]
        forged = forged.signed(with: SigningKey())
        let head = try await bench.store.headSeq()
        let results = try await bench.store.push([forged, genuine, genuine, forged], by: ministry, now: bench.now)
        #expect(results.map(\.status) == [.rejected, .applied, .duplicate, .duplicate])
        #expect(results.map(\.seq) == [head + 1, head + 2, head + 2, head + 2])
        #expect(results[0].reason == "signature")
        #expect(try await bench.record(bench.ministry)?.record?["web"] == .string("https://gov.example"))
        #expect(try await bench.store.verify().failure == nil)
    }

    // MARK: - One record, several changes

    @Test(arguments: StoreKind.allCases)
    func anInsertThenUpdatesOfTheSameRecordInOneBatch(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let ana = bench.newID()
        let head = try await bench.store.headSeq()
        let results = try await bench.expect(
            [.applied, .applied, .applied, .merged, .merged],
            [
                bench.insert("person", ana, bench.personFields(bench.ministry, "Ana")),
                bench.update("person", ana, base: 1, ["title": .string("Dr")]),
                bench.update("person", ana, base: 2, ["email": .string("ana@gov.example")]),
                // Another device of the ministry, which had seen only the insert.
                bench.update("person", ana, base: 1, ["phone": .string("555")], device: "d2"),
                bench.update("person", ana, base: 1, ["title": .string("Prof")], device: "d2"),
            ], by: ministry)
        #expect(results.map(\.version) == [1, 2, 3, 4, 5])
        expectGapFree(results, after: head)
        let item = try #require(try await bench.record(ana))
        #expect(item.version == 5)
        let record = try #require(item.record)
        #expect(record["organisation"] == .string(bench.ministry) && record["full_name"] == .string("Ana"))
        #expect(record["title"] == .string("Prof") && record["email"] == .string("ana@gov.example"))
        #expect(record["phone"] == .string("555"))
        let last = try #require(results.last)
        let entry = try #require(try await bench.entry(of: last.changeID))
        let outcome = try entry.parsedOutcome
        // Personal values: the history commits to them; a coordinator's history line carries
        // the values beside it (SPEC §8).
        let conflict = try #require(outcome.conflicts.first)
        #expect(outcome.conflicts.count == 1 && conflict.field == "title" && conflict.rule == .lww)
        let line = try #require(
            try await bench.store.history(since: entry.seq - 1, limit: 1, for: bench.coordinator).first)
        let values = try Openings(json: #require(try JSONValue.parse(line.line)[LogEntry.valuesMember]))
        #expect(Sealing.open(conflict.kept, with: values) == .string("Prof"))
        #expect(Sealing.open(conflict.lost, with: values) == .string("Dr"))
        #expect(!line.line.contains("Prof") || Commitment.hex(in: conflict.kept) != nil)
    }

    @Test(arguments: StoreKind.allCases)
    func anInsertThenADeleteInOneBatchLeavesADeletedRecord(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let round = bench.newID()
        let results = try await bench.expect(
            [.applied, .applied, .rejected, .rejected, .rejected],
            [
                bench.insert("round", round, ["number": .int(2)]),
                bench.delete("round", round, base: 1),
                bench.update("round", round, base: 2, ["title": .string("Autumn")]),
                bench.delete("round", round, base: 2),
                bench.insert("round", round, ["number": .int(3)]),
            ], by: bench.coordinator)
        #expect(results.map(\.version) == [1, 2, 2, 2, 2])
        #expect(results.dropFirst(2).map(\.reason) == ["deleted", "deleted", "deleted"])
        // Its number is free again.
        try await bench.expect(
            [.applied], [bench.insert("round", bench.newID(), ["number": .int(2)])], by: bench.coordinator)
        let item = try #require(try await bench.record(round))
        #expect(item.isDeleted && item.version == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func aRejectedChangeInTheMiddleStopsNothingAfterIt(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let (ana, bor) = (bench.newID(), bench.newID())
        let head = try await bench.store.headSeq()
        let results = try await bench.expect(
            [.applied, .rejected, .applied, .rejected, .applied],
            [
                bench.insert("person", ana, bench.personFields(bench.ministry, "Ana")),
                bench.insert("person", bench.newID(), bench.personFields(bench.company, "Not ours")),
                bench.insert("person", bor, bench.personFields(bench.ministry, "Bor")),
                bench.update("person", ana, base: 1, ["shoe_size": .int(40)]),
                bench.update("person", ana, base: 1, ["title": .string("Dr")]),
            ], by: ministry)
        #expect(results.map(\.reason) == [nil, "not_permitted", nil, "schema:field:shoe_size", nil])
        #expect(results.map(\.version) == [1, nil, 1, 1, 2])
        expectGapFree(results, after: head)
    }

    @Test(arguments: StoreKind.allCases)
    func twoDevicesOnAManualFieldInOneBatchOpenOneConflict(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, exchange) = try await bench.anaOnAnExchange()
        let results = try await bench.expect(
            [.applied, .conflict],
            [
                bench.update("exchange", exchange, base: 1, ["starts_on": .string("2026-05-05")]),
                bench.update("exchange", exchange, base: 1, ["starts_on": .string("2026-05-06")], device: "d2"),
            ], by: bench.member(bench.ministry))
        #expect(results.map(\.version) == [2, 3])
        let open = try await bench.conflicts()
        #expect(open.count == 1)
        #expect(open.first?.current == .string("2026-05-05") && open.first?.incoming == .string("2026-05-06"))
    }

    // MARK: - Visibility

    @Test(arguments: StoreKind.allCases)
    func aPersonAndHerExchangeInOneBatchReachTheHostTogether(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let company = bench.member(bench.company)
        let cursor = try await bench.pullAll(company).next
        let (ana, exchange) = (bench.newID(), bench.newID())
        try await bench.expect(
            [.applied, .applied],
            [
                bench.insert("person", ana, bench.personFields(bench.ministry, "Ana")),
                bench.insert(
                    "exchange", exchange, bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company)),
            ], by: bench.member(bench.ministry))
        let after = try await bench.pullAll(company, since: cursor)
        #expect(Set(after.items.map(\.recordID)) == [ana, exchange])
        let rows = try await bench.replica(of: company)
        #expect(rows[ana]?["full_name"] == .string("Ana") && rows[exchange]?["person"] == .string(ana))
        #expect(try await bench.replica(of: bench.member(bench.town))[ana] == nil)
    }

    /// An exchange that came and went since the host's cursor, in one push or in two: the host
    /// never receives the values of the person it named.
    @Test(arguments: StoreKind.allCases, [true, false])
    func anExchangeThatCameAndWentShowsTheHostNoPerson(kind: StoreKind, inOneBatch: Bool) async throws {
        let bench = try await StoreBench(kind)
        let company = bench.member(bench.company)
        let ana = try await bench.person(of: bench.ministry, "Ana")
        let cursor = try await bench.pullAll(company).next
        let exchange = bench.newID()
        let changes = [
            bench.insert(
                "exchange", exchange, bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company)),
            bench.delete("exchange", exchange, base: 1),
        ]
        let batches = inOneBatch ? [changes] : changes.map { [$0] }
        var statuses: [Outcome.Status] = []
        for batch in batches { statuses += try await bench.push(batch, by: bench.member(bench.ministry)).map(\.status) }
        #expect(statuses == [.applied, .applied])
        let after = try await bench.pullAll(company, since: cursor)
        #expect(!after.items.contains { $0.recordID == ana && $0.record != nil }, "no personal data in transit")
        #expect(try await bench.replica(of: company)[ana] == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func anExchangeMovedToAnotherHostInTheSameBatchReachesOnlyTheNewHost(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ana = try await bench.person(of: bench.ministry, "Ana")
        let exchange = bench.newID()
        try await bench.expect(
            [.applied, .applied],
            [
                bench.insert(
                    "exchange", exchange, bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company)),
                bench.update("exchange", exchange, base: 1, ["host": .string(bench.town)]),
            ], by: bench.member(bench.ministry))
        let old = try await bench.replica(of: bench.member(bench.company))
        #expect(old[ana] == nil && old[exchange] == nil)
        let new = try await bench.replica(of: bench.member(bench.town))
        #expect(new[ana]?["full_name"] == .string("Ana") && new[exchange]?["host"] == .string(bench.town))
    }
}
