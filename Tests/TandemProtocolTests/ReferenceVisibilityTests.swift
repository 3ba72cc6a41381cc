import TandemProtocol
import Testing

// A reference never widens what a member sees (docs/security.md): a member's change may refer to a
// personal or owners-only record only when the member may already read it, and the answer is the
// same as for an id that does not exist. The programme's rule that the person on an exchange works
// for its home is a schema constraint (`check:person`).

/// A person of organisation C, on no exchange: members of A and B may not read her.
private let sara = testID(0x2003)

/// The partnership world plus Sara, with her id published in a practice of C (reference data).
private func storeWithSara() -> MemoryStore {
    var store = partnershipStore()
    store.seed(
        "person", sara,
        [
            "organisation": .string(MergeIDs.orgC), "full_name": .string("Secret Sara"),
            "email": .string("sara@town.example"),
        ])
    store.seed(
        "practice", testID(0x5002),
        ["organisation": .string(MergeIDs.orgC), "title": .string("Open hours"), "contact": .string(sara)])
    return store
}

/// The outcome of `change` by `author`, checking that nothing was written.
private func refusal(_ change: Change, by author: Author, in store: MemoryStore) -> Outcome {
    var store = store
    let before = store.records
    let result = store.apply(change, by: author)
    #expect(result.state == nil && store.records == before)
    return result.outcome
}

@Test func aMemberMayNotReferToAPersonItCannotReadAndLearnsNothingOfHer() {
    let store = storeWithSara()
    // A's exchange with C's employee: refused exactly as an exchange with a person who does not exist.
    for person in [sara, MergeIDs.nobody] {
        let fields = exchangeFields(["person": .string(person), "host": .string(MergeIDs.orgC)])
        let outcome = refusal(insertChange("exchange", testID(0x3100), fields, by: .memberA), by: .memberA, in: store)
        #expect(outcome.status == .rejected && outcome.reason == "reference:person" && outcome.version == nil)
    }
    // Setting her on an exchange A already has: the same.
    for person in [sara, MergeIDs.nobody] {
        let change = updateChange(
            "exchange", MergeIDs.exchange, ["person": .string(person)], base: 1, at: 5, by: .memberA)
        let outcome = refusal(change, by: .memberA, in: store)
        #expect(outcome.reason == "reference:person")
    }
    // A practice's contact or a challenge's mentor may not name her either.
    let contact = updateChange(
        "practice", MergeIDs.practice, ["contact": .string(sara)], base: 1, at: 5, by: .memberA)
    #expect(refusal(contact, by: .memberA, in: store).reason == "reference:contact")
    let mentor = updateChange(
        "challenge", MergeIDs.challenge, ["mentor": .string(sara)], base: 1, at: 5, by: .memberA)
    #expect(refusal(mentor, by: .memberA, in: store).reason == "reference:mentor")
}

@Test func aMemberMayReferToThePersonsItMayRead() {
    var store = storeWithSara()
    // B hosts Ana (A's), so B reads her: B may name her as its practice's contact.
    store.seed(
        "practice", testID(0x5003), ["organisation": .string(MergeIDs.orgB), "title": .string("Mentors")])
    let result = store.apply(
        updateChange("practice", testID(0x5003), ["contact": .string(MergeIDs.personA)], base: 1, at: 5, by: .memberB),
        by: .memberB)
    #expect(result.outcome.status == .applied)
    // C names its own employee.
    let own = store.apply(
        insertChange(
            "exchange", testID(0x3101),
            exchangeFields([
                "person": .string(sara), "home": .string(MergeIDs.orgC), "host": .string(MergeIDs.orgA),
            ]),
            by: .memberC),
        by: .memberC)
    #expect(own.outcome.status == .applied)
}

@Test func coordinatorsMayReferToAnyRecordButThePersonStillWorksForTheHome() {
    var store = storeWithSara()
    let onExchange = store.apply(
        insertChange(
            "exchange", testID(0x3102),
            exchangeFields([
                "person": .string(sara), "home": .string(MergeIDs.orgC), "host": .string(MergeIDs.orgB),
            ]),
            by: .coordinator),
        by: .coordinator)
    #expect(onExchange.outcome.status == .applied)
    // The programme's rule holds for coordinators too: Sara works for C, not for A.
    let wrongHome = refusal(
        insertChange("exchange", testID(0x3103), exchangeFields(["person": .string(sara)]), by: .coordinator),
        by: .coordinator, in: store)
    #expect(wrongHome.reason == "check:person")
}

