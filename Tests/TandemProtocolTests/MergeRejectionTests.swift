import TandemProtocol
import Testing

// SPEC §5: every reason a change is rejected. A rejected change leaves the record as it was:
// the result has no state, and the outcome carries the reason and the record's current version.

/// Applies `change` to `store` (a fresh partnership store by default) and checks that it was rejected
/// with `reason` and changed nothing.
private func expectRejected(
    _ change: Change, by author: Author, reason: String, now: Int64 = mergeNow,
    in store: MemoryStore = partnershipStore(), sourceLocation: SourceLocation = #_sourceLocation
) {
    var store = store
    let before = store.records
    let result = store.apply(change, by: author, now: now)
    #expect(result.outcome.status == .rejected, "\(result.outcome)", sourceLocation: sourceLocation)
    #expect(result.outcome.reason?.rawValue == reason, sourceLocation: sourceLocation)
    #expect(result.state == nil, sourceLocation: sourceLocation)
    #expect(result.outcome.applied.isEmpty, sourceLocation: sourceLocation)
    #expect(result.outcome.conflicts.isEmpty, sourceLocation: sourceLocation)
    #expect(result.openConflicts.isEmpty, sourceLocation: sourceLocation)
    #expect(result.outcome.version == before[change.recordID]?.version, sourceLocation: sourceLocation)
    #expect(store.records == before, sourceLocation: sourceLocation)
}

// MARK: - schema

@Test(arguments: ["exchanges", "Exchange", "", "tandem_log"])
func aChangeToAnUnknownTableIsRejected(table: String) {
    for op in Operation.allCases {
        expectRejected(
            makeChange(
                op, table, MergeIDs.exchange, op == .delete ? [:] : ["goals": .string("x")],
                base: op == .insert ? 0 : 1, at: 10, by: .coordinator),
            by: .coordinator, reason: "schema:table")
    }
}

@Test func aChangeNamingTheWrongTableForItsRecordIsRejected() {
    // The id is an exchange's; the change says it is a practice.
    expectRejected(
        updateChange("practice", MergeIDs.exchange, ["topic": .string("x")], base: 1, at: 10, by: .coordinator),
        by: .coordinator, reason: "schema:table")
    expectRejected(
        insertChange(
            "practice", MergeIDs.exchange, ["organisation": .string(MergeIDs.orgA), "title": .string("t")],
            by: .coordinator),
        by: .coordinator, reason: "schema:table")
}

@Test(arguments: ["colour", "id", "Goals", "_version"])
func aChangeWithAnUnknownFieldIsRejectedNamingIt(field: String) {
    expectRejected(
        updateChange(
            "exchange", MergeIDs.exchange, ["goals": .string("ok"), field: .string("x")], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "schema:field:\(field)")
    expectRejected(
        insertChange("exchange", testID(0x3002), exchangeFields([field: .string("x")]), by: .memberA),
        by: .memberA, reason: "schema:field:\(field)")
}

@Test(arguments: [
    ("exchange", MergeIDs.exchange, "starts_on", JSONValue.string("2026-02-30")),
    ("exchange", MergeIDs.exchange, "starts_on", .string("04/05/2026")),
    ("exchange", MergeIDs.exchange, "ends_on", .int(20_260_508)),
    ("exchange", MergeIDs.exchange, "status", .string("maybe")),
    ("exchange", MergeIDs.exchange, "status", .string("Draft")),
    ("exchange", MergeIDs.exchange, "goals", .bool(true)),
    ("exchange", MergeIDs.exchange, "goals", .int(3)),
    ("exchange", MergeIDs.exchange, "home", .int(5)),
    ("exchange", MergeIDs.exchange, "notes", .array([.string("a")])),
    ("exchange", MergeIDs.exchange, "notes", .object([])),
    ("round", MergeIDs.round, "number", .string("1")),
    ("round", MergeIDs.round, "number", .double(1.5)),
    ("round", MergeIDs.round, "number", .bool(true)),
    ("practice", MergeIDs.practice, "tags", .string("a;b")),
    ("practice", MergeIDs.practice, "tags", .array([.int(1)])),
    ("practice", MergeIDs.practice, "tags", .array([.null])),
    ("organisation", MergeIDs.orgA, "sector", .string("church")),
    ("organisation", MergeIDs.orgA, "name", .double(2.5)),
])
func aValueOfTheWrongTypeIsRejectedNamingTheField(table: String, id: String, field: String, value: JSONValue) {
    expectRejected(
        updateChange(table, id, [field: value], base: 1, at: 10, by: .coordinator), by: .coordinator,
        reason: "schema:type:\(field)")
}

@Test(arguments: [
    ("peak", JSONValue.string("high")), ("peak", .bool(false)), ("seen_at", .string("2026-05-09 10:00:00")),
    ("seen_at", .string("2026-05-09T10:00:00+02:00")), ("level", .int(1)), ("high", .double(2.5)),
])
func aValueOfTheWrongTypeIsRejectedInACustomSchema(field: String, value: JSONValue) {
    expectRejected(
        updateChange("item", MergeIDs.item, [field: value], base: 1, at: 10, by: .memberA), by: .memberA,
        reason: "schema:type:\(field)", in: labStore())
}

@Test(arguments: [
    "", "x", "0193A1B2-C3D4-7E5F-8A6B-00000000000A", "{0193a1b2-c3d4-7e5f-8a6b-00000000000a}",
    "0193a1b2c3d47e5f8a6b00000000000a", "0193a1b2-c3d4-7e5f-8a6b-00000000000g", " 0193a1b2-c3d4-7e5f-8a6b-00000000000a",
])
func aMalformedRecordIDIsRejected(id: String) {
    expectRejected(
        insertChange("organisation", id, ["name": .string("X"), "sector": .string("ngo")], by: .coordinator),
        by: .coordinator, reason: "schema:record_id")
    expectRejected(
        updateChange("organisation", id, ["name": .string("X")], base: 1, at: 10, by: .coordinator), by: .coordinator,
        reason: "schema:record_id")
}

@Test(arguments: [
    "", "soon", "001763812345678.00000", "001763812345678.00000.", "1763812345678.00000.d", "001763812345678.0.d",
    "2026-05-09T10:00:00Z",
])
func aMalformedHLCIsRejected(hlc: String) {
    var change = updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .memberA)
    change.hlc = hlc
    expectRejected(change, by: .memberA, reason: "schema:hlc")
}

