import TandemProtocol
import Testing

// Seeded properties of the merge (SPEC §5). Each test prints its seed; re-run one with
// `TANDEM_SEED=<seed> swift test --filter <test>`.

// MARK: - Random values and changes

private let words = ["alpha", "beta", "gamma", "delta", "epsilon"]
private let setMembers = ["a", "b", "c", "d", "e"]

private func pick<T>(_ items: [T], _ random: inout SplitMix64) -> T {
    items[Int.random(in: 0..<items.count, using: &random)]
}

private func chance(_ oneIn: Int, _ random: inout SplitMix64) -> Bool {
    Int.random(in: 0..<oneIn, using: &random) == 0
}

private func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

/// A random value for `field`; refs point at records of `store` (live, deleted or none at all).
private func randomValue(for field: FieldSchema, in store: MemoryStore, _ random: inout SplitMix64) -> JSONValue {
    if chance(field.isRequired ? 40 : 6, &random) { return .null }
    switch field.type {
    case .text: return .string(pick(words, &random))
    case .int: return .int(Int64.random(in: -3...5, using: &random))
    case .real: return .double(pick([0.5, 1.25, 2, -1.5, 3.75], &random))
    case .bool: return .bool(Bool.random(using: &random))
    case .date: return .string("2026-05-\(twoDigits(Int.random(in: 1...20, using: &random)))")
    case .timestamp:
        let fraction = pick(["", ".5", ".25", ".125"], &random)
        return .string("2026-05-09T10:00:\(twoDigits(Int.random(in: 0...3, using: &random)))\(fraction)Z")
    case .enum: return .string(pick(field.values ?? [""], &random))
    case .ref:
        let candidates = store.records.values.filter { $0.table == field.references }.map(\.id).sorted()
        if candidates.isEmpty || chance(25, &random) { return .string(MergeIDs.nobody) }
        return .string(pick(candidates, &random))
    case .set:
        return .array(setMembers.filter { _ in chance(3, &random) }.map(JSONValue.string))
    }
}

private let partnershipAuthors: [Author] = [
    .memberA, .memberA2, .memberB, .memberC, .coordinator, .coordinator2, .server,
]

/// Makes random changes against a store, mostly valid and by authors who may make them, some
/// concurrent (on an older base, with an older clock), some broken.
private struct RandomEditor {
    var random: SplitMix64
    var clock: Int64 = 0
    var nextID = 0x9000

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next(for store: MemoryStore) -> (change: Change, author: Author) {
        clock += Int64.random(in: 1...20, using: &random)
        let time = max(0, clock - Int64.random(in: 0...100, using: &random))
        let counter = Int.random(in: 0...3, using: &random)
        let ids = store.records.keys.sorted()
        let roll = Int.random(in: 0..<100, using: &random)
        let op: Operation
        let table: TableSchema
        let id: String
        var fields: [String: JSONValue] = [:]
        var base: Int64 = 0
        let values: [String: JSONValue]
        if roll < 15 || ids.isEmpty {
            op = .insert
            table = pick(store.schema.tables, &random)
            nextID += 1
            let organisation = table.owners == ["id"] && chance(2, &random)
            id =
                organisation
                ? pick([MergeIDs.orgA, MergeIDs.orgB, testID(0xE0 + nextID % 3)], &random) : testID(nextID)
            for field in table.fields where field.isRequired || chance(3, &random) {
                fields[field.name] = randomValue(for: field, in: store, &random)
            }
            if table.name == "exchange" {
                fields["starts_on"] = .string("2026-05-\(twoDigits(Int.random(in: 1...10, using: &random)))")
                fields["ends_on"] = .string("2026-05-\(twoDigits(Int.random(in: 5...20, using: &random)))")
            }
            values = fields
        } else {
            let state = store.records[pick(ids, &random)]!
            table = try! store.schema.table(named: state.table)
            id = state.id
            base = max(1, state.version - Int64.random(in: 0...3, using: &random))
            if roll < 25 {
                op = .delete
            } else {
                op = .update
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let field = pick(table.fields, &random)
                    fields[field.name] = randomValue(for: field, in: store, &random)
                }
            }
            values = state.values
        }
        // Mostly an author who may write the record; sometimes anyone, auditors included.
        let permitted = partnershipAuthors.filter {
            $0.role != .member || Access.isOwner($0, table: table, id: id, values: values)
        }
        let author = chance(5, &random) ? pick(partnershipAuthors + [.auditor], &random) : pick(permitted, &random)
        var change = makeChange(op, table.name, id, fields, base: base, at: time, by: author, counter: counter)
        // Now and then a change the schema or the clock refuses.
        switch Int.random(in: 0..<100, using: &random) {
        case 0: change.fields["colour"] = .string("red")
        case 1: if let name = change.fields.keys.sorted().first { change.fields[name] = .object([]) }
        case 2: change.hlc = HLC(milliseconds: mergeNow + 600_000, counter: 0, device: change.device).description
        case 3: change.table = "nothing"
        default: break
        }
        return (change, author)
    }
}

