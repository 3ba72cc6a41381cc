import Foundation
public import TandemProtocol

/// A change as the core received it, judged before the write transaction: who it is judged as
/// (its device's organisation, ``DeviceRegistry/author(pushedBy:registered:)``) and whether its
/// device's registered key signed it.
public struct ReceivedChange: Sendable {
    public var change: Change
    public var author: Author
    public var isSigned: Bool
    /// The change's RFC 8785 bytes, written once for its signature and its log line.
    public var canonical: [UInt8]?
    /// The openings pushed beside the change (the whole push's: each change takes those of its
    /// own commitments), SPEC §8.
    public var openings: Openings

    public init(
        change: Change, author: Author, isSigned: Bool, canonical: [UInt8]? = nil, openings: Openings = Openings()
    ) {
        self.change = change
        self.author = author
        self.isSigned = isSigned
        self.canonical = canonical
        self.openings = openings
    }
}

/// The head of the history: the last entry's seq and hash (0 and the genesis hash when empty).
public struct LogHead: Hashable, Sendable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    public static let empty = LogHead(seq: 0, hash: LogEntry.genesisHash)
}

/// A push batch worked out in memory (SPEC §5): each change merged in order against the facts a
/// store fetched for the batch and what the earlier changes did, logged with the next seq and
/// chained, and its consequences — record, references, unique values, grants, readers,
/// markers, conflicts, the openings of personal values — collected as ``BatchWrites``.
///
/// Personal values (SPEC §8): a change commits to them and its openings come beside it; the
/// merge reads the change opened, the history keeps it as signed (commitments only), and an
/// outcome's kept and lost personal values are committed to with the server's salts. A batch
/// holding a personal value in plain is refused whole (`plain_personal_value`): logged, it would
/// sit in the chain for ever.
///
/// A store drives it inside one write transaction (``StoreWork``): it fetches what
/// ``start(at:)`` and ``advance(with:)`` ask for until they ask for nothing, then writes
/// ``writes``. It never touches a store itself, so every store merges the same way.
public struct PushBatch: StoreWork {
    public let merge: Merge
    public let now: Int64
    let items: [ReceivedChange]
    /// One result a change, in order, once the batch is done.
    public private(set) var results: [PushResult] = []
    /// The record each change left (nil: rejected or duplicate), in order.
    public private(set) var states: [RecordState?] = []
    public private(set) var writes = BatchWrites()
    private var chain: LogChain
    private let context = BatchContext()
    /// The results of the change ids this batch has taken (a change signed by its device).
    private var taken: [String: PushResult] = [:]
    /// Everything asked of the store so far: a round that asks nothing new means it did not answer.
    private var asked = FactRequest()
    /// Each change with its commitments opened (nil: one that nothing pushed opens), in order.
    private var opened: [Change?] = []
    /// Which references are kept as rows, which counted.
    private let referenceIndex: ReferenceIndex

    public init(_ items: [ReceivedChange], merge: Merge, now: Int64, serverKey: SigningKey) {
        self.items = items
        self.merge = merge
        self.now = now
        referenceIndex = ReferenceIndex(schema: merge.schema)
        chain = LogChain(head: .empty, serverKey: serverKey)
    }

    var schema: Schema { merge.schema }

    // MARK: - Driving

    public mutating func start(at head: LogHead) throws -> FactRequest? {
        chain = LogChain(head: head, serverKey: chain.serverKey)
        opened = try items.enumerated().map { index, item throws(ServerError) in
            let personal = schema.personalFields(of: item.change.table)
            switch item.change.opened(item.openings, personal: personal) {
            case let .success(change): return change
            case let .failure(.plain(field)):
                throw ServerError(
                    .plainPersonalValue,
                    "changes[\(index)].fields.\(field): a personal value is pushed as a commitment, with its opening in \"values\" (SPEC §8)"
                )
            case .failure(.unopened): return nil
            }
        }
        var request = FactRequest()
        for (item, opened) in zip(items, opened) { foresee(opened ?? item.change, into: &request) }
        return try ask(request)
    }