// MARK: - clock

@Test func anHLCMoreThanFiveMinutesAheadIsRejected() {
    var change = updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .memberA)
    change.hlc = HLC(milliseconds: mergeNow + 5 * 60 * 1000 + 1, counter: 0, device: "dev-a").description
    expectRejected(change, by: .memberA, reason: "clock")
    change.hlc = HLC(milliseconds: mergeNow + 24 * 3_600_000, counter: 0, device: "dev-a").description
    expectRejected(change, by: .memberA, reason: "clock")
}

@Test func anHLCUpToFiveMinutesAheadOrLongAgoIsAccepted() {
    for milliseconds in [mergeNow + 5 * 60 * 1000, mergeNow + 1, mergeNow, 0] {
        var store = partnershipStore()
        var change = updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .memberA)
        change.hlc = HLC(milliseconds: milliseconds, counter: 99_999, device: "dev-a").description
        #expect(store.apply(change, by: .memberA).outcome.status == .applied, "\(change.hlc)")
    }
}

@Test func theClockLimitIsMeasuredFromTheServersNow() {
    let change = updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .memberA)
    let time = mergeEpoch + 10
    expectRejected(change, by: .memberA, reason: "clock", now: time - 5 * 60 * 1000 - 1)
    var store = partnershipStore()
    #expect(store.apply(change, by: .memberA, now: time - 5 * 60 * 1000).outcome.status == .applied)
}

// MARK: - references

@Test(arguments: ["round", "person", "home"])
func anInsertReferringToNoRecordIsRejected(field: String) {
    expectRejected(
        insertChange("exchange", testID(0x3002), exchangeFields([field: .string(MergeIDs.nobody)]), by: .coordinator),
        by: .coordinator, reason: "reference:\(field)")
}