/// Runs `steps` random changes against the partnership store, calling `check` with the store
/// before each change, the change, its author and the result; returns the final store.
@discardableResult
private func randomHistory(
    seed: UInt64, steps: Int,
    check: (_ before: MemoryStore, _ change: Change, _ author: Author, _ result: Merge.Result) -> Void = { _, _, _, _ in
    }
) -> (store: MemoryStore, results: [Merge.Result]) {
    var store = partnershipStore()
    var editor = RandomEditor(seed: seed)
    var results: [Merge.Result] = []
    for _ in 0..<steps {
        let (change, author) = editor.next(for: store)
        let before = store
        let result = store.apply(change, by: author)
        results.append(result)
        check(before, change, author, result)
    }
    return (store, results)
}

// MARK: - Determinism

@Test func theMergeIsDeterministic() {
    var seeds = SplitMix64.seeded()
    let fresh = Merge(schema: try! decodeSchema(Schema.partnership.json.serialized()))
    for _ in 0..<10 {
        let seed = seeds.next()
        randomHistory(seed: seed, steps: 120) { before, change, author, result in
            let again = before.preview(change, by: author)
            #expect(again == result, "seed \(seed): \(change.json.serialized())")
            let other = fresh.apply(
                change, by: author, to: before[change.recordID], now: mergeNow, context: before.scan)
            #expect(other == result, "seed \(seed): \(change.json.serialized())")
        }
    }
}

@Test func aRandomHistoryReplayedGivesTheSameRecordsAndOutcomes() {
    var seeds = SplitMix64.seeded()
    for _ in 0..<10 {
        let seed = seeds.next()
        let first = randomHistory(seed: seed, steps: 150)
        let second = randomHistory(seed: seed, steps: 150)
        #expect(first.results == second.results, "seed \(seed)")
        #expect(first.store.records == second.store.records, "seed \(seed)")
    }
}

// MARK: - Validity

/// Checks what every stored record must satisfy: the schema on its own, live references, and
/// unique values held by one live record.
private func expectValid(_ store: MemoryStore, _ note: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for state in store.records.values.sorted(by: { $0.id < $1.id }) {
        guard let table = try? store.schema.table(named: state.table) else {
            Issue.record("\(note): a record of unknown table \(state.table)", sourceLocation: sourceLocation)
            continue
        }
        do {
            try table.validate(record(of: state, in: table))
        } catch {
            Issue.record("\(note): \(state.table) \(state.id) is invalid: \(error)", sourceLocation: sourceLocation)
        }
        guard !state.isDeleted else { continue }
        for field in table.fields {
            let value = state[field.name]
            guard value != .null else { continue }
            if field.type == .ref, case let .string(target) = value, let references = field.references {
                #expect(
                    store.isLive(table: references, id: target),
                    "\(note): \(state.table).\(field.name) of \(state.id) refers to no live \(references)",
                    sourceLocation: sourceLocation)
            }
            if field.isUnique {
                #expect(
                    store.holder(of: value, table: table.name, field: field.name, excluding: state.id) == nil,
                    "\(note): \(state.table).\(field.name) \(value) held twice", sourceLocation: sourceLocation)
            }
        }
    }
}

