import TandemProtocol
import Testing

// The programme's rules across records (SPEC §2), declared as schema constraints and decided by
// the merge: at most five selected challenges a round, each with a mentor; exchanges inside their
// round's window; and a change of a round's dates (or a person's employer) that would leave a
// record referring to it outside the rule is refused too.

private let selected: JSONValue = .string("selected")

/// The partnership world, its round open from 15 April to 30 September 2026.
private func roundStore() -> MemoryStore {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "round", MergeIDs.round, ["opens_on": .string("2026-04-15"), "closes_on": .string("2026-09-30")], base: 1,
            at: 1, by: .server), by: .server)
    return store
}

private func challengeID(_ index: Int) -> String { testID(0x4100 + index) }

/// Adds `count` challenges of the round, selected, each with A's person as mentor.
private func selectChallenges(_ count: Int, in store: inout MemoryStore, round: String = MergeIDs.round) {
    for index in 0..<count {
        let result = store.apply(
            insertChange(
                "challenge", challengeID(index + (round == MergeIDs.round ? 0 : 50)),
                [
                    "round": .string(round), "title": .string("C\(index)"), "proposer": .string(MergeIDs.orgA),
                    "mentor": .string(MergeIDs.personA), "status": selected,
                ], at: Int64(10 + index), by: .coordinator), by: .coordinator)
        #expect(result.outcome.status == .applied, "challenge \(index): \(result.outcome)")
    }
}

@Test func aSelectedChallengeNeedsAMentor() {
    var store = roundStore()
    let id = challengeID(9)
    let fields: [String: JSONValue] = [
        "round": .string(MergeIDs.round), "title": .string("Open data"), "proposer": .string(MergeIDs.orgA),
        "status": selected,
    ]
    #expect(
        store.preview(insertChange("challenge", id, fields, by: .coordinator), by: .coordinator).outcome.reason
            == "check:mentor")
    // Proposed, it needs none; selecting it without one is refused, with one it applies.
    var proposed = fields
    proposed["status"] = .string("proposed")
    #expect(store.apply(insertChange("challenge", id, proposed, by: .coordinator), by: .coordinator).state != nil)
    let select = updateChange("challenge", id, ["status": selected], base: 1, at: 5, by: .coordinator)
    #expect(store.preview(select, by: .coordinator).outcome.reason == "check:mentor")
    let withMentor = updateChange(
        "challenge", id, ["status": selected, "mentor": .string(MergeIDs.personA)], base: 1, at: 6, by: .coordinator)
    #expect(store.apply(withMentor, by: .coordinator).outcome.status == .applied)
    // Taking the mentor away from a selected challenge is refused.
    let unmentor = updateChange("challenge", id, ["mentor": .null], base: 2, at: 7, by: .coordinator)
    #expect(store.preview(unmentor, by: .coordinator).outcome.reason == "check:mentor")
}

@Test func atMostFiveChallengesOfARoundAreSelected() {
    var store = roundStore()
    selectChallenges(5, in: &store)
    // A sixth, inserted selected or selected later, is refused `limit:round`.
    let sixth: [String: JSONValue] = [
        "round": .string(MergeIDs.round), "title": .string("Sixth"), "proposer": .string(MergeIDs.orgA),
        "mentor": .string(MergeIDs.personA), "status": selected,
    ]
    let inserted = store.preview(
        insertChange("challenge", challengeID(5), sixth, at: 30, by: .coordinator), by: .coordinator)
    #expect(inserted.outcome.reason == "limit:round" && inserted.state == nil)
    let select = updateChange("challenge", MergeIDs.challenge, ["status": selected], base: 1, at: 31, by: .coordinator)
    #expect(store.preview(select, by: .coordinator).outcome.reason == "limit:round")
    // Editing one of the five is no sixth; nor is moving one from selected to in progress.
    let edit = updateChange(
        "challenge", challengeID(0), ["description": .string("x")], base: 1, at: 32, by: .coordinator)
    #expect(store.apply(edit, by: .coordinator).outcome.status == .applied)
    let progress = updateChange(
        "challenge", challengeID(1), ["status": .string("in_progress")], base: 1, at: 33, by: .coordinator)
    #expect(store.apply(progress, by: .coordinator).outcome.status == .applied)
    // A rejected one frees a place.
    let reject = updateChange(
        "challenge", challengeID(2), ["status": .string("rejected")], base: 1, at: 34, by: .coordinator)
    #expect(store.apply(reject, by: .coordinator).outcome.status == .applied)
    #expect(store.apply(select, by: .coordinator).outcome.status == .applied)
}

