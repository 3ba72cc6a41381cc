/// The merge (SPEC §5) as a pure function: the record as the server holds it, a change and who
/// made it → the record after it, and what happened to each field. Every peer that applies it to
/// the same inputs gets the same answer; the server's stores are thin around it.
///
/// ```swift
/// let merge = Merge(schema: .partnership)
/// let result = merge.apply(change, by: author, to: current, now: clock.now, context: store)
/// result.outcome.status  // .applied, .merged, .conflict or .rejected
/// ```
public struct Merge: Sendable {
    /// What a change did: the record after it (nil when rejected: the record is unchanged),
    /// the outcome for the history, and the `manual` conflicts it opened.
    public struct Result: Hashable, Sendable {
        public var state: RecordState?
        public var outcome: Outcome
        public var openConflicts: [FieldConflict]

        public init(state: RecordState?, outcome: Outcome, openConflicts: [FieldConflict]) {
            self.state = state
            self.outcome = outcome
            self.openConflicts = openConflicts
        }
    }

    public let schema: Schema

    public init(schema: Schema) { self.schema = schema }

    public func apply(
        _ change: Change, by author: Author, to current: RecordState?, now: Int64, context: some MergeContext
    ) -> Result {
        func reject(_ reason: RejectionReason) -> Result {
            // A record the author may not read is not described, whatever is wrong with the change.
            let version = current.flatMap { current in
                mayRead(current.id, in: current.table, by: author, context: context) ? current.version : nil
            }
            return Result(state: nil, outcome: .rejected(reason, version: version), openConflicts: [])
        }
        guard let table = try? schema.table(named: change.table) else { return reject(.unknownTable) }
        guard Identifier.isUUID(change.recordID) else { return reject(.malformedRecordID) }
        guard let hlc = HLC(change.hlc) else { return reject(.malformedHLC) }
        if hlc.milliseconds > now + WireProtocol.maximumClockSkewMilliseconds { return reject(.clock) }
        if schema.limits.oversizedValue(in: change) != nil { return reject(.valueTooLarge) }
        var incoming: [String: JSONValue] = [:]
        for (name, value) in change.fields {
            guard let field = try? table.field(named: name) else { return reject(.unknownField(name)) }
            guard let parsed = try? FieldValue(json: value, for: field, in: table.name),
                field.type != .ref || parsed.text.map(Identifier.isUUID) ?? true
            else {
                return reject(.wrongType(name))
            }
            incoming[name] = parsed.json
        }
        if let current, current.table != table.name { return reject(.unknownTable) }
        switch change.op {
        case .insert: return insert(change, incoming, by: author, into: table, current: current, context: context)
        case .update: return update(change, incoming, by: author, in: table, current: current, context: context)
        case .delete: return delete(change, incoming, by: author, in: table, current: current, context: context)
        case .erase: return erase(change, incoming, by: author, in: table, current: current)
        }
    }

    // MARK: - Operations

    private func insert(
        _ change: Change, _ incoming: [String: JSONValue], by author: Author, into table: TableSchema,
        current: RecordState?, context: some MergeContext
    ) -> Result {
        if let current {
            // A record the author may not read is not described: not its state, not its version.
            guard mayRead(current.id, in: table.name, by: author, context: context) else { return .rejected(.exists) }
            return .rejected(current.isDeleted ? .deleted : .exists, version: current.version)
        }
        guard change.baseVersion == 0 else { return .rejected(.insertBaseVersion) }
        let values = Self.insertedValues(incoming, in: table)
        guard Access.mayWrite(author, table: table, id: change.recordID, before: nil, after: values) else {
            return .rejected(.notPermitted)
        }
        if let reason = check(values, in: table) { return .rejected(reason) }
        if let reason = checkReferencesAndUniques(
            values, fields: Set(values.keys), in: table, id: change.recordID, by: author, context: context)
        {
            return .rejected(reason)
        }
        if let reason = checkConstraints(values, before: nil, id: change.recordID, in: table, context: context) {
            return .rejected(reason)
        }
        let fields = values.mapValues {
            RecordState.Field(value: $0, version: 1, changeID: change.changeID, hlc: change.hlc, author: author)
        }
        let state = RecordState(table: table.name, id: change.recordID, version: 1, fields: fields)
        return Result(
            state: state, outcome: Outcome(status: .applied, version: 1, applied: values.keys.sorted()),
            openConflicts: [])
    }

