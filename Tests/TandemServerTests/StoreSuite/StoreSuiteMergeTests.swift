import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Each conflict rule and delete rule as a store applies it (SPEC §5): two organisations, or an
/// organisation and a coordinator, change the same field from the same base; what the record
/// keeps, the push's status, and the rule, kept and lost values in the history entry.
@Suite struct StoreSuiteMergeTests {
    /// The bundled schema plus `kit` (a field for every rule; owned by `organisation` and
    /// `partner`) and `note` (update-wins), for the rules the programme's tables do not use.
    static let rulesSchema: Schema = {
        var schema = Schema.partnership
        schema.name = "partnership-rules"
        let levels = ["low", "mid", "high"]
        schema.tables.append(
            TableSchema(
                name: "kit",
                fields: [
                    FieldSchema(name: "organisation", type: .ref, isRequired: true, references: "organisation"),
                    FieldSchema(name: "partner", type: .ref, references: "organisation"),
                    FieldSchema(name: "label", type: .text),
                    FieldSchema(name: "first", type: .text, rule: .firstWins),
                    FieldSchema(name: "owned", type: .text, rule: .ownerWins),
                    FieldSchema(name: "boss", type: .text, rule: .coordinatorWins),
                    FieldSchema(name: "high", type: .int, rule: .max),
                    FieldSchema(name: "low", type: .int, rule: .min),
                    FieldSchema(name: "level", type: .enum, values: levels, rule: .max),
                    FieldSchema(name: "floor", type: .enum, values: levels, rule: .min),
                    FieldSchema(name: "tags", type: .set, rule: .union),
                    FieldSchema(name: "memo", type: .text, rule: .manual),
                ], owners: ["organisation", "partner"]))
        schema.tables.append(
            TableSchema(
                name: "note",
                fields: [
                    FieldSchema(name: "organisation", type: .ref, isRequired: true, references: "organisation"),
                    FieldSchema(name: "text", type: .text),
                ], owners: ["organisation"], deleteRule: .updateWins))
        return schema
    }()

    /// A kit of the ministry with the company as partner, at version 1.
    func kit(_ bench: StoreBench, _ fields: [String: JSONValue] = [:]) async throws -> String {
        let id = bench.newID()
        var values: [String: JSONValue] = [
            "organisation": .string(bench.ministry), "partner": .string(bench.company),
        ]
        for (name, value) in fields { values[name] = value }
        try await bench.expect([.applied], [bench.insert("kit", id, values)], by: bench.member(bench.ministry))
        return id
    }

    /// Pushes `first` then `second` (each on base 1 of `id`, by their principals) and checks the
    /// second's status, the value the record keeps, and the conflict its entry records.
    func race(
        _ bench: StoreBench, _ id: String, field: String,
        first: (value: JSONValue, by: Principal, offset: Int64),
        second: (value: JSONValue, by: Principal, offset: Int64),
        expect status: Outcome.Status, keeps kept: JSONValue, conflict: FieldConflict?,
        table: String = "kit", sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await bench.expect(
            [.applied], [bench.update(table, id, base: 1, [field: first.value], offset: first.offset)], by: first.by,
            sourceLocation: sourceLocation)
        let change = bench.update(table, id, base: 1, [field: second.value], offset: second.offset)
        let results = try await bench.expect([status], [change], by: second.by, sourceLocation: sourceLocation)
        #expect(results.first?.version == 3, sourceLocation: sourceLocation)
        #expect(try await bench.record(id)?.record?[field] == kept, sourceLocation: sourceLocation)
        let outcome = try #require(try await bench.entry(of: change.changeID), sourceLocation: sourceLocation)
            .parsedOutcome
        #expect(outcome.conflicts == (conflict.map { [$0] } ?? []), sourceLocation: sourceLocation)
    }

    // MARK: - Field rules

    @Test(arguments: StoreKind.allCases)
    func lastWriterWinsByHLCWhateverTheOrderOfArrival(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let (ministry, company) = (bench.member(bench.ministry), bench.member(bench.company))
        let older = try await kit(bench)
        try await race(
            bench, older, field: "label", first: (.string("late"), ministry, 50),
            second: (.string("early"), company, 10), expect: .conflict, keeps: .string("late"),
            conflict: FieldConflict(field: "label", rule: .lww, kept: .string("late"), lost: .string("early")))
        let newer = try await kit(bench)
        try await race(
            bench, newer, field: "label", first: (.string("early"), ministry, 10),
            second: (.string("late"), company, 50), expect: .merged, keeps: .string("late"),
            conflict: FieldConflict(field: "label", rule: .lww, kept: .string("late"), lost: .string("early")))
    }