@Test func aRandomHistoryNeverLeavesARecordTheSchemaRefuses() {
    var seeds = SplitMix64.seeded()
    var accepted = 0
    var rejected = 0
    for _ in 0..<20 {
        let seed = seeds.next()
        let (store, _) = randomHistory(seed: seed, steps: 150) { before, change, _, result in
            if let state = result.state {
                accepted += 1
                let table = try! before.schema.table(named: state.table)
                #expect(throws: Never.self, "seed \(seed): \(change.json.serialized())") {
                    try table.validate(record(of: state, in: table))
                }
                #expect(state.version == before.version(change.recordID) + 1, "seed \(seed)")
                #expect(result.outcome.version == state.version, "seed \(seed)")
                #expect(state.id == change.recordID && state.table == change.table, "seed \(seed)")
                #expect(state.isDeleted == (change.op == .delete), "seed \(seed)")
            } else {
                rejected += 1
                #expect(result.outcome.status == .rejected, "seed \(seed)")
                #expect(result.outcome.reason?.rawValue.isEmpty == false, "seed \(seed)")
                #expect(result.outcome.applied.isEmpty && result.outcome.conflicts.isEmpty, "seed \(seed)")
                #expect(result.openConflicts.isEmpty, "seed \(seed)")
            }
        }
        expectValid(store, "seed \(seed)")
    }
    // The generator must exercise both sides.
    #expect(accepted > 500)
    #expect(rejected > 200)
}

// MARK: - Nothing is lost

@Test func everyFieldOfAnUpdateIsAppliedOrListedAsAConflict() {
    var seeds = SplitMix64.seeded()
    var conflicts = 0
    var merged = 0
    for _ in 0..<20 {
        let seed = seeds.next()
        randomHistory(seed: seed, steps: 150) { before, change, author, result in
            guard change.op == .update, let state = result.state, let current = before[change.recordID] else { return }
            let table = try! before.schema.table(named: change.table)
            let note = "seed \(seed): \(change.json.serialized()) by \(author)"
            for (name, value) in change.fields.sorted(by: { $0.key < $1.key }) {
                let field = try! table.field(named: name)
                let incoming = normalized(value, field, in: table.name)
                let previous = current[name]
                let isApplied = result.outcome.applied.contains(name)
                let listed = result.outcome.conflicts.filter { $0.field == name }
                #expect(isApplied || !listed.isEmpty, "\(note): \(name) neither applied nor a conflict")
                #expect(listed.count <= 1, "\(note): \(name) listed twice")
                let existing = current.fields[name]
                // SPEC §5: someone else changed the field after the change's base, to another value.
                let changedByOthers = existing.map { $0.version > change.baseVersion && $0.author != author } ?? false
                let concurrent = changedByOthers && previous != incoming
                if !concurrent {
                    #expect(isApplied && listed.isEmpty, "\(note): \(name) is no conflict")
                    #expect(state[name] == incoming, "\(note): \(name)")
                } else if field.rule == .union {
                    merged += 1
                    var members = Set<JSONValue>()
                    for case let .array(items) in [previous, incoming] { members.formUnion(items) }
                    #expect(Set(state[name].arrayItems) == members, "\(note): \(name) must hold both sides")
                } else {
                    conflicts += 1
                    guard let conflict = listed.first else {
                        Issue.record("\(note): \(name) conflict not listed")
                        continue
                    }
                    #expect(conflict.rule == field.rule, "\(note)")
                    #expect(Set([conflict.kept, conflict.lost]) == Set([incoming, previous]), "\(note): \(name)")
                    #expect(state[name] == conflict.kept, "\(note): \(name)")
                    #expect(isApplied == (conflict.kept == incoming), "\(note): \(name)")
                    #expect(result.openConflicts.contains(conflict) == (field.rule == .manual), "\(note): \(name)")
                }
            }
            for open in result.openConflicts {
                #expect(open.rule == .manual && result.outcome.conflicts.contains(open), "\(note)")
            }
            let expected: Outcome.Status =
                change.baseVersion == current.version
                ? .applied : (change.fields.keys.allSatisfy(result.outcome.applied.contains) ? .merged : .conflict)
            #expect(result.outcome.status == expected, "\(note)")
        }
    }
    #expect(conflicts > 20)
}

extension JSONValue {
    fileprivate var arrayItems: [JSONValue] {
        if case let .array(items) = self { return items }
        return []
    }
}

// MARK: - Order independence of two concurrent updates

private let lwwFields = ["label"]
private let valueRuleFields = ["high", "low", "level", "floor", "peak", "latest", "earliest", "seen_at"]
private let unionFields = ["tags"]
/// Every field whose rule settles two concurrent edits the same way in either order (all but manual).
private let orderFreeFields = lwwFields + valueRuleFields + unionFields + ["first", "owned", "boss"]
/// Authors who may write the lab item: its team (A, two devices), its partner (B), coordinators.
private let itemAuthors: [Author] = [.memberA, .memberA2, .memberB, .coordinator, .coordinator2]