    private func update(
        _ change: Change, _ incoming: [String: JSONValue], by author: Author, in table: TableSchema,
        current: RecordState?, context: some MergeContext
    ) -> Result {
        guard let current, mayRead(current.id, in: table.name, by: author, context: context) else {
            return .rejected(.missing)
        }
        if let rejection = rejection(ofDeletedOrFuture: current, for: change) { return rejection }
        let version = current.version + 1
        var state = current
        state.version = version
        var applied: [String] = []
        var conflicts: [FieldConflict] = []
        var open: [FieldConflict] = []
        var lostAny = false
        for name in incoming.keys.sorted() {
            let value = incoming[name] ?? .null
            let field = (try? table.field(named: name)) ?? FieldSchema(name: name, type: .text)
            let existing = current.fields[name]
            let isConcurrent =
                existing.map {
                    Self.isConcurrent(fieldSetAt: $0.version, by: $0.author, base: change.baseVersion, changeBy: author)
                } ?? false
            if isConcurrent, let existing, existing.value == value {
                // The same value written twice is no conflict; the field keeps the stamp its rule
                // ranks first.
                applied.append(name)
                if !Self.keepsExistingStamp(rule: field.rule, existing: existing.hlc, incoming: change.hlc) {
                    state.fields[name] = RecordState.Field(
                        value: value, version: version, changeID: change.changeID, hlc: change.hlc, author: author)
                }
                continue
            }
            let isConflict = isConcurrent
            var result = value
            if isConflict, let existing {
                switch settle(
                    field, incoming: value, hlc: change.hlc, author: author, existing: existing, current: current,
                    table: table)
                {
                case .incoming:
                    conflicts.append(FieldConflict(field: name, rule: field.rule, kept: value, lost: existing.value))
                case .existing:
                    conflicts.append(FieldConflict(field: name, rule: field.rule, kept: existing.value, lost: value))
                    lostAny = true
                    continue
                case let .merged(merged):
                    result = merged
                case .held:
                    let conflict = FieldConflict(field: name, rule: .manual, kept: existing.value, lost: value)
                    conflicts.append(conflict)
                    open.append(conflict)
                    lostAny = true
                    continue
                }
            }
            applied.append(name)
            state.fields[name] = RecordState.Field(
                value: result, version: version, changeID: change.changeID, hlc: change.hlc, author: author)
        }
        let after = state.values
        guard Access.mayWrite(author, table: table, id: current.id, before: current.values, after: after) else {
            return .rejected(.notPermitted, version: current.version)
        }
        if let reason = check(after, in: table) { return .rejected(reason, version: current.version) }
        if let reason = checkReferencesAndUniques(
            after, fields: Set(applied), in: table, id: current.id, by: author, context: context)
        {
            return .rejected(reason, version: current.version)
        }
        if let reason = checkConstraints(after, before: current.values, id: current.id, in: table, context: context) {
            return .rejected(reason, version: current.version)
        }
        let status: Outcome.Status =
            change.baseVersion == current.version ? .applied : (lostAny ? .conflict : .merged)
        return Result(
            state: state,
            outcome: Outcome(status: status, version: version, applied: applied, conflicts: conflicts),
            openConflicts: open)
    }

    private func delete(
        _ change: Change, _ incoming: [String: JSONValue], by author: Author, in table: TableSchema,
        current: RecordState?, context: some MergeContext
    ) -> Result {
        guard let current, mayRead(current.id, in: table.name, by: author, context: context) else {
            return .rejected(.missing)
        }
        if let rejection = rejection(ofDeletedOrFuture: current, for: change) { return rejection }
        guard incoming.isEmpty else { return .rejected(.unexpectedFields, version: current.version) }
        guard Access.mayWrite(author, table: table, id: current.id, before: current.values, after: nil) else {
            return .rejected(.notPermitted, version: current.version)
        }
        let updatedSince = current.fields.values.contains {
            Self.isConcurrent(fieldSetAt: $0.version, by: $0.author, base: change.baseVersion, changeBy: author)
        }
        if table.deleteRule == .updateWins, updatedSince { return .rejected(.updated, version: current.version) }
        if context.isReferenced(table: table.name, id: current.id) {
            return .rejected(.referenced, version: current.version)
        }
        var state = current
        state.version += 1
        state.isDeleted = true
        let status: Outcome.Status = change.baseVersion == current.version ? .applied : .merged
        return Result(state: state, outcome: Outcome(status: status, version: state.version), openConflicts: [])
    }