    public mutating func advance(with facts: Facts) throws -> FactRequest? {
        context.supply(facts)
        while results.count < items.count {
            context.missing = FactRequest()
            guard let evaluation = evaluate(at: results.count) else {
                // What the rest of the batch will ask for, as far as can be told now: fetched in
                // the same round.
                var needed = context.missing
                for index in items.indices.dropFirst(results.count + 1) {
                    context.missing = FactRequest()
                    _ = evaluate(at: index)
                    needed.formUnion(context.missing)
                }
                context.missing = FactRequest()
                return try ask(needed)
            }
            commit(evaluation, of: items[results.count])
        }
        finish()
        return nil
    }

    private mutating func ask(_ request: FactRequest) throws -> FactRequest? {
        guard !request.isEmpty else { return try advance(with: Facts()) }
        let new = request.subtracting(asked)
        guard !new.isEmpty else {
            throw ServerError(.storage, "the store did not answer what the merge asked for")
        }
        asked.formUnion(new)
        return new
    }

    /// Adds to `request` the facts `change` will need, read from the change alone (the rest is
    /// asked for as the merge finds it needs it).
    private func foresee(_ change: Change, into request: inout FactRequest) {
        request.changeIDs.insert(change.changeID)
        request.records.insert(change.recordID)
        if Self.feedsReaders(of: change.table, in: schema) { request.readers.insert(change.recordID) }
        guard let table = try? schema.table(named: change.table) else { return }
        if Visibility.isRestricted(table) { request.readers.insert(change.recordID) }
        if table.isPersonal { request.grants.insert(change.recordID) }
        if Visibility.grantsSight(table) { request.withdrawn.insert(change.recordID) }
        if change.op == .delete { request.referenceCounts.insert(change.recordID) }
        for (name, value) in change.fields {
            guard let field = try? table.field(named: name) else { continue }
            if field.type == .ref, case let .string(target) = value {
                request.records.insert(target)
                let referred = field.references.flatMap { try? schema.table(named: $0) }
                if referred.map(Visibility.isRestricted) ?? true { request.readers.insert(target) }
                if referred?.isPersonal ?? true { request.grants.insert(target) }
            }
            if field.isUnique, let parsed = try? FieldValue(json: value, for: field, in: table.name) {
                request.uniques.insert(UniqueKey(table: table.name, field: name, value: parsed.json.serialized()))
            }
        }
    }

    // MARK: - One change

    private enum Evaluation {
        case duplicate(PushResult)
        case merged(Merge.Result, before: RecordState?, grants: Grants = Grants())
    }

    /// The grants of sight a record held before a change and holds after it (worked out once a change).
    struct Grants {
        var before: [(person: String, organisation: String)] = []
        var after: [(person: String, organisation: String)] = []
    }

    /// What the change at `index` does given what the batch knows; nil when a fact it needs is missing.
    private func evaluate(at index: Int) -> Evaluation? {
        let item = items[index]
        let change = item.change
        if let first = taken[change.changeID] { return .duplicate(duplicate(of: first)) }
        guard let logged = context.loggedChange(change.changeID) else { return nil }
        if let logged { return .duplicate(duplicate(of: logged, changeID: change.changeID)) }
        // Who receives the entry, whatever becomes of the change (``feed(_:by:seq:)``).
        guard context.record(change.recordID) != nil else { return nil }
        if Self.feedsReaders(of: change.table, in: schema), context.currentReaders(change.recordID) == nil {
            return nil
        }
        // The signature first: whatever else the server decides, the history can then prove who
        // sent it. A change refused for it is logged but does not take its change id.
        if !item.isSigned { return .merged(.rejected(.signature), before: nil) }
        if !Identifier.isUUID(change.changeID) { return .merged(.rejected(.malformedChangeID), before: nil) }
        if item.author.role == .auditor { return .merged(.rejected(.notPermitted), before: nil) }
        guard let opened = opened[index] else {
            let field = change.fields.keys.sorted().first { Commitment.hex(in: change.fields[$0] ?? .null) != nil }
            return .merged(.rejected(.commitment(field ?? "fields")), before: nil)
        }
        guard let current = context.record(change.recordID) else { return nil }
        let result = merge.apply(opened, by: item.author, to: current, now: now, context: context)
        guard context.missing.isEmpty else { return nil }
        guard let state = result.state else { return .merged(result, before: current) }
        guard let grants = knownGrants(after: state, before: current) else { return nil }
        return .merged(result, before: current, grants: grants)
    }