@Test func anUpdateReferringToNoRecordIsRejected() {
    expectRejected(
        updateChange("exchange", MergeIDs.exchange, ["host": .string(MergeIDs.nobody)], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "reference:host")
    expectRejected(
        updateChange(
            "challenge", MergeIDs.challenge, ["mentor": .string(MergeIDs.nobody)], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "reference:mentor")
}

@Test func aReferenceToARecordOfAnotherTableIsRejected() {
    // personB is a live record, but not an organisation.
    expectRejected(
        updateChange("exchange", MergeIDs.exchange, ["host": .string(MergeIDs.personB)], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "reference:host")
}

@Test func aReferenceToADeletedRecordIsRejected() {
    var store = partnershipStore()
    #expect(
        store.apply(deleteChange("person", MergeIDs.personB, base: 1, at: 5, by: .memberB), by: .memberB).outcome.status
            == .applied)
    expectRejected(
        updateChange(
            "exchange", MergeIDs.exchange, ["person": .string(MergeIDs.personB)], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "reference:person", in: store)
}

@Test func aReferenceToALiveRecordIsAccepted() throws {
    var store = partnershipStore()
    let result = store.apply(
        updateChange(
            "challenge", MergeIDs.challenge, ["mentor": .string(MergeIDs.personA)], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .applied)
    #expect(try #require(result.state)["mentor"] == .string(MergeIDs.personA))
}

@Test func aMalformedReferenceIsRejected() {
    var store = partnershipStore()
    let result = store.apply(
        updateChange("challenge", MergeIDs.challenge, ["mentor": .string("not-an-id")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .rejected)
    #expect(result.state == nil)
}

// MARK: - unique

@Test func anInsertTakingAUniqueValueIsRejected() {
    expectRejected(
        insertChange("round", testID(0x1002), ["number": .int(1)], by: .coordinator), by: .coordinator,
        reason: "unique:number")
    expectRejected(
        insertChange(
            "organisation", testID(0xD),
            ["name": .string("D"), "sector": .string("ngo"), "registration_id": .string("REG-B")],
            by: .coordinator),
        by: .coordinator, reason: "unique:registration_id")
}

@Test func anUpdateTakingAUniqueValueIsRejected() {
    expectRejected(
        updateChange(
            "organisation", MergeIDs.orgA, ["registration_id": .string("REG-B")], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "unique:registration_id")
}

@Test func aRecordMayKeepOrRewriteItsOwnUniqueValue() {
    var store = partnershipStore()
    let result = store.apply(
        updateChange(
            "organisation", MergeIDs.orgB, ["registration_id": .string("REG-B"), "name": .string("Acme Ltd")], base: 1,
            at: 10, by: .memberB),
        by: .memberB)
    #expect(result.outcome.status == .applied)
    #expect(
        store.apply(
            updateChange("round", MergeIDs.round, ["number": .int(1)], base: 1, at: 10, by: .coordinator),
            by: .coordinator
        )
        .outcome.status == .applied)
}

@Test func aUniqueValueOfADeletedRecordIsFreeAgain() {
    var store = partnershipStore()
    store.seed("round", testID(0x1002), ["number": .int(2)])
    #expect(
        store.apply(deleteChange("round", testID(0x1002), base: 1, at: 10, by: .coordinator), by: .coordinator).outcome
            .status == .applied)
    let result = store.apply(
        insertChange("round", testID(0x1003), ["number": .int(2)], at: 20, by: .coordinator), by: .coordinator)
    #expect(result.outcome.status == .applied)
}

@Test func nullIsNeverAUniqueValue() {
    var store = partnershipStore()
    #expect(
        store.apply(
            insertChange(
                "organisation", testID(0xD), ["name": .string("D"), "sector": .string("ngo")], by: .coordinator),
            by: .coordinator
        )
        .outcome.status == .applied)
    #expect(
        store.apply(
            insertChange(
                "organisation", testID(0xE), ["name": .string("E"), "sector": .string("ngo")], by: .coordinator),
            by: .coordinator
        )
        .outcome.status == .applied)
}

// MARK: - permission

@Test func aMemberMayNotWriteAnExchangeItIsNotPartOf() {
    // C may not read the exchange either, so an update or delete of it is answered as missing
    // (ReferenceVisibilityTests); an insert of an exchange for others is not permitted.
    for change in [
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .memberC),
        deleteChange("exchange", MergeIDs.exchange, base: 1, at: 10, by: .memberC),
    ] {
        var store = partnershipStore()
        let result = store.apply(change, by: .memberC)
        #expect(result.state == nil && result.outcome.reason == "missing" && result.outcome.version == nil)
    }
    expectRejected(
        insertChange("exchange", testID(0x3002), exchangeFields(), by: .memberC), by: .memberC, reason: "not_permitted")
}

@Test func bothTheHomeAndTheHostMayWriteAnExchange() {
    for author in [Author.memberA, .memberA2, .memberB] {
        var store = partnershipStore()
        let result = store.apply(
            updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: author),
            by: author)
        #expect(result.outcome.status == .applied, "\(author)")
    }
}

@Test func aMemberMayNotMoveAnExchangeAwayFromItsOrganisation() {
    // B is the host: making C the host leaves B out.
    expectRejected(
        updateChange("exchange", MergeIDs.exchange, ["host": .string(MergeIDs.orgC)], base: 1, at: 10, by: .memberB),
        by: .memberB, reason: "not_permitted")
    // A is the home: A may hand the hosting to C, as it stays home.
    var store = partnershipStore()
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["host": .string(MergeIDs.orgC)], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .applied)
}

@Test func aMemberMayNotInsertAnExchangeForOthers() {
    expectRejected(
        insertChange(
            "exchange", testID(0x3002),
            exchangeFields(["home": .string(MergeIDs.orgB), "host": .string(MergeIDs.orgC)]),
            by: .memberA),
        by: .memberA, reason: "not_permitted")
}