    /// An erasure (SPEC §8, `tandem erase`): made and signed by the server alone, on a live record of a table
    /// with personal data; every personal field becomes null — without the checks an edit
    /// meets, a required one included — and the record is marked erased, for good. The fields
    /// that held a value are the outcome's `applied`.
    private func erase(
        _ change: Change, _ incoming: [String: JSONValue], by author: Author, in table: TableSchema,
        current: RecordState?
    ) -> Result {
        // The server makes and signs an erasure, for the coordinator who asked (or itself).
        guard change.device == DeviceRegistry.serverDevice, author.role == .server || author.role == .coordinator
        else {
            return .rejected(.notPermitted, version: current?.version)
        }
        guard let current else { return .rejected(.missing) }
        if let rejection = rejection(ofDeletedOrFuture: current, for: change) { return rejection }
        let personal = table.personalFields
        guard incoming.isEmpty, !personal.isEmpty else { return .rejected(.unexpectedFields, version: current.version) }
        var state = current
        state.version += 1
        state.isErased = true
        var applied: [String] = []
        for name in personal.sorted() where current[name] != .null {
            applied.append(name)
            state.fields[name] = RecordState.Field(
                value: .null, version: state.version, changeID: change.changeID, hlc: change.hlc, author: author)
        }
        return Result(
            state: state, outcome: Outcome(status: .applied, version: state.version, applied: applied),
            openConflicts: [])
    }

    /// An update, delete or erasure applies to a live record whose version is not older than its
    /// base; an erased record takes no change at all (`erased`).
    private func rejection(ofDeletedOrFuture current: RecordState, for change: Change) -> Result? {
        if current.isDeleted { return .rejected(.deleted, version: current.version) }
        if current.isErased { return .rejected(.erased, version: current.version) }
        guard change.baseVersion <= current.version else {
            return .rejected(.check("base_version"), version: current.version)
        }
        return nil
    }

    // MARK: - Rules

    private enum Settlement {
        case incoming, existing, held
        case merged(JSONValue)
    }

    /// Settles one field conflict by the field's rule.
    private func settle(
        _ field: FieldSchema, incoming: JSONValue, hlc: String, author: Author, existing: RecordState.Field,
        current: RecordState, table: TableSchema
    ) -> Settlement {
        let newerWins: Settlement = hlc > existing.hlc ? .incoming : .existing
        switch field.rule {
        case .lww:
            return newerWins
        case .firstWins:
            return hlc < existing.hlc ? .incoming : .existing
        case .ownerWins:
            let values = current.values
            let incomingOwns = Access.isOwner(author, table: table, id: current.id, values: values)
            let existingOwns = Access.isOwner(existing.author, table: table, id: current.id, values: values)
            if incomingOwns == existingOwns { return newerWins }
            return incomingOwns ? .incoming : .existing
        case .coordinatorWins:
            let incomingRules = author.role == .coordinator || author.role == .server
            let existingRules = existing.author.role == .coordinator || existing.author.role == .server
            if incomingRules == existingRules { return newerWins }
            return incomingRules ? .incoming : .existing
        case .max, .min:
            // A value beats NULL whichever way the rule looks.
            if existing.value == .null { return .incoming }
            if incoming == .null { return .existing }
            guard let order = Self.compare(incoming, existing.value, as: field) else { return newerWins }
            if order == 0 { return newerWins }
            return (order > 0) == (field.rule == .max) ? .incoming : .existing
        case .union:
            return .merged(Self.union(incoming, existing.value))
        case .manual:
            return .held
        }
    }