    private func duplicate(of first: PushResult) -> PushResult {
        PushResult(
            changeID: first.changeID, status: .duplicate, seq: first.seq, version: first.version, reason: first.reason)
    }

    private func duplicate(of logged: HistoryLine, changeID: String) -> PushResult {
        let outcome = (try? JSONValue.parse(logged.line))?["outcome"].flatMap { json in try? Outcome(json: json) }
        return PushResult(
            changeID: changeID, status: .duplicate, seq: logged.seq, version: outcome?.version,
            reason: outcome?.reason)
    }

    private mutating func commit(_ evaluation: Evaluation, of item: ReceivedChange) {
        let change = item.change
        switch evaluation {
        case let .duplicate(result):
            results.append(result)
            states.append(nil)
        case let .merged(result, before, grants):
            let personal = schema.personalFields(of: change.table)
            let (outcome, kept) = result.outcome.sealed(
                personal: personal, salts: chain.salts, changeID: change.changeID)
            let seq = chain.append(
                change, canonical: item.canonical, by: item.author, outcome: outcome, now: now,
                isSigned: item.isSigned, to: &writes)
            // Nothing of an erased record's values is kept again: a change refused `erased`
            // carries new ones, which go no further than its commitments.
            let pushed = change.fields.values.compactMap(Commitment.hex(in:)).compactMap { commitment in
                item.openings.value(of: commitment) == nil ? nil : item.openings[commitment]
            }
            for opening in before?.isErased == true ? [] : pushed + kept {
                writes.openings.append(OpeningRow(opening, seq: seq, table: change.table, recordID: change.recordID))
            }
            if let state = result.state { save(state, before: before, grants: grants, seq: seq) }
            feed(change, by: item.author, seq: seq)
            for conflict in result.openConflicts {
                writes.conflicts.append(
                    ConflictRow(
                        id: UUIDv7Generator.id(at: HLC(milliseconds: now, counter: Int(seq % 4096), device: "")),
                        table: change.table, recordID: change.recordID, field: conflict.field, incoming: conflict.lost,
                        seq: seq))
            }
            let answer = PushResult(
                changeID: change.changeID, status: result.outcome.status, seq: seq, version: result.outcome.version,
                reason: result.outcome.reason)
            if item.isSigned { taken[change.changeID] = answer }
            results.append(answer)
            states.append(result.state)
        }
    }

    // MARK: - A record's consequences

    /// The unique values a record holds while live.
    private func uniques(of state: RecordState?) -> Set<UniqueKey> {
        guard let state, !state.isDeleted, let table = try? schema.table(named: state.table) else { return [] }
        var keys = Set<UniqueKey>()
        for field in table.fields where field.isUnique && state[field.name] != .null {
            keys.insert(UniqueKey(table: table.name, field: field.name, value: state[field.name].serialized()))
        }
        return keys
    }

