import TandemProtocol
import Testing

// SPEC §5: versions, field-level merge and every conflict rule, one behaviour a test.

// MARK: - Insert

@Test func insertMakesVersionOneWithDefaultsApplied() throws {
    var store = partnershipStore()
    let id = testID(0x3002)
    let result = store.apply(
        insertChange("exchange", id, exchangeFields(["goals": .string("Learn")]), by: .memberA), by: .memberA)
    #expect(result.outcome.status == .applied)
    #expect(result.outcome.version == 1)
    #expect(result.outcome.reason == nil)
    #expect(result.outcome.conflicts.isEmpty)
    #expect(result.openConflicts.isEmpty)
    let state = try #require(result.state)
    #expect(state.table == "exchange")
    #expect(state.id == id)
    #expect(state.version == 1)
    #expect(!state.isDeleted)
    #expect(state["status"] == .string("draft"))
    #expect(state["goals"] == .string("Learn"))
    #expect(state["notes"] == .null)
    #expect(state.fields.values.allSatisfy { $0.version == 1 && $0.author == .memberA })
    #expect(Set(result.outcome.applied) == Set(exchangeFields().keys).union(["goals", "status"]))
}

@Test func insertKeepsAGivenValueOverTheDefault() throws {
    var store = partnershipStore()
    let fields = exchangeFields(["status": .string("proposed")])
    let result = store.apply(insertChange("exchange", testID(0x3002), fields, by: .memberB), by: .memberB)
    #expect(result.outcome.status == .applied)
    #expect(try #require(result.state)["status"] == .string("proposed"))
}

@Test func insertStoresValuesNormalised() throws {
    var store = partnershipStore()
    let fields: [String: JSONValue] = [
        "organisation": .string(MergeIDs.orgA), "title": .string("Peer review"),
        "tags": .array([.string("b"), .string("a"), .string("b")]), "topic": .string(""),
    ]
    let result = store.apply(insertChange("practice", testID(0x5002), fields, by: .memberA), by: .memberA)
    let state = try #require(result.state)
    #expect(state["tags"] == .array([.string("a"), .string("b")]))
    #expect(state["topic"] == .null)
}

@Test func insertOfAnExistingRecordIsRejectedExists() {
    var store = partnershipStore()
    let before = store.records
    let result = store.apply(insertChange("exchange", MergeIDs.exchange, exchangeFields(), by: .memberA), by: .memberA)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "exists")
    #expect(store.records == before)
}

@Test func insertOfADeletedRecordIsRejectedDeleted() {
    var store = partnershipStore()
    store.apply(deleteChange("exchange", MergeIDs.exchange, base: 1, at: 10, by: .memberA), by: .memberA)
    let result = store.apply(
        insertChange("exchange", MergeIDs.exchange, exchangeFields(), at: 20, by: .memberA), by: .memberA)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "deleted")
}

// MARK: - Update on the current version

@Test func updateOnTheCurrentVersionAppliesEveryField() throws {
    var store = partnershipStore()
    let change = updateChange(
        "exchange", MergeIDs.exchange, ["goals": .string("Open data"), "status": .string("proposed")], base: 1, at: 10,
        by: .memberB)
    let result = store.apply(change, by: .memberB)
    #expect(result.outcome.status == .applied)
    #expect(result.outcome.version == 2)
    #expect(result.outcome.applied == ["goals", "status"])
    #expect(result.outcome.conflicts.isEmpty)
    let state = try #require(result.state)
    #expect(state.version == 2)
    #expect(state["goals"] == .string("Open data"))
    #expect(state["status"] == .string("proposed"))
    #expect(state["starts_on"] == .string("2026-05-04"))
    let goals = try #require(state.fields["goals"])
    #expect(goals.version == 2)
    #expect(goals.author == .memberB)
    #expect(goals.changeID == change.changeID)
    #expect(goals.hlc == change.hlc)
    #expect(state.fields["starts_on"]?.version == 1)
}

@Test func everyAcceptedChangeAddsOneToTheVersion() {
    var store = partnershipStore()
    for step in 1...5 {
        let result = store.apply(
            updateChange(
                "exchange", MergeIDs.exchange, ["notes": .string("step \(step)")], base: Int64(step), at: Int64(step),
                by: .memberA), by: .memberA)
        #expect(result.outcome.status == .applied)
        #expect(result.outcome.version == Int64(step) + 1)
    }
    #expect(store.version(MergeIDs.exchange) == 6)
}