@Test func aMemberMayWriteOnlyItsOwnOrganisationRecord() {
    expectRejected(
        updateChange(
            "organisation", MergeIDs.orgB, ["web": .string("https://a.example")], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "not_permitted")
    expectRejected(
        insertChange("organisation", testID(0xD), ["name": .string("D"), "sector": .string("ngo")], by: .memberA),
        by: .memberA, reason: "not_permitted")
    var store = partnershipStore()
    let result = store.apply(
        updateChange(
            "organisation", MergeIDs.orgA, ["web": .string("https://a.example")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .applied)
}

@Test func onlyCoordinatorsWriteRounds() {
    expectRejected(
        insertChange("round", testID(0x1002), ["number": .int(2)], by: .memberA), by: .memberA, reason: "not_permitted")
    expectRejected(
        updateChange("round", MergeIDs.round, ["status": .string("open")], base: 1, at: 10, by: .memberA), by: .memberA,
        reason: "not_permitted")
    var store = partnershipStore()
    #expect(
        store.apply(
            updateChange("round", MergeIDs.round, ["status": .string("open")], base: 1, at: 10, by: .coordinator),
            by: .coordinator
        )
        .outcome.status == .applied)
}

@Test func aMemberMayNotWriteAnotherOrganisationsRecords() {
    expectRejected(
        updateChange("person", MergeIDs.personA, ["phone": .string("1")], base: 1, at: 10, by: .memberB), by: .memberB,
        reason: "not_permitted")
    expectRejected(
        updateChange("practice", MergeIDs.practice, ["topic": .string("x")], base: 1, at: 10, by: .memberB),
        by: .memberB,
        reason: "not_permitted")
    expectRejected(
        deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: .memberB), by: .memberB,
        reason: "not_permitted")
    expectRejected(
        updateChange("challenge", MergeIDs.challenge, ["status": .string("selected")], base: 1, at: 10, by: .memberB),
        by: .memberB, reason: "not_permitted")
    // Nor hand its own record to another organisation.
    expectRejected(
        updateChange(
            "practice", MergeIDs.practice, ["organisation": .string(MergeIDs.orgB)], base: 1, at: 10, by: .memberA),
        by: .memberA, reason: "not_permitted")
}

@Test func auditorsMayNotWriteAnything() {
    expectRejected(
        insertChange("round", testID(0x1002), ["number": .int(2)], by: .auditor), by: .auditor, reason: "not_permitted")
    expectRejected(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .auditor),
        by: .auditor,
        reason: "not_permitted")
    expectRejected(
        deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: .auditor), by: .auditor,
        reason: "not_permitted")
    let auditorOfA = Author(organisation: MergeIDs.orgA, role: .auditor, device: "dev-audit-a")
    expectRejected(
        updateChange("practice", MergeIDs.practice, ["topic": .string("x")], base: 1, at: 10, by: auditorOfA),
        by: auditorOfA, reason: "not_permitted")
}

@Test func coordinatorsAndTheServerMayWriteAnything() {
    for author in [Author.coordinator, .server] {
        var store = partnershipStore()
        let edits: [(table: String, id: String, fields: [String: JSONValue])] = [
            ("exchange", MergeIDs.exchange, ["goals": .string("x")]),
            ("organisation", MergeIDs.orgB, ["web": .string("w")]), ("round", MergeIDs.round, ["title": .string("t")]),
            ("person", MergeIDs.personA, ["phone": .string("1")]),
        ]
        for (table, id, fields) in edits {
            #expect(
                store.apply(updateChange(table, id, fields, base: 1, at: 10, by: author), by: author).outcome.status
                    == .applied)
        }
        #expect(
            store.apply(deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: author), by: author).outcome
                .status == .applied)
    }
}

@Test func aMemberNotOnAnItemMayNotWriteItInACustomSchema() {
    expectRejected(
        updateChange("item", MergeIDs.item, ["label": .string("x")], base: 1, at: 10, by: .memberC), by: .memberC,
        reason: "not_permitted", in: labStore())
    var store = labStore()
    #expect(
        store.apply(
            updateChange("item", MergeIDs.item, ["label": .string("x")], base: 1, at: 10, by: .memberB), by: .memberB
        )
        .outcome.status == .applied)
}

// MARK: - missing

@Test func anUpdateOrDeleteOfAnUnknownRecordIsRejectedMissing() {
    expectRejected(
        updateChange("exchange", MergeIDs.nobody, ["goals": .string("x")], base: 1, at: 10, by: .coordinator),
        by: .coordinator, reason: "missing")
    expectRejected(
        deleteChange("exchange", MergeIDs.nobody, base: 1, at: 10, by: .coordinator), by: .coordinator,
        reason: "missing")
}

@Test func anUpdateOnAVersionTheRecordNeverHadIsRejected() {
    var store = partnershipStore()
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 7, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .rejected)
    #expect(result.state == nil)
    #expect(store.version(MergeIDs.exchange) == 1)
}