    /// Writes a record as the merge left it, its references and unique values, and brings up to
    /// date who may read it and the personal records it grants sight of.
    private mutating func save(_ state: RecordState, before: RecordState?, grants: Grants, seq: Int64) {
        writes.records[state.id] = (state, seq)
        let (formerReferences, references) = (
            ReferenceIndex.references(of: before, in: schema), ReferenceIndex.references(of: state, in: schema)
        )
        var referenceChanges: [ReferenceRow: Bool] = [:]
        for row in formerReferences.subtracting(references) { referenceChanges[row] = false }
        for row in references.subtracting(formerReferences) { referenceChanges[row] = true }
        var uniqueChanges: [UniqueKey: String?] = [:]
        let (formerUniques, uniques) = (self.uniques(of: before), self.uniques(of: state))
        for key in formerUniques.subtracting(uniques) { uniqueChanges.updateValue(nil, forKey: key) }
        for key in uniques.subtracting(formerUniques) { uniqueChanges.updateValue(state.id, forKey: key) }
        context.commit(state, references: referenceChanges, uniques: uniqueChanges)
        referenceIndex.apply(referenceChanges, table: state.table, to: &writes)
        writes.uniques.merge(uniqueChanges) { _, new in new }
        updateVisibility(after: state, grants: grants, seq: seq, isNew: before == nil)
    }
}

// MARK: - Who may read what

extension PushBatch {
    /// Whether the feed of an entry of `table` names its record's readers: for any table but
    /// those every token reads (one row for everyone) and the pseudo-tables (history for
    /// auditors, in no member's feed).
    static func feedsReaders(of table: String, in schema: Schema) -> Bool {
        guard !SchemaRegistry.pseudoTables.contains(table) else { return false }
        return (try? schema.table(named: table)).map(Visibility.isRestricted) ?? true
    }

    /// Puts the entry of `change` at `seq` in the feeds of those who may read it now it is
    /// written (docs/visibility.md "The pull feed"): everyone's, for a table every token reads;
    /// else the feeds of its record's readers, and its author's organisation's when no record of
    /// its table stands under its id (a refused insert, which only its author receives).
    private mutating func feed(_ change: Change, by author: Author, seq: Int64) {
        guard !SchemaRegistry.pseudoTables.contains(change.table) else { return }
        guard Self.feedsReaders(of: change.table, in: schema) else {
            writes.feed.append(FeedRow(organisation: FeedRow.everyone, seq: seq))
            return
        }
        var organisations = context.currentReaders(change.recordID) ?? []
        let stands = context.record(change.recordID).flatMap { $0 }.map { $0.table == change.table } ?? false
        if !stands, let organisation = author.organisation { organisations.insert(organisation) }
        for organisation in organisations.sorted() {
            writes.feed.append(FeedRow(organisation: organisation, seq: seq))
        }
    }

    /// The grants `state` held before and holds after a change, when every fact
    /// ``updateVisibility(after:grants:seq:isNew:)`` reads is known; nil when one is not (the missing ones noted).
    private func knownGrants(after state: RecordState, before: RecordState?) -> Grants? {
        guard let table = try? schema.table(named: state.table) else { return Grants() }
        var known = true
        var grants = Grants()
        if Visibility.isRestricted(table) {
            known = context.currentReaders(state.id) != nil && known
            if table.isPersonal { known = context.grants(state.id) != nil && known }
        }
        if Visibility.grantsSight(table) {
            known = context.isWithdrawn(state.id) != nil && known
            grants = Grants(before: self.grants(by: before, in: table), after: self.grants(by: state, in: table))
            for person in Set(grants.before.map(\.person) + grants.after.map(\.person)) {
                known = context.record(person) != nil && known
                known = context.currentReaders(person) != nil && known
                known = context.grants(person) != nil && known
            }
        }
        return known ? grants : nil
    }

    private func grants(by state: RecordState?, in table: TableSchema) -> [(person: String, organisation: String)] {
        guard let state, !state.isDeleted else { return [] }
        return Visibility.grants(in: schema, table: table, id: state.id, values: state.values)
    }