@Test func updateSettingAFieldToNullClearsIt() throws {
    var store = labStore(item: ["label": .string("x")])
    let result = store.apply(
        updateChange("item", MergeIDs.item, ["label": .null], base: 1, at: 5, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .applied)
    #expect(result.outcome.applied == ["label"])
    #expect(try #require(result.state)["label"] == .null)
    #expect(try #require(result.state).values["label"] == nil)
}

// MARK: - Update on an older base: field-level merge

@Test func fieldsOthersDidNotTouchMergeCleanly() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("B's goals")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["notes": .string("A's notes")], base: 1, at: 5, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.version == 3)
    #expect(result.outcome.applied == ["notes"])
    #expect(result.outcome.conflicts.isEmpty)
    let state = try #require(result.state)
    #expect(state["goals"] == .string("B's goals"))
    #expect(state["notes"] == .string("A's notes"))
}

@Test func equalValuesAreNoConflict() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("Same")], base: 1, at: 20, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("Same")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.applied == ["goals"])
    #expect(result.outcome.conflicts.isEmpty)
    #expect(try #require(result.state)["goals"] == .string("Same"))
}

@Test func equalSetsInAnotherOrderAreNoConflict() {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "practice", MergeIDs.practice, ["tags": .array([.string("x"), .string("y")])], base: 1, at: 20, by: .memberA
        ),
        by: .memberA)
    let result = store.apply(
        updateChange(
            "practice", MergeIDs.practice, ["tags": .array([.string("y"), .string("x")])], base: 1, at: 10,
            by: .memberA2),
        by: .memberA2)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.conflicts.isEmpty)
}

@Test func aFieldChangedBeforeTheBaseIsNoConflict() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("B v2")], base: 1, at: 50, by: .memberB),
        by: .memberB)
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["notes": .string("B v3")], base: 2, at: 60, by: .memberB),
        by: .memberB)
    // A saw version 2 (B's goals) and edits goals with an older clock: no conflict, it applies.
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("A on v2")], base: 2, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.conflicts.isEmpty)
    #expect(try #require(result.state)["goals"] == .string("A on v2"))
}

@Test func theAuthorsOwnLaterEditIsNoConflict() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("first")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("second")], base: 1, at: 20, by: .memberA),
        by: .memberA)
    #expect(result.outcome.conflicts.isEmpty)
    #expect(result.outcome.applied == ["goals"])
    #expect(result.outcome.status != .conflict)
    #expect(try #require(result.state)["goals"] == .string("second"))
}

@Test func anotherDeviceOfTheSameOrganisationIsSomeoneElse() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("laptop")], base: 1, at: 20, by: .memberA),
        by: .memberA)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("phone")], base: 1, at: 10, by: .memberA2),
        by: .memberA2)
    #expect(result.outcome.status == .conflict)
    #expect(
        result.outcome.conflicts == [
            FieldConflict(field: "goals", rule: .lww, kept: .string("laptop"), lost: .string("phone"))
        ])
    #expect(try #require(result.state)["goals"] == .string("laptop"))
}

// MARK: - lww

@Test func lwwNewerIncomingWinsAndListsThePreviousValueAsLost() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("older")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("newer")], base: 1, at: 20, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.version == 3)
    #expect(result.outcome.applied == ["goals"])
    #expect(
        result.outcome.conflicts == [
            FieldConflict(field: "goals", rule: .lww, kept: .string("newer"), lost: .string("older"))
        ])
    #expect(result.openConflicts.isEmpty)
    let state = try #require(result.state)
    #expect(state["goals"] == .string("newer"))
    #expect(state.fields["goals"]?.author == .memberA)
    #expect(state.fields["goals"]?.version == 3)
}

@Test func lwwOlderIncomingLosesAndTheRecordKeepsItsValue() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("newer")], base: 1, at: 20, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["goals": .string("older"), "notes": .string("kept")], base: 1, at: 10,
            by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(result.outcome.version == 3)
    #expect(result.outcome.applied == ["notes"])
    #expect(
        result.outcome.conflicts == [
            FieldConflict(field: "goals", rule: .lww, kept: .string("newer"), lost: .string("older"))
        ])
    #expect(result.openConflicts.isEmpty)
    let state = try #require(result.state)
    #expect(state.version == 3)
    #expect(state["goals"] == .string("newer"))
    #expect(state.fields["goals"]?.author == .memberB)
    #expect(state.fields["goals"]?.version == 2)
    #expect(state["notes"] == .string("kept"))
}

