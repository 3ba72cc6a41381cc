/// A rule a record must satisfy beyond its own fields' types (SPEC §2, "programme rules across
/// records"), declared in the schema on the table it constrains, checked by the CLI against what
/// the replica holds and decided by the server at merge. docs/schema.md describes the language.
///
/// Four kinds, each read as the programme says it:
///
/// ```json
/// {"kind": "equal", "field": "person.organisation", "to": "home"}
/// {"kind": "within", "field": "starts_on", "from": "round.opens_on", "to": "round.closes_on"}
/// {"kind": "required", "field": "mentor", "when": {"field": "status", "in": ["selected", "in_progress"]}}
/// {"kind": "limit", "group": "round", "max": 5, "when": {"field": "status", "in": ["selected", "in_progress"]}}
/// ```
///
/// - `equal`: the two paths hold the same value — "the person on an exchange works for its home";
/// - `within`: the field lies between `from` and `to` (inclusive; either bound may be left out) —
///   "an exchange runs inside its round's window";
/// - `required`: the field is set whenever the condition holds — "a selected challenge has a mentor";
/// - `limit`: at most `max` live records with the same `group` satisfy the condition — "at most five
///   selected challenges a round".
///
/// A *path* is a field of the record (`home`) or a field of the record one of its references points
/// to (`round.opens_on`). A comparison holds when either side is NULL or names a record that cannot
/// be found (the reference itself is checked elsewhere): the rules speak of values that are set.
/// A broken rule is rejected `check:<field>` (`limit:<group>` for a limit).
public struct Constraint: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case equal, within, required, limit
    }

    /// A condition on a field of the record: its value is one of `values`.
    public struct Condition: Hashable, Sendable, CustomStringConvertible {
        public var field: String
        public var values: [JSONValue]

        public init(field: String, values: [JSONValue]) {
            self.field = field
            self.values = values
        }

        /// Whether a record with these values meets the condition.
        public func isMet(by values: [String: JSONValue]) -> Bool {
            self.values.contains(values[field] ?? .null)
        }

        public var description: String {
            let shown = values.map { value in
                if case let .string(text) = value { text } else { value.serialized() }
            }
            return "\(field) is \(shown.joined(separator: ", "))"
        }
    }

    public var kind: Kind
    /// The field the rule is about (for a limit, the field that groups the records): the field of
    /// `check:<field>` / `limit:<field>`.
    public var field: Path
    /// `equal`: the other side; `within`: the upper bound.
    public var to: Path?
    /// `within`: the lower bound.
    public var from: Path?
    /// `required` and `limit`: when the rule applies.
    public var when: Condition?
    /// `limit`: how many records of a group may meet the condition.
    public var max: Int?

    public init(
        kind: Kind, field: Path, to: Path? = nil, from: Path? = nil, when: Condition? = nil, max: Int? = nil
    ) {
        self.kind = kind
        self.field = field
        self.to = to
        self.from = from
        self.when = when
        self.max = max
    }

    /// A field of the record (`home`), or a field of the record a reference points to
    /// (`person.organisation`: the `organisation` of the record `person` refers to).
    public struct Path: Hashable, Sendable, CustomStringConvertible {
        /// The field of the constrained record.
        public var field: String
        /// The field of the referenced record, when the path goes through a reference.
        public var target: String?

        public init(field: String, target: String? = nil) {
            self.field = field
            self.target = target
        }

        /// Parses `field` or `ref.field`; nil for anything else.
        public init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
            field = parts[0]
            target = parts.count == 2 ? parts[1] : nil
        }

        public var description: String { target.map { "\(field).\($0)" } ?? field }
    }

    /// The paths the rule compares (none for a limit).
    public var paths: [Path] { [field] + [from, to].compactMap { $0 } }

    /// The rejection reason of a record that breaks the rule: `check:<field>` or `limit:<group>`.
    public var reason: RejectionReason { kind == .limit ? .limit(field.field) : .check(field.field) }

    /// What the rule says, for a message: `person.organisation must equal home`.
    public var description: String {
        switch kind {
        case .equal:
            return "\(field) must equal \(to?.description ?? "?")"
        case .within:
            let bounds = [from.map { "on or after \($0)" }, to.map { "on or before \($0)" }].compactMap { $0 }
            return "\(field) must be \(bounds.joined(separator: " and "))"
        case .required:
            return "\(field) is required when \(when?.description ?? "?")"
        case .limit:
            return "at most \(max ?? 0) \(when.map { "records whose \($0)" } ?? "records") per \(field)"
        }
    }
}