    /// Who may read `state` now (no arrival is marked for it: whoever may read it now also
    /// receives the entry of `seq`, which carries the whole record; departures are marked), and
    /// for a record that grants sight, its grants counted again: the personal records whose
    /// readers change gain arrivals and departures at `seq` (docs/visibility.md).
    ///
    /// - Parameter isNew: whether the change made the record (it has no earlier entry).
    private mutating func updateVisibility(after state: RecordState, grants: Grants, seq: Int64, isNew: Bool) {
        guard let table = try? schema.table(named: state.table) else { return }
        if Visibility.isRestricted(table) {
            setReaders(of: state, table: table, seq: seq, marksArrivals: false, isNew: isNew)
        }
        guard Visibility.grantsSight(table) else { return }
        // A record whose grants were withdrawn (it broke its constraints) granted nothing; saved
        // now, it satisfies them (the merge checked) and grants again.
        let wasWithdrawn = context.isWithdrawn(state.id) ?? false
        if wasWithdrawn {
            writes.restoredGrants.insert(state.id)
            context.setWithdrawn(false, of: state.id)
        }
        var deltas: [String: [String: Int]] = [:]
        if !wasWithdrawn {
            for grant in grants.before {
                deltas[grant.person, default: [:]][grant.organisation, default: 0] -= 1
            }
        }
        for grant in grants.after {
            deltas[grant.person, default: [:]][grant.organisation, default: 0] += 1
        }
        for (person, changes) in deltas.sorted(by: { $0.key < $1.key }) {
            let changes = changes.filter { $0.value != 0 }
            guard !changes.isEmpty else { continue }
            var counts = context.grants(person) ?? [:]
            let granted = counts.filter { $0.value > 0 }.keys
            for (organisation, delta) in changes {
                counts[organisation, default: 0] += delta
                writes.grantDeltas[person, default: [:]][organisation, default: 0] += delta
            }
            counts = counts.filter { $0.value > 0 }
            context.setGrants(counts, of: person)
            // Who may read the person follows from its values and the organisations granted
            // sight; when those are the same, so are its readers.
            guard Set(counts.keys) != Set(granted),
                case let .some(.some(record)) = context.record(person),
                let personTable = try? schema.table(named: record.table)
            else { continue }
            setReaders(of: record, table: personTable, seq: seq, marksArrivals: true, isNew: false)
        }
    }

    /// Sets a restricted record's readers as the rule gives them now, marking who lost sight
    /// (and who gained it, when `marksArrivals`) at `seq`.
    /// Organisations that gain sight of a record that has earlier entries are noted
    /// (``BatchWrites/feedGaps``): those entries are not in their feeds.
    private mutating func setReaders(
        of record: RecordState, table: TableSchema, seq: Int64, marksArrivals: Bool, isNew: Bool
    ) {
        let granted = table.isPersonal && !record.isDeleted ? Set((context.grants(record.id) ?? [:]).keys) : []
        let readers = Visibility.readers(of: table, id: record.id, values: record.values, granted: granted) ?? []
        let former = context.currentReaders(record.id) ?? []
        guard readers != former else { return }
        context.setReaders(readers, of: record.id)
        if !isNew {
            for organisation in readers.subtracting(former).sorted() {
                writes.feedGaps.append(FeedRow(organisation: organisation, seq: seq))
            }
        }
        if marksArrivals {
            for organisation in readers.subtracting(former).sorted() {
                writes.markers.append(
                    MarkerRow(organisation: organisation, seq: seq, recordID: record.id, kind: .arrival))
            }
        }
        for organisation in former.subtracting(readers).sorted() {
            writes.markers.append(
                MarkerRow(organisation: organisation, seq: seq, recordID: record.id, kind: .departure))
        }
    }

    /// The readers' rows to add and drop: the batch's final readers against the stored ones.
    private mutating func finish() {
        for (id, readers) in context.readerOverlay {
            let stored = context.storedReaders(id)
            for organisation in readers.subtracting(stored) { writes.visibility[id, default: [:]][organisation] = true }
            for organisation in stored.subtracting(readers) {
                writes.visibility[id, default: [:]][organisation] = false
            }
        }
    }
}