@Test func lwwSameMillisecondIsDecidedByTheCounter() throws {
    var store = partnershipStore()
    store.apply(
        makeChange(
            .update, "exchange", MergeIDs.exchange, ["goals": .string("c1")], base: 1, at: 10, by: .memberB, counter: 1),
        by: .memberB)
    let result = store.apply(
        makeChange(
            .update, "exchange", MergeIDs.exchange, ["goals": .string("c2")], base: 1, at: 10, by: .memberA, counter: 2),
        by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(try #require(result.state)["goals"] == .string("c2"))
}

@Test func lwwNullIsAValueLikeAnyOther() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("set")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .null], base: 1, at: 20, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.conflicts == [FieldConflict(field: "goals", rule: .lww, kept: .null, lost: .string("set"))])
    #expect(try #require(result.state)["goals"] == .null)
}

/// Three concurrent edits of one lww field, in every order: the value with the highest HLC wins.
/// Two of them write the same value; the one with the lower HLC must not make the value look
/// older than it is (an equal value is no conflict, but it must not lower the field's HLC).
@Test(arguments: [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
func lwwHighestHLCWinsWhateverTheOrderOfThreeConcurrentEdits(order: [Int]) throws {
    let edits: [(value: String, time: Int64, author: Author)] = [
        ("X", 30, .memberA), ("X", 10, .memberB), ("Z", 20, .memberA2),
    ]
    var store = partnershipStore()
    for index in order {
        let edit = edits[index]
        store.apply(
            updateChange(
                "exchange", MergeIDs.exchange, ["goals": .string(edit.value)], base: 1, at: edit.time, by: edit.author),
            by: edit.author)
    }
    #expect(store[MergeIDs.exchange]?["goals"] == .string("X"), "order \(order)")
}

/// The same for first-wins: the value with the lowest HLC wins in every order.
@Test(arguments: [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
func firstWinsLowestHLCWinsWhateverTheOrderOfThreeConcurrentEdits(order: [Int]) throws {
    let edits: [(value: String, time: Int64, author: Author)] = [
        ("X", 10, .memberA), ("X", 30, .memberB), ("Z", 20, .memberA2),
    ]
    var store = labStore()
    for index in order {
        let edit = edits[index]
        store.apply(
            updateChange(
                "item", MergeIDs.item, ["first": .string(edit.value)], base: 1, at: edit.time, by: edit.author),
            by: edit.author)
    }
    #expect(store[MergeIDs.item]?["first"] == .string("X"), "order \(order)")
}

// MARK: - first-wins

@Test func firstWinsKeepsTheEarlierValueWhenItArrivedFirst() throws {
    var store = labStore(item: ["first": .string("base")])
    store.apply(
        updateChange("item", MergeIDs.item, ["first": .string("early")], base: 1, at: 10, by: .memberB), by: .memberB)
    let result = store.apply(
        updateChange("item", MergeIDs.item, ["first": .string("late")], base: 1, at: 20, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(
        result.outcome.conflicts == [
            FieldConflict(field: "first", rule: .firstWins, kept: .string("early"), lost: .string("late"))
        ])
    #expect(try #require(result.state)["first"] == .string("early"))
}

@Test func firstWinsTakesTheEarlierValueWhenItArrivesLate() throws {
    var store = labStore(item: ["first": .string("base")])
    store.apply(
        updateChange("item", MergeIDs.item, ["first": .string("late")], base: 1, at: 20, by: .memberB), by: .memberB)
    let result = store.apply(
        updateChange("item", MergeIDs.item, ["first": .string("early")], base: 1, at: 10, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(
        result.outcome.conflicts == [
            FieldConflict(field: "first", rule: .firstWins, kept: .string("early"), lost: .string("late"))
        ])
    #expect(try #require(result.state)["first"] == .string("early"))
}

// MARK: - owner-wins

@Test(arguments: [false, true])
func ownerWinsOverANonOwnerWhateverTheClock(ownerIsNewer: Bool) throws {
    // Coordinators may write the item but do not own it; member A's team does.
    for ownerFirst in [false, true] {
        var store = labStore(item: ["owned": .string("base")])
        let owner = updateChange(
            "item", MergeIDs.item, ["owned": .string("owner")], base: 1, at: ownerIsNewer ? 20 : 10, by: .memberA)
        let other = updateChange(
            "item", MergeIDs.item, ["owned": .string("coordinator")], base: 1, at: ownerIsNewer ? 10 : 20,
            by: .coordinator)
        let results =
            ownerFirst
            ? [store.apply(owner, by: .memberA), store.apply(other, by: .coordinator)]
            : [store.apply(other, by: .coordinator), store.apply(owner, by: .memberA)]
        #expect(store[MergeIDs.item]?["owned"] == .string("owner"), "owner first: \(ownerFirst)")
        let last = try #require(results.last)
        #expect(last.outcome.status == (ownerFirst ? .conflict : .merged))
        #expect(
            last.outcome.conflicts == [
                FieldConflict(field: "owned", rule: .ownerWins, kept: .string("owner"), lost: .string("coordinator"))
            ])
    }
}

@Test func ownerWinsBetweenTwoOwnersFallsBackToLww() throws {
    // Team A owns the item as its team, team B as its partner.
    var store = labStore(item: ["owned": .string("base")])
    store.apply(
        updateChange("item", MergeIDs.item, ["owned": .string("A")], base: 1, at: 20, by: .memberA), by: .memberA)
    let result = store.apply(
        updateChange("item", MergeIDs.item, ["owned": .string("B")], base: 1, at: 10, by: .memberB), by: .memberB)
    #expect(result.outcome.status == .conflict)
    #expect(try #require(result.state)["owned"] == .string("A"))
    #expect(result.outcome.conflicts.map(\.rule) == [.ownerWins])
}

@Test func ownerWinsBetweenTwoNonOwnersFallsBackToLww() throws {
    var store = labStore(item: ["owned": .string("base")])
    store.apply(
        updateChange("item", MergeIDs.item, ["owned": .string("one")], base: 1, at: 10, by: .coordinator),
        by: .coordinator)
    let result = store.apply(
        updateChange("item", MergeIDs.item, ["owned": .string("two")], base: 1, at: 20, by: .coordinator2),
        by: .coordinator2)
    #expect(result.outcome.status == .merged)
    #expect(try #require(result.state)["owned"] == .string("two"))
}

// MARK: - coordinator-wins

@Test(arguments: [false, true])
func coordinatorWinsOverAMemberWhateverTheOrderAndClock(coordinatorIsNewer: Bool) throws {
    for coordinatorFirst in [false, true] {
        var store = partnershipStore()
        let coordinator = updateChange(
            "challenge", MergeIDs.challenge, ["status": .string("selected")], base: 1, at: coordinatorIsNewer ? 20 : 10,
            by: .coordinator)
        let member = updateChange(
            "challenge", MergeIDs.challenge, ["status": .string("in_progress")], base: 1,
            at: coordinatorIsNewer ? 10 : 20, by: .memberA)
        let last: Merge.Result
        if coordinatorFirst {
            store.apply(coordinator, by: .coordinator)
            last = store.apply(member, by: .memberA)
        } else {
            store.apply(member, by: .memberA)
            last = store.apply(coordinator, by: .coordinator)
        }
        #expect(store[MergeIDs.challenge]?["status"] == .string("selected"), "coordinator first: \(coordinatorFirst)")
        #expect(last.outcome.status == (coordinatorFirst ? .conflict : .merged))
        #expect(
            last.outcome.conflicts == [
                FieldConflict(
                    field: "status", rule: .coordinatorWins, kept: .string("selected"), lost: .string("in_progress"))
            ])
    }
}

@Test func coordinatorWinsBetweenTwoMembersFallsBackToLww() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("challenge", MergeIDs.challenge, ["status": .string("selected")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    let result = store.apply(
        updateChange("challenge", MergeIDs.challenge, ["status": .string("rejected")], base: 1, at: 20, by: .memberA2),
        by: .memberA2)
    #expect(result.outcome.status == .merged)
    #expect(try #require(result.state)["status"] == .string("rejected"))
    #expect(result.outcome.conflicts.map(\.rule) == [.coordinatorWins])
}

@Test func coordinatorWinsBetweenTwoCoordinatorsFallsBackToLww() throws {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "challenge", MergeIDs.challenge, ["status": .string("selected")], base: 1, at: 20, by: .coordinator),
        by: .coordinator)
    let result = store.apply(
        updateChange(
            "challenge", MergeIDs.challenge, ["status": .string("rejected")], base: 1, at: 10, by: .coordinator2),
        by: .coordinator2)
    #expect(result.outcome.status == .conflict)
    #expect(try #require(result.state)["status"] == .string("selected"))
}

@Test func theServerCountsAsACoordinatorForCoordinatorWins() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("challenge", MergeIDs.challenge, ["status": .string("selected")], base: 1, at: 10, by: .server),
        by: .server)
    let result = store.apply(
        updateChange("challenge", MergeIDs.challenge, ["status": .string("rejected")], base: 1, at: 20, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(try #require(result.state)["status"] == .string("selected"))
}

// MARK: - max and min

@Test(arguments: [
    ("high", JSONValue.int(3), JSONValue.int(7), JSONValue.int(7)),
    ("high", .int(-2), .int(-5), .int(-2)),
    ("low", .int(3), .int(7), .int(3)),
    ("low", .int(-2), .int(-5), .int(-5)),
    ("level", .string("mid"), .string("high"), .string("high")),
    ("level", .string("mid"), .string("low"), .string("mid")),
    ("floor", .string("mid"), .string("high"), .string("mid")),
    ("floor", .string("mid"), .string("low"), .string("low")),
    ("peak", .double(2.5), .double(10.25), .double(10.25)),
    ("peak", .int(9), .double(2.5), .double(9)),
    ("latest", .string("2026-05-09"), .string("2026-05-10"), .string("2026-05-10")),
    ("latest", .string("2026-12-31"), .string("2027-01-01"), .string("2027-01-01")),
    ("earliest", .string("2026-05-09"), .string("2026-05-10"), .string("2026-05-09")),
    ("seen_at", .string("2026-05-09T10:00:00Z"), .string("2026-05-09T09:59:59.5Z"), .string("2026-05-09T10:00:00Z")),
    (
        "seen_at", .string("2026-05-09T10:00:00Z"), .string("2026-05-09T10:00:00.25Z"),
        .string("2026-05-09T10:00:00.25Z")
    ),
])
func maxAndMinKeepTheGreaterOrLesserValueWhateverTheOrder(
    field: String, first: JSONValue, second: JSONValue, expected: JSONValue
) throws {
    let schema = try labSchema.table(named: "item").field(named: field)
    for (older, newer) in [(first, second), (second, first)] {
        for olderArrivesFirst in [false, true] {
            var store = labStore()
            let a = updateChange("item", MergeIDs.item, [field: older], base: 1, at: 10, by: .memberA)
            let b = updateChange("item", MergeIDs.item, [field: newer], base: 1, at: 20, by: .memberB)
            let last: Merge.Result
            if olderArrivesFirst {
                store.apply(a, by: .memberA)
                last = store.apply(b, by: .memberB)
            } else {
                store.apply(b, by: .memberB)
                last = store.apply(a, by: .memberA)
            }
            let label = "\(field): \(older) at 10, \(newer) at 20, older first: \(olderArrivesFirst)"
            #expect(store[MergeIDs.item]?[field] == normalized(expected, schema, in: "item"), "\(label)")
            let conflict = try #require(last.outcome.conflicts.first, "\(label)")
            #expect(conflict.rule == schema.rule)
            #expect(conflict.kept == normalized(expected, schema, in: "item"))
            #expect(
                Set([conflict.kept, conflict.lost]) == Set([older, newer].map { normalized($0, schema, in: "item") }))
        }
    }
}

/// max and min alike: a value beats NULL, whoever set it and whenever. One side clears the field,
/// the other sets it to a new value; the new value is kept.
@Test(arguments: ["high", "low", "level", "floor", "latest", "earliest"])
func maxAndMinKeepAValueOverNull(field: String) throws {
    let (base, value): (JSONValue, JSONValue) =
        switch field {
        case "high", "low": (.int(4), .int(5))
        case "level", "floor": (.string("mid"), .string("high"))
        default: (.string("2026-05-09"), .string("2026-05-10"))
        }
    for nullIsNewer in [false, true] {
        for nullArrivesFirst in [false, true] {
            var store = labStore(item: [field: base])
            let set = updateChange(
                "item", MergeIDs.item, [field: value], base: 1, at: nullIsNewer ? 10 : 20, by: .memberA)
            let clear = updateChange(
                "item", MergeIDs.item, [field: .null], base: 1, at: nullIsNewer ? 20 : 10, by: .memberB)
            let last: Merge.Result
            if nullArrivesFirst {
                store.apply(clear, by: .memberB)
                last = store.apply(set, by: .memberA)
            } else {
                store.apply(set, by: .memberA)
                last = store.apply(clear, by: .memberB)
            }
            let label = "\(field): null newer \(nullIsNewer), null first \(nullArrivesFirst)"
            #expect(store[MergeIDs.item]?[field] == value, "\(label)")
            #expect(last.outcome.conflicts.map(\.kept) == [value], "\(label)")
            #expect(last.outcome.conflicts.map(\.lost) == [.null], "\(label)")
        }
    }
}

// MARK: - union

@Test func unionKeepsTheMembersOfBothSides() throws {
    for bFirst in [false, true] {
        var store = partnershipStore()
        let a = updateChange(
            "practice", MergeIDs.practice, ["tags": .array([.string("mentoring"), .string("hr")])], base: 1, at: 20,
            by: .memberA)
        let b = updateChange(
            "practice", MergeIDs.practice, ["tags": .array([.string("digital"), .string("mentoring")])], base: 1,
            at: 10,
            by: .memberA2)
        let last: Merge.Result
        if bFirst {
            store.apply(b, by: .memberA2)
            last = store.apply(a, by: .memberA)
        } else {
            store.apply(a, by: .memberA)
            last = store.apply(b, by: .memberA2)
        }
        #expect(last.outcome.status == .merged)
        #expect(last.outcome.applied == ["tags"])
        #expect(last.openConflicts.isEmpty)
        #expect(
            store[MergeIDs.practice]?["tags"]
                == .array([.string("digital"), .string("hr"), .string("mentoring")]))
    }
}

@Test func unionWithAClearedSetKeepsTheOtherSide() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("practice", MergeIDs.practice, ["tags": .null], base: 1, at: 10, by: .memberA), by: .memberA)
    let result = store.apply(
        updateChange("practice", MergeIDs.practice, ["tags": .array([.string("new")])], base: 1, at: 5, by: .memberA2),
        by: .memberA2)
    #expect(result.outcome.status == .merged)
    #expect(try #require(result.state)["tags"] == .array([.string("new")]))
}

// MARK: - manual

@Test func manualKeepsTheCurrentValueAndOpensAConflictHoldingBoth() throws {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-05")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-06"), "goals": .string("Learn")], base: 1,
            at: 20, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(result.outcome.version == 3)
    #expect(result.outcome.applied == ["goals"])
    let conflict = FieldConflict(
        field: "starts_on", rule: .manual, kept: .string("2026-05-05"), lost: .string("2026-05-06"))
    #expect(result.outcome.conflicts == [conflict])
    #expect(result.openConflicts == [conflict])
    let state = try #require(result.state)
    #expect(state.version == 3)
    #expect(state["starts_on"] == .string("2026-05-05"))
    #expect(state.fields["starts_on"]?.author == .memberB)
    #expect(state["goals"] == .string("Learn"))
}