    /// -1, 0 or 1 as `lhs` orders before, with or after `rhs`; a value orders after NULL; nil
    /// when the two cannot be compared.
    static func compare(_ lhs: JSONValue, _ rhs: JSONValue, as field: FieldSchema) -> Int? {
        switch (lhs, rhs) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case let (.int(a), .int(b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.int, .double), (.double, .int), (.double, .double):
            guard let a = lhs.number, let b = rhs.number else { return nil }
            return a < b ? -1 : (a == b ? 0 : 1)
        case let (.string(a), .string(b)):
            if field.type == .enum, let values = field.values, let i = values.firstIndex(of: a),
                let j = values.firstIndex(of: b)
            {
                return i < j ? -1 : (i == j ? 0 : 1)
            }
            if field.type == .timestamp {
                return Timestamp.isEarlier(a, than: b) ? -1 : (Timestamp.isEarlier(b, than: a) ? 1 : 0)
            }
            return a < b ? -1 : (a == b ? 0 : 1)
        default: return nil
        }
    }

    // MARK: - Checks after merging

    /// `check:<field>` when a required field is unset or a date order is broken.
    private func check(_ values: [String: JSONValue], in table: TableSchema) -> RejectionReason? {
        var positional: [FieldValue] = []
        for field in table.fields {
            let value = values[field.name] ?? .null
            positional.append((try? FieldValue(json: value, for: field, in: table.name)) ?? .null)
        }
        do {
            try table.validate(fieldValues: positional)
            return nil
        } catch {
            return .check(error.field ?? "record")
        }
    }

    /// `reference:<field>` for a reference to no live record — or to one the author may not read
    /// (docs/security.md, "A reference never widens what a member sees"): the same answer, so
    /// that it does not tell whether the record exists —, `unique:<field>` for a value a live
    /// record already holds; only `fields` are checked.
    private func checkReferencesAndUniques(
        _ values: [String: JSONValue], fields: Set<String>, in table: TableSchema, id: String, by author: Author,
        context: some MergeContext
    ) -> RejectionReason? {
        for field in table.fields where fields.contains(field.name) {
            guard let value = values[field.name], value != .null else { continue }
            if field.type == .ref, let target = field.references, case let .string(reference) = value,
                !context.isLive(table: target, id: reference)
                    || !mayRead(reference, in: target, by: author, context: context)
            {
                return .reference(field.name)
            }
            if field.isUnique, context.holder(of: value, table: table.name, field: field.name, excluding: id) != nil {
                return .unique(field.name)
            }
        }
        return nil
    }
}

extension Merge {
    /// The reason of the first constraint (``Constraint``) the record breaks (`check:<field>`,
    /// `limit:<group>`), or — for an update — that a record referring to it would break.
    private func checkConstraints(
        _ values: [String: JSONValue], before: [String: JSONValue]?, id: String, in table: TableSchema,
        context: some MergeContext
    ) -> RejectionReason? {
        if let broken = Constraint.violation(of: table, by: values, before: before, id: id, context: context) {
            return broken.reason
        }
        guard let before else { return nil }
        return Constraint.violationByReferrers(
            ofChangeTo: values, before: before, id: id, in: table, schema: schema, context: context)?.reason
    }

    /// Whether `author` may read the record `id` of the table called `table` (SPEC §6): always
    /// for coordinators, auditors and the server, and for a record of a table every token reads.
    private func mayRead(_ id: String, in table: String, by author: Author, context: some MergeContext) -> Bool {
        guard author.role == .member, let schema = try? schema.table(named: table), Visibility.isRestricted(schema)
        else { return true }
        guard let organisation = author.organisation else { return false }
        return context.readers(of: id).contains(organisation)
    }
}

extension Merge.Result {
    public static func rejected(_ reason: RejectionReason, version: Int64? = nil) -> Merge.Result {
        Merge.Result(state: nil, outcome: .rejected(reason, version: version), openConflicts: [])
    }
}

extension JSONValue {
    var number: Double? {
        switch self {
        case let .int(value): Double(value)
        case let .double(value): value
        default: nil
        }
    }
}