@Test func theLimitCountsPerRoundAndOnlyLiveRecords() {
    var store = roundStore()
    let otherRound = testID(0x1002)
    store.seed("round", otherRound, ["number": .int(6)])
    selectChallenges(5, in: &store)
    selectChallenges(5, in: &store, round: otherRound)
    // Moving a selected challenge into a full round is a sixth there.
    let move = updateChange(
        "challenge", challengeID(0), ["round": .string(otherRound)], base: 1, at: 40, by: .coordinator)
    #expect(store.preview(move, by: .coordinator).outcome.reason == "limit:round")
    // A deleted challenge no longer counts.
    #expect(
        store.apply(deleteChange("challenge", challengeID(3), base: 1, at: 41, by: .coordinator), by: .coordinator)
            .outcome.status == .applied)
    let select = updateChange("challenge", MergeIDs.challenge, ["status": selected], base: 1, at: 42, by: .coordinator)
    #expect(store.apply(select, by: .coordinator).outcome.status == .applied)
}

@Test func twoCoordinatorsSelectingTheFifthOfflineEndWithOneRejected() {
    var store = roundStore()
    selectChallenges(4, in: &store)
    store.seed(
        "challenge", challengeID(20),
        ["round": .string(MergeIDs.round), "title": .string("X"), "proposer": .string(MergeIDs.orgB)])
    // Both saw four selected; each selects another (with a mentor) and pushes; whichever the
    // server merges second is refused, whatever the order.
    let first = updateChange(
        "challenge", MergeIDs.challenge, ["status": selected], base: 1, at: 50, by: .coordinator)
    let second = updateChange(
        "challenge", challengeID(20), ["status": selected, "mentor": .string(MergeIDs.personB)], base: 1, at: 51,
        by: .coordinator2)
    for order in [
        [(first, Author.coordinator), (second, .coordinator2)], [(second, .coordinator2), (first, .coordinator)],
    ] {
        var replay = store
        let results = order.map { replay.apply($0.0, by: $0.1) }
        #expect(results.map(\.outcome.status) == [.applied, .rejected])
        #expect(results[1].outcome.reason == "limit:round")
    }
}

@Test func anExchangeRunsInsideItsRoundsWindow() {
    let store = roundStore()
    for (fields, reason) in [
        (["starts_on": JSONValue.string("2026-04-14")], "check:starts_on"),
        (["ends_on": .string("2026-10-01"), "starts_on": .string("2026-09-28")], "check:ends_on"),
        (["starts_on": .string("2026-04-15"), "ends_on": .string("2026-09-30")], nil),
    ] {
        let change = insertChange("exchange", testID(0x3200), exchangeFields(fields), by: .memberA)
        let result = store.preview(change, by: .memberA)
        #expect(result.outcome.reason?.rawValue == reason, "\(fields)")
    }
    // A round with no dates bounds nothing; one with only an opening bounds only the start.
    var open = partnershipStore()
    let early = insertChange(
        "exchange", testID(0x3201), exchangeFields(["starts_on": .string("2020-01-01")]), by: .memberA)
    #expect(open.preview(early, by: .memberA).outcome.status == .applied)
    open.apply(
        updateChange("round", MergeIDs.round, ["opens_on": .string("2026-04-15")], base: 1, at: 1, by: .server),
        by: .server)
    #expect(open.preview(early, by: .memberA).outcome.reason == "check:starts_on")
}