@Test func manualOnBothDatesOpensTwoConflicts() throws {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-06-01"), "ends_on": .string("2026-06-05")],
            base: 1, at: 30, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-07-01"), "ends_on": .string("2026-07-05")],
            base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(result.outcome.applied.isEmpty)
    #expect(result.openConflicts.map(\.field) == ["ends_on", "starts_on"])
    #expect(result.openConflicts.allSatisfy { $0.rule == .manual })
    #expect(result.outcome.conflicts == result.openConflicts)
    let state = try #require(result.state)
    #expect(state["starts_on"] == .string("2026-06-01"))
    #expect(state["ends_on"] == .string("2026-06-05"))
}

@Test func manualWithoutAConcurrentEditJustApplies() throws {
    var store = partnershipStore()
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-05")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    #expect(result.outcome.status == .applied)
    #expect(result.openConflicts.isEmpty)
}

// MARK: - Status

@Test func aChangeThatWinsEveryConflictIsMerged() throws {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["goals": .string("b"), "notes": .string("b")], base: 1, at: 10, by: .memberB
        ),
        by: .memberB)
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["goals": .string("a"), "notes": .string("a")], base: 1, at: 20, by: .memberA
        ),
        by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.applied == ["goals", "notes"])
    #expect(result.outcome.conflicts.map(\.field) == ["goals", "notes"])
    #expect(result.outcome.conflicts.allSatisfy { $0.lost == .string("b") && $0.kept == .string("a") })
}