/// Two concurrent updates of the lab item by different authors, on the same base, touching
/// random `fields`, applied in both orders: the item must end the same.
private func expectOrderIndependence(of fields: [String], rounds: Int, test: String = #function) {
    var random = SplitMix64.seeded(test)
    let item = try! labSchema.table(named: "item")
    var overlaps = 0
    for round in 0..<rounds {
        var base: [String: JSONValue] = [:]
        var store = labStore()
        for name in fields { base[name] = randomValue(for: try! item.field(named: name), in: store, &random) }
        store = labStore(item: base)
        var edits: [(change: Change, author: Author)] = []
        var authors = itemAuthors
        for _ in 0..<2 {
            let author = authors.remove(at: Int.random(in: 0..<authors.count, using: &random))
            var values: [String: JSONValue] = [:]
            for name in fields where chance(2, &random) {
                values[name] = randomValue(for: try! item.field(named: name), in: store, &random)
            }
            if values.isEmpty {
                let name = pick(fields, &random)
                values[name] = randomValue(for: try! item.field(named: name), in: store, &random)
            }
            let time = Int64.random(in: 0...3, using: &random) * 10
            edits.append((updateChange("item", MergeIDs.item, values, base: 1, at: time, by: author), author))
        }
        if !Set(edits[0].change.fields.keys).isDisjoint(with: edits[1].change.fields.keys) { overlaps += 1 }
        var forward = store
        var backward = store
        for edit in edits {
            let result = forward.apply(edit.change, by: edit.author)
            #expect(result.outcome.status != .rejected, "\(result.outcome)")
        }
        for edit in edits.reversed() {
            let result = backward.apply(edit.change, by: edit.author)
            #expect(result.outcome.status != .rejected, "\(result.outcome)")
        }
        let a = forward[MergeIDs.item]
        let b = backward[MergeIDs.item]
        for name in fields {
            #expect(
                a?[name] == b?[name],
                """
                round \(round): \(name) differs by order: \(a?[name] ?? .null) vs \(b?[name] ?? .null); \
                base \(base[name] ?? .null); \
                \(edits[0].author.device ?? "") \(edits[0].change.hlc.suffix(12)) \(edits[0].change.fields[name] ?? .null), \
                \(edits[1].author.device ?? "") \(edits[1].change.hlc.suffix(12)) \(edits[1].change.fields[name] ?? .null)
                """)
        }
        #expect(a?.version == 3 && b?.version == 3)
    }
    #expect(overlaps > rounds / 10)
}

@Test func lwwIsIndependentOfTheOrderOfTwoConcurrentUpdates() {
    expectOrderIndependence(of: lwwFields + ["code"], rounds: 1_000)
}

@Test func unionIsIndependentOfTheOrderOfTwoConcurrentUpdates() {
    expectOrderIndependence(of: unionFields, rounds: 1_000)
}

@Test func maxAndMinAreIndependentOfTheOrderOfTwoConcurrentUpdates() {
    expectOrderIndependence(of: valueRuleFields, rounds: 1_000)
}

@Test func everyRuleButManualIsIndependentOfTheOrderOfTwoConcurrentUpdates() {
    expectOrderIndependence(of: orderFreeFields, rounds: 1_000)
}

/// Concurrent updates of a union field by different authors, all on version 1: the set ends as
/// the union of everything they wrote, whatever the order.
@Test func unionNeverLosesAMember() {
    var random = SplitMix64.seeded()
    let tags = try! labSchema.table(named: "item").field(named: "tags")
    for _ in 0..<500 {
        var store = labStore(item: ["tags": randomValue(for: tags, in: labStore(), &random)])
        var authors = itemAuthors
        var written = Set<JSONValue>()
        var notes: [String] = []
        for step in 0..<Int.random(in: 2...itemAuthors.count, using: &random) {
            let author = authors.remove(at: Int.random(in: 0..<authors.count, using: &random))
            let value = randomValue(for: tags, in: store, &random)
            written.formUnion(value.arrayItems)
            notes.append("\(author.device ?? ""): \(value)")
            let time = Int64.random(in: 0...100, using: &random) + Int64(step)
            store.apply(updateChange("item", MergeIDs.item, ["tags": value], base: 1, at: time, by: author), by: author)
        }
        #expect(Set(store[MergeIDs.item]?["tags"].arrayItems ?? []) == written, "\(notes)")
    }
}