@Test func thePersonOnAnExchangeWorksForItsHome() {
    let store = partnershipStore()
    // B hosts Ana, so B reads her, but B is not her home: an exchange of Ana from B is refused.
    let fromB = exchangeFields([
        "person": .string(MergeIDs.personA), "home": .string(MergeIDs.orgB), "host": .string(MergeIDs.orgC),
    ])
    #expect(
        refusal(insertChange("exchange", testID(0x3104), fromB, by: .memberB), by: .memberB, in: store).reason
            == "check:person")
    // Changing the home away from the person's organisation breaks it too.
    let moved = updateChange(
        "exchange", MergeIDs.exchange, ["home": .string(MergeIDs.orgC), "host": .string(MergeIDs.orgA)], base: 1,
        at: 5, by: .coordinator)
    let outcome = refusal(moved, by: .coordinator, in: store)
    #expect(outcome.reason == "check:person" && outcome.version == 1)
}

@Test func aRecordAMemberMayNotReadIsAnsweredAsMissing() {
    let store = storeWithSara()
    // C may not read the exchange between A and B: an update or a delete of it is `missing`, with no version.
    for change in [
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("x")], base: 1, at: 10, by: .memberC),
        deleteChange("exchange", MergeIDs.exchange, base: 1, at: 10, by: .memberC),
        updateChange("person", MergeIDs.personA, ["email": .string("x@y.example")], base: 1, at: 10, by: .memberC),
    ] {
        let outcome = refusal(change, by: .memberC, in: store)
        #expect(outcome.reason == "missing" && outcome.version == nil, "\(change.table) \(change.op)")
    }
    // An insert over its id says it exists, and nothing more.
    let outcome = refusal(
        insertChange(
            "person", sara, ["organisation": .string(MergeIDs.orgA), "full_name": .string("x")], by: .memberA),
        by: .memberA, in: store)
    #expect(outcome.reason == "exists" && outcome.version == nil)
    // What a member may read keeps its precise answer: B may read A's organisation, not change it.
    let organisation = refusal(
        updateChange("organisation", MergeIDs.orgA, ["web": .string("x")], base: 1, at: 10, by: .memberB),
        by: .memberB, in: store)
    #expect(organisation.reason == "not_permitted" && organisation.version == 1)
}

@Test func constraintsReadAsTheyAreWrittenAndAreValidated() throws {
    let exchange = try Schema.partnership.table(named: "exchange")
    #expect(
        exchange.constraints.map(\.description) == [
            "person.organisation must equal home",
            "starts_on must be on or after round.opens_on and on or before round.closes_on",
            "ends_on must be on or after round.opens_on and on or before round.closes_on",
        ])
    #expect(exchange.constraints.map(\.reason).first == "check:person")
    // The document round-trips.
    let again = try Schema.decode(Schema.partnership.encoded())
    #expect(again == .partnership)
    // A path through a field that is not a reference, to a field its table lacks, or from a
    // field the table lacks, is refused, naming what.
    for (path, fragment) in [("text.name", "must be a ref"), ("team.nickname", "must be a ref"), ("nope", "no field")] {
        let constraint = #"{"kind": "equal", "field": "\#(path)", "to": "team"}"#
        let text = labSchemaJSON.replacingOccurrences(
            of: #""name": "note","#, with: #""name": "note", "constraints": [\#(constraint)],"#)
        #expect(text != labSchemaJSON)
        do {
            _ = try decodeSchema(text)
            Issue.record("\(path): accepted")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
    // Unset values satisfy it: the rule speaks of values that are set.
    let constraint = try #require(exchange.constraints.first)
    #expect(
        constraint.isSatisfied(
            by: ["home": .string(MergeIDs.orgA)], before: nil, id: MergeIDs.exchange, in: exchange,
            context: RecordScan(schema: .partnership, records: [:])))
}