@Test func aChangeThatLosesOneConflictIsAConflictEvenIfOthersApply() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("b")], base: 1, at: 30, by: .memberB),
        by: .memberB)
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["notes": .string("b")], base: 2, at: 31, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange,
            ["goals": .string("a"), "notes": .string("a"), "status": .string("proposed")],
            base: 1, at: 20, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(result.outcome.version == 4)
    #expect(result.outcome.applied == ["status"])
    #expect(result.outcome.conflicts.map(\.field) == ["goals", "notes"])
    #expect(result.state?["status"] == .string("proposed"))
}

@Test func aChangeWhoseEveryFieldLosesStillCountsAsAVersion() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("b")], base: 1, at: 30, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["goals": .string("a")], base: 1, at: 20, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .conflict)
    #expect(result.outcome.applied.isEmpty)
    #expect(result.outcome.version == 3)
    #expect(result.state?.version == 3)
    #expect(result.state?["goals"] == .string("b"))
}

// MARK: - Checks after merging

@Test func anUpdateThatPutsTheEndBeforeTheStartIsRejected() {
    var store = partnershipStore()
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["ends_on": .string("2026-05-03")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "check:ends_on")
    #expect(store.version(MergeIDs.exchange) == 1)
}

@Test func aStartMovedAfterTheEndIsRejectedNamingTheEnd() {
    var store = partnershipStore()
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-09")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.reason == "check:ends_on")
}

