import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// What a push answers (SPEC §5): one result a change, in order, each with its status, seq,
/// version and reason; duplicates; who may write what; tokens and organisations.
@Suite struct StoreSuitePushTests {
    @Test(arguments: StoreKind.allCases)
    func anInsertIsAppliedAtVersionOneWithTheNextSeq(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let head = try await bench.store.headSeq()
        let id = bench.newID()
        let results = try await bench.expect(
            [.applied], [bench.insert("round", id, ["number": .int(2), "title": .string("Spring")])],
            by: bench.coordinator)
        #expect(results[0].seq == head + 1 && results[0].version == 1 && results[0].reason == nil)
        #expect(try await bench.store.headSeq() == head + 1)
        let item = try #require(try await bench.record(id))
        #expect(item.version == 1 && item.record?["title"] == .string("Spring"))
        #expect(item.record?["status"] == .string("planned"), "the schema's default is filled in")
    }

    @Test(arguments: StoreKind.allCases)
    func twoOrganisationsEditingOneExchangeOfflineMergeFieldByField(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, id) = try await bench.anaOnAnExchange()
        let home = try await bench.expect(
            [.applied], [bench.update("exchange", id, base: 1, ["goals": .string("learn")])],
            by: bench.member(bench.ministry))
        let host = try await bench.expect(
            [.merged], [bench.update("exchange", id, base: 1, ["notes": .string("desk ready")], offset: 5)],
            by: bench.member(bench.company))
        #expect(home[0].version == 2 && host[0].version == 3 && host[0].seq == home[0].seq.map { $0 + 1 })
        let state = try #require(try await bench.record(id))
        #expect(state.version == 3)
        #expect(state.record?["goals"] == .string("learn") && state.record?["notes"] == .string("desk ready"))
        let merged = try #require(host.first)
        let outcome = try #require(try await bench.entry(of: merged.changeID)).parsedOutcome
        #expect(outcome == Outcome(status: .merged, version: 3, applied: ["notes"]))
    }

    @Test(arguments: StoreKind.allCases)
    func aChangeThatLosesAFieldIsAConflictAndTheLoserIsLogged(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, id) = try await bench.anaOnAnExchange()
        let later = bench.update("exchange", id, base: 1, ["status": .string("confirmed")], offset: 50)
        let earlier = bench.update(
            "exchange", id, base: 1, ["status": .string("cancelled"), "goals": .string("g")], offset: 10)
        try await bench.expect([.applied], [later], by: bench.member(bench.ministry))
        let result = try await bench.expect([.conflict], [earlier], by: bench.member(bench.company))
        #expect(result[0].version == 3, "the change's other field applied")
        let state = try #require(try await bench.record(id)?.record)
        #expect(state["status"] == .string("confirmed") && state["goals"] == .string("g"))
        let outcome = try #require(try await bench.entry(of: earlier.changeID)).parsedOutcome
        #expect(outcome.applied == ["goals"])
        #expect(
            outcome.conflicts == [
                FieldConflict(field: "status", rule: .lww, kept: .string("confirmed"), lost: .string("cancelled"))
            ])
    }

    /// Every rejection names its reason, takes the next seq, carries the record's version (when
    /// the author may know it) and changes nothing.
    @Test(arguments: StoreKind.allCases)
    func rejectedChangesNameTheirReasonTakeASeqAndChangeNothing(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let ministry = bench.member(bench.ministry)
        let tooLate = HLC(milliseconds: bench.now + 6 * 60_000, counter: 0, device: "d")
        var ahead = bench.update("person", ana, base: 1, ["title": .string("Dr")])
        ahead.hlc = tooLate.description
        let cases: [(Change, String, Int64?)] = [
            (bench.update("nope", ana, base: 1, ["x": .int(1)]), "schema:table", 1),
            (bench.update("person", ana, base: 1, ["colour": .string("red")]), "schema:field:colour", 1),
            (bench.update("person", ana, base: 1, ["full_name": .int(7)]), "schema:type:full_name", 1),
            (ahead, "clock", 1),
            (bench.update("person", bench.newID(), base: 1, ["title": .string("Dr")]), "missing", nil),
            (bench.insert("person", ana, bench.personFields(bench.ministry, "Ana again")), "exists", 1),
            (bench.update("person", ana, base: 1, ["full_name": .null]), "check:full_name", 1),
            (bench.update("exchange", exchange, base: 1, ["ends_on": .string("2026-05-01")]), "check:ends_on", 1),
            (bench.update("person", ana, base: 7, ["title": .string("Dr")]), "check:base_version", 1),
            (bench.update("organisation", bench.company, base: 1, ["web": .string("x")]), "not_permitted", 1),
        ]
        let head = try await bench.store.headSeq()
        let results = try await bench.push(cases.map(\.0), by: ministry)
        #expect(results.map(\.changeID) == cases.map(\.0.changeID), "one result a change, in order")
        #expect(results.map(\.reason?.rawValue) == cases.map(\.1))
        #expect(results.allSatisfy { $0.status == .rejected })
        #expect(results.map(\.seq) == (1...Int64(cases.count)).map { head + $0 }, "every one is logged, gap-free")
        #expect(results.map(\.version) == cases.map(\.2))
        for (result, (change, _, _)) in zip(results, cases) {
            let outcome = try #require(try await bench.entry(of: change.changeID)).parsedOutcome
            #expect(outcome.status == .rejected && outcome.reason == result.reason)
        }
        #expect(try await bench.record(ana)?.version == 1)
        #expect(try await bench.record(exchange)?.version == 1)
        #expect((try await bench.record(bench.company)?.record?["web"] ?? .null) == .null)
    }

    @Test(arguments: StoreKind.allCases)
    func aMemberCannotWriteAnotherOrganisationsRecordAndAuditorsWriteNothing(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, id) = try await bench.anaOnAnExchange()
        // The town may not read the exchange either: it is answered as missing, without a version.
        let refused = try await bench.expect(
            [.rejected], [bench.update("exchange", id, base: 1, ["notes": .string("mine now")])],
            by: bench.member(bench.town))
        #expect(refused[0].reason == "missing" && refused[0].version == nil)
        // The host may edit it, but not hand it to another organisation.
        let stolen = try await bench.expect(
            [.rejected], [bench.update("exchange", id, base: 1, ["host": .string(bench.town)])],
            by: bench.member(bench.company))
        #expect(stolen[0].reason == "not_permitted" && stolen[0].version == 1)
        // An auditor cannot register a device, so nothing it pushes carries a valid signature.
        let audited = try await bench.expect(
            [.rejected], [bench.update("exchange", id, base: 1, ["notes": .string("x")])], by: bench.auditor)
        #expect(audited[0].reason == "signature")
        #expect(try await bench.record(id)?.version == 1)
    }

    /// A record a member may not read is answered as one that does not exist (docs/security.md):
    /// no rejection of a change to it carries its version, whatever else is wrong with the change.
    @Test(arguments: StoreKind.allCases)
    func noRejectionTellsAMemberTheVersionOfARecordItCannotRead(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, exchange) = try await bench.anaOnAnExchange()
        var ahead = bench.update("exchange", exchange, base: 1, ["notes": .string("x")])
        ahead.hlc = HLC(milliseconds: bench.now + 6 * 60_000, counter: 0, device: "d").description
        let changes = [
            bench.update("exchange", exchange, base: 1, ["notes": .string("x")]),
            bench.delete("exchange", exchange, base: 1),
            bench.insert("exchange", exchange, bench.exchangeFields(person: ana, home: bench.town, host: bench.town)),
            bench.update("person", ana, base: 1, ["title": .string("Dr")]),
            bench.update("exchange", exchange, base: 1, ["colour": .string("red")]),
            bench.update("exchange", exchange, base: 1, ["starts_on": .int(3)]),
            ahead,
        ]
        let results = try await bench.push(changes, by: bench.member(bench.town))
        #expect(results.allSatisfy { $0.status == .rejected })
        #expect(
            results.map(\.reason) == [
                "missing", "missing", "exists", "missing", "schema:field:colour", "schema:type:starts_on", "clock",
            ])
        // The merge checks the change's own form (table, fields, types, clock) before it asks
        // whether the author may read the record: those reasons are the same for an id that
        // does not exist, and no answer carries the version.
        #expect(results.allSatisfy { $0.version == nil }, "\(results)")
    }

    @Test(arguments: StoreKind.allCases)
    func anAuthorInThePushBodyIsIgnored(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let clock = HLC(milliseconds: bench.now, counter: 0, device: "d")
        let body = """
            {"changes": [{"change_id": "\(UUIDv7Generator.id(at: clock))", "table": "organisation",
              "record_id": "\(bench.ministry)", "op": "update", "fields": {"web": "https://gov.example"},
              "base_version": 1, "hlc": "\(clock)", "device": "d",
              "author": {"organisation": "\(bench.company)", "role": "coordinator"},
              "organisation": "\(bench.company)", "role": "coordinator"}],
             "author": {"organisation": "\(bench.company)", "role": "coordinator"}}
            """
        let request = try PushRequest(json: JSONValue.parse(body))
        let ministry = bench.member(bench.ministry)
        try await bench.expect([.applied], request.changes, by: ministry)
        let entry = try #require(try await bench.entry(of: request.changes[0].changeID))
        #expect(
            entry.author
                == Author(organisation: bench.ministry, role: .member, device: bench.deviceID("d", for: ministry)))
        // A forged role buys nothing: the member still cannot write the company's record.
        let steal = bench.update("organisation", bench.company, base: 1, ["web": .string("https://x.example")])
        #expect(try await bench.push([steal], by: ministry).map(\.reason) == ["not_permitted"])
    }

    /// Pushing a change id again returns its first result as `duplicate`; nothing is applied or
    /// logged twice — whether the first applied or was rejected.
    @Test(arguments: StoreKind.allCases)
    func aRePushedChangeIsADuplicateWithItsFirstSeqVersionAndReason(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, id) = try await bench.anaOnAnExchange()
        let ministry = bench.member(bench.ministry)
        let edit = bench.update("exchange", id, base: 1, ["goals": .string("learn")])
        let refused = bench.update("exchange", id, base: 1, ["ends_on": .string("2026-01-01")])
        let first = try await bench.expect([.applied, .rejected], [edit, refused], by: ministry)
        let head = try await bench.store.headSeq()
        let again = try await bench.expect([.duplicate, .duplicate, .duplicate], [edit, refused, edit], by: ministry)
        #expect(again.map(\.seq) == [first[0].seq, first[1].seq, first[0].seq])
        #expect(again.map(\.version) == [2, 2, 2])
        #expect(again.map(\.reason) == [nil, "check:ends_on", nil])
        // The host pushing the same change id gets the same answer: the id is the change.
        #expect(try await bench.push([edit], by: bench.member(bench.company)).map(\.status) == [.duplicate])
        #expect(try await bench.store.headSeq() == head, "nothing logged")
        let entries = try await bench.entries()
        #expect(entries.filter { $0.change["change_id"] == .string(edit.changeID) }.count == 1)
        #expect(try await bench.record(id)?.version == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func pullPagesThroughTheLogWithRecordsAsTheyStand(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (_, id) = try await bench.anaOnAnExchange()
        try await bench.expect(
            [.applied], [bench.update("exchange", id, base: 1, ["goals": .string("g")])],
            by: bench.member(bench.ministry))
        let first = try await bench.store.pull(since: 0, limit: 2, for: bench.coordinator)
        #expect(first.items.count == 2 && first.more && first.next == first.items.last?.seq)
        let rest = try await bench.pullAll(bench.coordinator, since: first.next, limit: 2)
        let items = first.items + rest.items
        // Every entry but the device registrations, in seq order.
        let entries = try await bench.store.history(since: 0, limit: 1000).filter { try !$0.isDeviceRegistration }
        #expect(items.map(\.seq) == entries.map(\.seq))
        let updates = items.filter { $0.recordID == id }
        #expect(updates.count == 2 && updates.allSatisfy { $0.version == 2 && $0.record?["goals"] == .string("g") })
        #expect(rest.next == (try await bench.store.headSeq()))
        let empty = try await bench.store.pull(since: rest.next, limit: 2, for: bench.coordinator)
        #expect(empty.items.isEmpty && !empty.more && empty.next == rest.next)
    }

    @Test(arguments: StoreKind.allCases)
    func tokensAreAuthenticatedAndRevokedAtOnce(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let store = bench.store
        let token = try await store.issueToken(role: .auditor, organisation: nil, now: bench.now)
        #expect(token.hasPrefix("tdm_") && token.count == 52)
        #expect(try await store.authenticate(token: token)?.role == .auditor)
        #expect(try await store.authenticate(token: "tdm_" + String(repeating: "0", count: 48)) == nil)
        #expect(try await store.revoke(token: token, now: bench.now))
        #expect(try await store.authenticate(token: token) == nil)
        #expect(try await store.revoke(token: token, now: bench.now) == false)
        let member = try await store.issueToken(role: .member, organisation: bench.town, now: bench.now)
        #expect(try await store.authenticate(token: member)?.organisation == bench.town)
        let orphan = await #expect(throws: ServerError.self) {
            try await store.issueToken(role: .member, organisation: nil, now: bench.now)
        }
        #expect(orphan?.code == .noOrganisation)
        await #expect(throws: ServerError.self) {
            try await store.issueToken(role: .member, organisation: bench.newID(), now: bench.now)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func organisationsAreAddedByTheServerAsLoggedChanges(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (id, token) = try await bench.store.addOrganisation(name: "School", sector: "education", now: bench.now)
        let item = try #require(try await bench.record(id))
        #expect(item.entry?.author.role == .server && item.entry?.op == .insert)
        #expect(item.record?["name"] == .string("School") && item.record?["sector"] == .string("education"))
        #expect(try await bench.store.authenticate(token: token)?.organisation == id)
        let refused = await #expect(throws: ServerError.self) {
            try await bench.store.addOrganisation(name: "X", sector: "pirate", now: bench.now)
        }
        #expect(refused?.code == .badOrganisation)
        // A removed organisation's tokens stop working.
        try await bench.expect([.applied], [bench.delete("organisation", id, base: 1)], by: bench.coordinator)
        #expect(try await bench.store.authenticate(token: token) == nil)
    }

    /// What the history writes reads back: numbers as RFC 8785 writes them (an integral double
    /// beyond 2^53 has no exponent, `9300000000000000000`) pull and verify as what was pushed.
    @Test(arguments: StoreKind.allCases, [9.3e18, -1e20, 1e21, 0.1, 1e-7, Double.leastNonzeroMagnitude])
    func anyPushedNumberPullsAndVerifies(kind: StoreKind, number: Double) async throws {
        let bench = try await StoreBench(kind)
        let round = bench.insert("round", bench.newID(), ["number": .double(number), "title": .double(number)])
        let results = try await bench.expect([.rejected], [round], by: bench.coordinator)
        #expect(results[0].reason?.rawValue.hasPrefix("schema:type:") == true, "a round's number is an int: \(results)")
        let item = try #require(
            try await bench.pullAll(bench.coordinator).items.first { $0.recordID == round.recordID })
        #expect(item.entry?.fields["number"] == .double(number))
        #expect(try await bench.store.verify().failure == nil)
    }
}