/// What a constraint needs to know about other records. The server's store answers from its
/// tables inside the write transaction; the replica from its own tables (what it holds).
public protocol ConstraintContext {
    /// The values of the live record of `table` with this id (unset fields left out); nil when
    /// there is none.
    func liveValues(table: String, id: String) -> [String: JSONValue]?
    /// How many live records of `table` other than `excluding` refer to `group` through `field`
    /// and meet `condition`.
    func count(
        in table: String, field: String, refersTo group: String, meeting condition: Constraint.Condition?,
        excluding id: String
    ) -> Int
    /// The live records of `table` that refer to `id` through `field`, with their values.
    func referrers(in table: String, field: String, to id: String) -> [(id: String, values: [String: JSONValue])]
}

extension Constraint {
    /// Whether a record of `table` with these values (`before`: what it held before the change,
    /// nil for an insert) satisfies the rule.
    public func isSatisfied(
        by values: [String: JSONValue], before: [String: JSONValue]?, id: String, in table: TableSchema,
        context: some ConstraintContext
    ) -> Bool {
        let lookup = { (target: String, id: String) in context.liveValues(table: target, id: id) }
        switch kind {
        case .equal:
            guard let to, let left = Self.resolve(field, values, table, lookup),
                let right = Self.resolve(to, values, table, lookup)
            else { return true }
            return left == right
        case .within:
            guard let value = Self.resolve(field, values, table, lookup),
                let type = table.fields.first(where: { $0.name == field.field })
            else { return true }
            if let from, let lower = Self.resolve(from, values, table, lookup),
                Merge.compare(value, lower, as: type) ?? 0 < 0
            {
                return false
            }
            if let to, let upper = Self.resolve(to, values, table, lookup),
                Merge.compare(value, upper, as: type) ?? 0 > 0
            {
                return false
            }
            return true
        case .required:
            guard when?.isMet(by: values) ?? true else { return true }
            return (values[field.field] ?? .null) != .null
        case .limit:
            guard let max, when?.isMet(by: values) ?? true, case let .string(group)? = values[field.field] else {
                return true
            }
            // Only a change that brings the record into the count is refused: one that leaves it
            // there (an edit of a selected challenge's description) never is.
            if let before, when?.isMet(by: before) ?? true, before[field.field] == values[field.field] { return true }
            return context.count(in: table.name, field: field.field, refersTo: group, meeting: when, excluding: id)
                < max
        }
    }

    /// The value a path names, nil when it is NULL or its referenced record cannot be found.
    static func resolve(
        _ path: Path, _ values: [String: JSONValue], _ table: TableSchema,
        _ lookup: (String, String) -> [String: JSONValue]?
    ) -> JSONValue? {
        guard let value = values[path.field], value != .null else { return nil }
        guard let target = path.target else { return value }
        guard case let .string(id) = value, let referenced = table.fields.first(where: { $0.name == path.field }),
            let targetTable = referenced.references, let record = lookup(targetTable, id),
            let targetValue = record[target], targetValue != .null
        else { return nil }
        return targetValue
    }

    /// The first rule of `table` that a record with these values breaks.
    public static func violation(
        of table: TableSchema, by values: [String: JSONValue], before: [String: JSONValue]?, id: String,
        context: some ConstraintContext
    ) -> Constraint? {
        table.constraints.first {
            !$0.isSatisfied(by: values, before: before, id: id, in: table, context: context)
        }
    }

    /// A rule of another table that a change of the record `id` of `table` to `values` would make
    /// one of the records referring to it break (a round's dates moved past its exchanges', a
    /// person moved to another organisation than her exchanges' home): the rule, the referring
    /// record, and the reason `check:<field of this table>`.
    public static func violationByReferrers(
        ofChangeTo values: [String: JSONValue], before: [String: JSONValue], id: String, in table: TableSchema,
        schema: Schema, context: some ConstraintContext
    ) -> (constraint: Constraint, table: String, id: String, reason: RejectionReason)? {
        let changed = Set(values.keys).union(before.keys).filter { values[$0] != before[$0] }
        guard !changed.isEmpty else { return nil }
        for referring in schema.tables {
            for constraint in referring.constraints {
                for path in constraint.paths {
                    guard let target = path.target, changed.contains(target),
                        referring.fields.first(where: { $0.name == path.field })?.references == table.name
                    else { continue }
                    let overriding = Overriding(base: context, table: table.name, id: id, values: values)
                    for record in context.referrers(in: referring.name, field: path.field, to: id)
                    where !constraint.isSatisfied(
                        by: record.values, before: record.values, id: record.id, in: referring, context: overriding)
                    {
                        return (constraint, referring.name, record.id, .check(target))
                    }
                }
            }
        }
        return nil
    }

    /// A context that sees one record with other values (the change being checked).
    private struct Overriding<Base: ConstraintContext>: ConstraintContext {
        let base: Base
        let table: String
        let id: String
        let values: [String: JSONValue]

        func liveValues(table: String, id: String) -> [String: JSONValue]? {
            table == self.table && id == self.id ? values : base.liveValues(table: table, id: id)
        }