@Test func twoEditsThatAreEachValidButNotTogetherAreRejectedAtMerge() {
    var store = partnershipStore()
    // B moves the start to the 7th (valid: the end is the 8th); A, not knowing, moves the end to the 6th.
    store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-07")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["ends_on": .string("2026-05-06")], base: 1, at: 20, by: .memberA),
        by: .memberA)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "check:ends_on")
    #expect(result.outcome.version == 2)
    #expect(store[MergeIDs.exchange]?["ends_on"] == .string("2026-05-08"))
}

@Test func anEndOnTheStartDayIsAccepted() {
    var store = partnershipStore()
    let result = store.apply(
        updateChange("exchange", MergeIDs.exchange, ["ends_on": .string("2026-05-04")], base: 1, at: 10, by: .memberA),
        by: .memberA)
    #expect(result.outcome.status == .applied)
}

@Test(arguments: [
    ("exchange", MergeIDs.exchange, "starts_on"), ("exchange", MergeIDs.exchange, "home"),
    ("challenge", MergeIDs.challenge, "title"), ("organisation", MergeIDs.orgA, "sector"),
    ("round", MergeIDs.round, "number"), ("person", MergeIDs.personA, "full_name"),
])
func aRequiredFieldSetToNullIsRejected(table: String, id: String, field: String) {
    var store = partnershipStore()
    for value in [JSONValue.null, .string("")] where !(field == "number" && value == .string("")) {
        let result = store.apply(
            updateChange(table, id, [field: value], base: 1, at: 10, by: .coordinator), by: .coordinator)
        #expect(result.state == nil)
        #expect(result.outcome.status == .rejected)
        #expect(result.outcome.reason == .check(field), "\(table).\(field) = \(value)")
    }
}