    @Test(arguments: StoreKind.allCases)
    func equalValuesAreNoConflict(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let id = try await kit(bench)
        try await race(
            bench, id, field: "memo", first: (.string("same"), bench.member(bench.ministry), 10),
            second: (.string("same"), bench.member(bench.company), 20), expect: .merged, keeps: .string("same"),
            conflict: nil)
        #expect(try await bench.conflicts().isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func firstWinsKeepsTheEarlierHLC(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let id = try await kit(bench)
        try await race(
            bench, id, field: "first", first: (.string("later"), bench.member(bench.ministry), 50),
            second: (.string("earlier"), bench.member(bench.company), 10), expect: .merged,
            keeps: .string("earlier"),
            conflict: FieldConflict(field: "first", rule: .firstWins, kept: .string("earlier"), lost: .string("later")))
    }

    @Test(arguments: StoreKind.allCases)
    func maxAndMinKeepTheirValueWhateverTheClock(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let (ministry, company) = (bench.member(bench.ministry), bench.member(bench.company))
        let cases: [(field: String, first: JSONValue, second: JSONValue, status: Outcome.Status, kept: JSONValue)] = [
            ("high", .int(9), .int(4), .conflict, .int(9)),
            ("high", .int(4), .int(9), .merged, .int(9)),
            ("low", .int(9), .int(4), .merged, .int(4)),
            ("low", .int(4), .int(9), .conflict, .int(4)),
            // Enums by their declared order (low < mid < high), not alphabetically.
            ("level", .string("mid"), .string("high"), .merged, .string("high")),
            ("floor", .string("low"), .string("mid"), .conflict, .string("low")),
        ]
        for test in cases {
            let id = try await kit(bench)
            // The second change is the later one: the rule, not the clock, decides.
            let rule: ConflictRule = test.field == "high" || test.field == "level" ? .max : .min
            let lost = test.kept == test.first ? test.second : test.first
            try await race(
                bench, id, field: test.field, first: (test.first, ministry, 10), second: (test.second, company, 50),
                expect: test.status, keeps: test.kept,
                conflict: FieldConflict(field: test.field, rule: rule, kept: test.kept, lost: lost))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func unionKeepsEveryTagOfBothSides(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let id = bench.newID()
        try await bench.expect(
            [.applied],
            [bench.insert("practice", id, ["organisation": .string(bench.ministry), "title": .string("Shadowing")])],
            by: bench.member(bench.ministry))
        let union = JSONValue.array(["digital", "health", "open"].map(JSONValue.string))
        try await race(
            bench, id, field: "tags", first: (.array([.string("open"), .string("digital")]), bench.coordinator, 50),
            second: (.array([.string("health"), .string("open")]), bench.member(bench.ministry), 10),
            expect: .merged, keeps: union, conflict: nil, table: "practice")
        #expect(try await bench.store.verify().failure == nil, "a merged value is what the history set")
    }

    @Test(arguments: StoreKind.allCases)
    func ownerWinsAgainstACoordinatorEvenWhenOlder(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let id = try await kit(bench)
        try await race(
            bench, id, field: "owned", first: (.string("coordinator's"), bench.coordinator, 50),
            second: (.string("owner's"), bench.member(bench.company), 10), expect: .merged, keeps: .string("owner's"),
            conflict: FieldConflict(
                field: "owned", rule: .ownerWins, kept: .string("owner's"), lost: .string("coordinator's")))
        // Two owners are alike: the later wins.
        let other = try await kit(bench)
        try await race(
            bench, other, field: "owned", first: (.string("ministry's"), bench.member(bench.ministry), 50),
            second: (.string("company's"), bench.member(bench.company), 10), expect: .conflict,
            keeps: .string("ministry's"),
            conflict: FieldConflict(
                field: "owned", rule: .ownerWins, kept: .string("ministry's"), lost: .string("company's")))
    }

    @Test(arguments: StoreKind.allCases)
    func coordinatorWinsAgainstAMemberEvenWhenOlder(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let id = try await kit(bench)
        try await race(
            bench, id, field: "boss", first: (.string("coordinator's"), bench.coordinator, 10),
            second: (.string("member's"), bench.member(bench.ministry), 50), expect: .conflict,
            keeps: .string("coordinator's"),
            conflict: FieldConflict(
                field: "boss", rule: .coordinatorWins, kept: .string("coordinator's"), lost: .string("member's")))
        // The programme's own coordinator-wins field: a challenge's status.
        let challenge = bench.newID()
        try await bench.expect(
            [.applied],
            [
                bench.insert(
                    "challenge", challenge,
                    [
                        "round": .string(bench.round), "title": .string("Open data"),
                        "proposer": .string(bench.company),
                    ])
            ], by: bench.member(bench.company))
        try await race(
            bench, challenge, field: "status", first: (.string("rejected"), bench.member(bench.company), 10),
            second: (.string("proposed"), bench.coordinator, 5), expect: .merged, keeps: .string("proposed"),
            conflict: FieldConflict(
                field: "status", rule: .coordinatorWins, kept: .string("proposed"), lost: .string("rejected")),
            table: "challenge")
    }

    @Test(arguments: StoreKind.allCases)
    func manualHoldsTheCurrentValueAndOpensAConflict(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let id = try await kit(bench)
        try await race(
            bench, id, field: "memo", first: (.string("ours"), bench.member(bench.ministry), 50),
            second: (.string("theirs"), bench.member(bench.company), 60), expect: .conflict, keeps: .string("ours"),
            conflict: FieldConflict(field: "memo", rule: .manual, kept: .string("ours"), lost: .string("theirs")))
        let open = try await bench.conflicts()
        #expect(open.count == 1)
        let conflict = try #require(open.first)
        #expect(conflict.table == "kit" && conflict.recordID == id && conflict.field == "memo")
        #expect(conflict.current == .string("ours") && conflict.incoming == .string("theirs"))
        #expect(conflict.status == .open)
    }

    // MARK: - Delete rules

    @Test(arguments: StoreKind.allCases)
    func deleteWinsOverAConcurrentUpdateAndLaterChangesAreRejected(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, id) = try await bench.anaOnAnExchange()
        let (ministry, company) = (bench.member(bench.ministry), bench.member(bench.company))
        try await bench.expect(
            [.applied], [bench.update("exchange", id, base: 1, ["notes": .string("x")])], by: company)
        let deleted = try await bench.expect([.merged], [bench.delete("exchange", id, base: 1)], by: ministry)
        #expect(deleted[0].version == 3)
        let late = try await bench.expect(
            [.rejected, .rejected, .rejected],
            [
                bench.update("exchange", id, base: 1, ["goals": .string("y")]),
                bench.delete("exchange", id, base: 3),
                bench.insert(
                    "exchange", id, bench.exchangeFields(person: ana, home: bench.ministry, host: bench.company)),
            ], by: bench.coordinator)
        #expect(late.map(\.reason) == ["deleted", "deleted", "deleted"])
        #expect(late.map(\.version) == [3, 3, 3])
        let item = try #require(try await bench.record(id))
        #expect(item.isDeleted && item.record == nil && item.version == 3)
        // Deleted records stay in history.
        let entries = try await bench.entries().filter { $0.change["record_id"] == .string(id) }
        #expect(entries.count == 6)
    }

    @Test(arguments: StoreKind.allCases)
    func updateWinsRefusesADeleteThatMissedAnUpdate(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind, schema: Self.rulesSchema)
        let ministry = bench.member(bench.ministry)
        let id = bench.newID()
        try await bench.expect(
            [.applied], [bench.insert("note", id, ["organisation": .string(bench.ministry), "text": .string("a")])],
            by: ministry)
        try await bench.expect(
            [.applied], [bench.update("note", id, base: 1, ["text": .string("b")])], by: bench.coordinator)
        let refused = try await bench.expect([.rejected], [bench.delete("note", id, base: 1)], by: ministry)
        #expect(refused[0].reason == "updated" && refused[0].version == 2)
        #expect(try await bench.record(id)?.record?["text"] == .string("b"))
        // On the version it has seen, the delete applies.
        let applied = try await bench.expect([.applied], [bench.delete("note", id, base: 2)], by: ministry)
        #expect(applied[0].version == 3)
        #expect(try await bench.record(id)?.isDeleted == true)
    }

    @Test(arguments: StoreKind.allCases)
    func aReferencedRecordCannotBeDeletedUntilItsReferrersGo(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let ministry = bench.member(bench.ministry)
        let refused = try await bench.expect([.rejected], [bench.delete("person", ana, base: 1)], by: ministry)
        #expect(refused[0].reason == "referenced" && refused[0].version == 1)
        let round = try await bench.expect(
            [.rejected], [bench.delete("round", bench.round, base: 1)], by: bench.coordinator)
        #expect(round[0].reason == "referenced")
        try await bench.expect([.applied], [bench.delete("exchange", exchange, base: 1)], by: ministry)
        try await bench.expect([.applied], [bench.delete("person", ana, base: 1)], by: ministry)
        try await bench.expect([.applied], [bench.delete("round", bench.round, base: 1)], by: bench.coordinator)
    }
}