        func count(
            in table: String, field: String, refersTo group: String, meeting condition: Constraint.Condition?,
            excluding id: String
        ) -> Int {
            base.count(in: table, field: field, refersTo: group, meeting: condition, excluding: id)
        }

        func referrers(in table: String, field: String, to id: String) -> [(id: String, values: [String: JSONValue])] {
            base.referrers(in: table, field: field, to: id)
        }
    }
}

extension Constraint {
    init(json: JSONValue, path location: String, fail: @escaping (String) -> ProtocolError) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: location, fail: fail)
        kind = try object.choice("kind")
        func path(_ key: String) throws(ProtocolError) -> Path? {
            guard let text = try object.optionalString(key) else { return nil }
            guard let parsed = Path(text) else { throw fail("\(location).\(key): \"\(text)\" is not a path") }
            return parsed
        }
        let subject = kind == .limit ? "group" : "field"
        guard let field = try path(subject) else {
            throw fail("\(location): a \(kind.rawValue) needs \"\(subject)\"")
        }
        self.field = field
        to = try path("to")
        from = try path("from")
        if let condition = object.optional("when") {
            let reader = try JSONObjectReader(condition, path: "\(location).when", fail: fail)
            try reader.refuseUnknown(["field", "in"])
            guard case let .array(values) = try reader.value("in") else {
                throw fail("\(location).when.in: not an array")
            }
            when = Condition(field: try reader.string("field"), values: values)
        } else {
            when = nil
        }
        max = try object.optionalInt64("max").map { Int($0) }
        let allowed: Set<String>
        switch kind {
        case .equal: allowed = ["kind", "field", "to"]
        case .within: allowed = ["kind", "field", "from", "to"]
        case .required: allowed = ["kind", "field", "when"]
        case .limit: allowed = ["kind", "group", "max", "when"]
        }
        try object.refuseUnknown(allowed)
    }

    var json: JSONValue {
        var members = [JSONMember("kind", .string(kind.rawValue))]
        members.append(JSONMember(kind == .limit ? "group" : "field", .string(field.description)))
        if let from { members.append(JSONMember("from", .string(from.description))) }
        if let to { members.append(JSONMember("to", .string(to.description))) }
        if let max { members.append(JSONMember("max", .int(Int64(max)))) }
        if let when {
            members.append(
                JSONMember(
                    "when", .object([JSONMember("field", .string(when.field)), JSONMember("in", .array(when.values))])))
        }
        return .object(members)
    }
}

extension Schema {
    /// Checks that a constraint is whole and its paths name fields (through a `ref` when they go
    /// through one).
    func validate(_ constraint: Constraint, of table: TableSchema) throws(ProtocolError) {
        func fail(_ reason: String) -> ProtocolError {
            ProtocolError(.invalidSchema, table: table.name, "constraint \(constraint.kind.rawValue): \(reason)")
        }
        switch constraint.kind {
        case .equal:
            guard constraint.to != nil else { throw fail("needs \"to\"") }
        case .within:
            guard constraint.from != nil || constraint.to != nil else { throw fail("needs \"from\" or \"to\"") }
        case .required:
            guard constraint.field.target == nil else { throw fail("\(constraint.field) must be a field of the table") }
        case .limit:
            guard let max = constraint.max, max >= 0 else { throw fail("needs \"max\" ≥ 0") }
            guard constraint.field.target == nil,
                table.fields.first(where: { $0.name == constraint.field.field })?.type == .ref
            else { throw fail("the group \(constraint.field) must be a ref field of the table") }
        }
        for path in constraint.paths {
            guard let field = table.fields.first(where: { $0.name == path.field }) else {
                throw fail("no field named \"\(path.field)\" (in \(path))")
            }
            guard let target = path.target else { continue }
            guard field.type == .ref, let referenced = tables.first(where: { $0.name == field.references }),
                referenced.fields.contains(where: { $0.name == target })
            else { throw fail("\(path) must be a ref field and a field of the table it refers to") }
        }
        if constraint.kind == .within {
            let types = constraint.paths.compactMap { path -> FieldType? in
                let field = table.fields.first { $0.name == path.field }
                guard let target = path.target else { return field?.type }
                return tables.first { $0.name == field?.references }?.fields.first { $0.name == target }?.type
            }
            guard let first = types.first, [.date, .timestamp, .int, .real].contains(first),
                types.allSatisfy({ $0 == first })
            else { throw fail("compares fields of one ordered type (date, timestamp, int, real)") }
        }
        if let condition = constraint.when {
            guard let field = table.fields.first(where: { $0.name == condition.field }) else {
                throw fail("no field named \"\(condition.field)\" (in when)")
            }
            for value in condition.values {
                guard (try? FieldValue(json: value, for: field, in: table.name)) != nil, value != .null else {
                    throw fail("when: \(value.serialized()) is not a value of \(condition.field)")
                }
            }
        }
    }
}