@Test func anInsertWithoutARequiredFieldIsRejected() {
    var store = partnershipStore()
    var fields = exchangeFields()
    fields["person"] = nil
    let result = store.apply(insertChange("exchange", testID(0x3002), fields, by: .memberA), by: .memberA)
    #expect(result.state == nil)
    #expect(result.outcome.reason == "check:person")
    #expect(store[testID(0x3002)] == nil)
}

@Test func anInsertWithTheEndBeforeTheStartIsRejected() {
    var store = partnershipStore()
    let fields = exchangeFields(["ends_on": .string("2026-05-01")])
    let result = store.apply(insertChange("exchange", testID(0x3002), fields, by: .memberA), by: .memberA)
    #expect(result.outcome.reason == "check:ends_on")
}

// MARK: - Delete

@Test func deleteOnTheCurrentVersionApplies() throws {
    var store = partnershipStore()
    let result = store.apply(deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .applied)
    #expect(result.outcome.version == 2)
    let state = try #require(result.state)
    #expect(state.isDeleted)
    #expect(state.version == 2)
    #expect(state["title"] == .string("Job shadowing"), "a deleted record keeps its last values for history")
    #expect(!store.isLive(table: "practice", id: MergeIDs.practice))
}

@Test func deleteWinsOverOthersUpdates() throws {
    var store = partnershipStore()
    store.apply(
        updateChange("practice", MergeIDs.practice, ["topic": .string("HR")], base: 1, at: 30, by: .memberA2),
        by: .memberA2)
    let result = store.apply(deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .merged)
    #expect(result.outcome.version == 3)
    #expect(try #require(result.state).isDeleted)
}