@Test func aRoundsDatesMayNotMovePastItsExchanges() {
    var store = roundStore()
    // The exchange runs 4–8 May: the round may close on 8 May, not on 7 May.
    let tighter = updateChange(
        "round", MergeIDs.round, ["closes_on": .string("2026-05-07")], base: 2, at: 60, by: .coordinator)
    let refused = store.preview(tighter, by: .coordinator)
    #expect(refused.outcome.reason == "check:closes_on" && refused.state == nil)
    let later = updateChange(
        "round", MergeIDs.round, ["opens_on": .string("2026-05-05")], base: 2, at: 61, by: .coordinator)
    #expect(store.preview(later, by: .coordinator).outcome.reason == "check:opens_on")
    let fits = updateChange(
        "round", MergeIDs.round, ["closes_on": .string("2026-05-08")], base: 2, at: 62, by: .coordinator)
    #expect(store.apply(fits, by: .coordinator).outcome.status == .applied)
    // Once the exchange is deleted, nothing holds the round's dates.
    #expect(
        store.apply(deleteChange("exchange", MergeIDs.exchange, base: 1, at: 63, by: .memberA), by: .memberA)
            .outcome.status == .applied)
    let any = updateChange(
        "round", MergeIDs.round, ["closes_on": .string("2026-04-20")], base: 3, at: 64, by: .coordinator)
    #expect(store.apply(any, by: .coordinator).outcome.status == .applied)
}

@Test func aPersonOnAnExchangeMayNotChangeEmployerUnderIt() {
    let store = roundStore()
    let moved = updateChange(
        "person", MergeIDs.personA, ["organisation": .string(MergeIDs.orgC)], base: 1, at: 70, by: .coordinator)
    #expect(store.preview(moved, by: .coordinator).outcome.reason == "check:organisation")
    // Her colleague on no exchange may move.
    let free = updateChange(
        "person", MergeIDs.personB, ["organisation": .string(MergeIDs.orgC)], base: 1, at: 71, by: .coordinator)
    #expect(store.preview(free, by: .coordinator).outcome.status == .applied)
}

@Test func everyConstraintKindIsValidated() throws {
    func schema(_ constraint: String, table: String = "item") -> String {
        labSchemaJSON.replacingOccurrences(
            of: #""name": "\#(table)","#, with: #""name": "\#(table)", "constraints": [\#(constraint)],"#)
    }
    let refused = [
        (#"{"kind": "limit", "group": "label", "max": 5}"#, "must be a ref field"),
        (#"{"kind": "limit", "group": "team"}"#, "needs \"max\""),
        (#"{"kind": "required", "field": "team.name"}"#, "must be a field of the table"),
        (#"{"kind": "within", "field": "latest"}"#, "needs \"from\" or \"to\""),
        (#"{"kind": "within", "field": "latest", "to": "label"}"#, "one ordered type"),
        (
            #"{"kind": "required", "field": "label", "when": {"field": "level", "in": ["huge"]}}"#,
            "not a value of level"
        ),
        (#"{"kind": "equal", "field": "label"}"#, "needs \"to\""),
        (#"{"kind": "equal", "field": "label", "to": "code", "max": 3}"#, "max"),
        (#"{"kind": "limit", "field": "team", "max": 3}"#, "needs \"group\""),
    ]
    for (constraint, fragment) in refused {
        do {
            _ = try decodeSchema(schema(constraint))
            Issue.record("accepted: \(constraint)")
        } catch {
            #expect(error.message.contains(fragment), "\(constraint): \(error.message)")
        }
    }
    // The bundled schema's rules round-trip through their JSON.
    let challenge = try Schema.partnership.table(named: "challenge")
    #expect(challenge.constraints.map(\.reason) == ["check:mentor", "limit:round"])
    #expect(
        challenge.constraints.map(\.description) == [
            "mentor is required when status is selected, in_progress, completed",
            "at most 5 records whose status is selected, in_progress, completed per round",
        ])
    #expect(try Schema.decode(Schema.partnership.encoded()) == .partnership)
}