@Test func anUpdateOfADeletedRecordIsRejectedDeleted() {
    var store = partnershipStore()
    store.apply(deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: .memberA), by: .memberA)
    let result = store.apply(
        updateChange("practice", MergeIDs.practice, ["topic": .string("late")], base: 1, at: 30, by: .memberA2),
        by: .memberA2)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "deleted")
    #expect(result.outcome.version == 2)
    #expect(store[MergeIDs.practice]?.isDeleted == true)
}

@Test func aDeleteOfADeletedRecordIsRejectedDeleted() {
    var store = partnershipStore()
    store.apply(deleteChange("practice", MergeIDs.practice, base: 1, at: 10, by: .memberA), by: .memberA)
    for base: Int64 in [1, 2] {
        let result = store.apply(
            deleteChange("practice", MergeIDs.practice, base: base, at: 20, by: .memberA2), by: .memberA2)
        #expect(result.state == nil)
        #expect(result.outcome.reason == "deleted")
    }
}

@Test(arguments: [
    ("organisation", MergeIDs.orgA), ("round", MergeIDs.round), ("person", MergeIDs.personA),
])
func aDeleteOfARecordLiveRecordsReferToIsRejected(table: String, id: String) {
    var store = partnershipStore()
    let result = store.apply(deleteChange(table, id, base: 1, at: 10, by: .coordinator), by: .coordinator)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "referenced")
    #expect(store.isLive(table: table, id: id))
}

@Test func aRecordNoLongerReferredToMayBeDeleted() {
    var store = partnershipStore()
    // Person B is referred to by nothing; organisation C by nothing.
    #expect(
        store.apply(deleteChange("person", MergeIDs.personB, base: 1, at: 10, by: .memberB), by: .memberB).outcome
            .status == .applied)
    #expect(
        store.apply(deleteChange("organisation", MergeIDs.orgC, base: 1, at: 10, by: .memberC), by: .memberC).outcome
            .status == .applied)
}

@Test func updateWinsTablesRefuseADeleteAfterSomeoneElsesUpdate() {
    var store = labStore()
    store.apply(
        updateChange("note", MergeIDs.note, ["text": .string("edited")], base: 1, at: 30, by: .coordinator),
        by: .coordinator)
    let result = store.apply(deleteChange("note", MergeIDs.note, base: 1, at: 40, by: .memberA), by: .memberA)
    #expect(result.state == nil)
    #expect(result.outcome.status == .rejected)
    #expect(result.outcome.reason == "updated")
    #expect(store.isLive(table: "note", id: MergeIDs.note))
}

@Test func updateWinsTablesAcceptADeleteOnTheCurrentVersion() {
    var store = labStore()
    store.apply(
        updateChange("note", MergeIDs.note, ["text": .string("edited")], base: 1, at: 30, by: .coordinator),
        by: .coordinator)
    let result = store.apply(deleteChange("note", MergeIDs.note, base: 2, at: 40, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .applied)
    #expect(!store.isLive(table: "note", id: MergeIDs.note))
}

@Test func updateWinsTablesAcceptADeleteAfterTheAuthorsOwnUpdate() {
    var store = labStore()
    store.apply(
        updateChange("note", MergeIDs.note, ["text": .string("mine")], base: 1, at: 30, by: .memberA), by: .memberA)
    let result = store.apply(deleteChange("note", MergeIDs.note, base: 1, at: 40, by: .memberA), by: .memberA)
    #expect(result.outcome.status != .rejected)
    #expect(!store.isLive(table: "note", id: MergeIDs.note))
}

@Test func deleteWinsTablesAcceptTheSameDeleteThatUpdateWinsRefuses() {
    // The item table is delete-wins: the same history as above lets the delete through.
    var store = labStore()
    store.apply(
        updateChange("item", MergeIDs.item, ["label": .string("edited")], base: 1, at: 30, by: .coordinator),
        by: .coordinator)
    let result = store.apply(deleteChange("item", MergeIDs.item, base: 1, at: 40, by: .memberA), by: .memberA)
    #expect(result.outcome.status == .merged)
}
