/// A rule a record must satisfy that reaches into another record (SPEC §2, "programme rules
/// across records"), declared in the schema on the table it constrains and checked by the CLI
/// against what the replica holds and by the server at merge (reason `check:<field>`).
///
/// A constraint compares two *paths*: a field of the record (`home`) or a field of the record
/// one of its references points to (`person.organisation`). It holds when either side is NULL
/// (or names a record that cannot be found): the rule speaks of values that are set.
///
/// ```json
/// {"kind": "equal", "field": "person.organisation", "to": "home"}
/// ```
///
/// reads "the person on an exchange works for its home organisation"; a change that breaks it
/// is rejected `check:person` (the first segment of `field`).
public struct Constraint: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// Both sides hold the same value.
        case equal
    }

    public var kind: Kind
    /// The path the rule is named after: its first segment is the field of `check:<field>`.
    public var field: Path
    public var to: Path

    public init(kind: Kind, field: Path, to: Path) {
        self.kind = kind
        self.field = field
        self.to = to
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

    /// What the rule says, for a message: `person.organisation must equal home`.
    public var description: String {
        switch kind {
        case .equal: "\(field) must equal \(to)"
        }
    }

    /// The field named by a rejection: `check:<name>`.
    public var name: String { field.field }

    /// Whether a record of `table` with these values satisfies the constraint.
    ///
    /// - Parameter lookup: the values of the live record of a table with an id, nil when there
    ///   is none (the constraint then holds: the reference itself is checked elsewhere).
    public func isSatisfied(
        by values: [String: JSONValue], in table: TableSchema,
        lookup: (_ table: String, _ id: String) -> [String: JSONValue]?
    ) -> Bool {
        guard let left = resolve(field, values, table, lookup), let right = resolve(to, values, table, lookup) else {
            return true
        }
        switch kind {
        case .equal: return left == right
        }
    }

    /// Whether the constraint reads `fields` of the record (so that a change of them must be checked).
    public func reads(anyOf fields: Set<String>) -> Bool {
        fields.contains(field.field) || fields.contains(to.field)
    }

    /// The value a path names, nil when it is NULL or its referenced record cannot be found.
    private func resolve(
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

    /// The first constraint of `table` these values break, as a rejection reason (`check:<field>`).
    public static func violation(
        of table: TableSchema, by values: [String: JSONValue],
        lookup: (_ table: String, _ id: String) -> [String: JSONValue]?
    ) -> Constraint? {
        table.constraints.first { !$0.isSatisfied(by: values, in: table, lookup: lookup) }
    }
}

extension Constraint {
    init(json: JSONValue, path: String, fail: @escaping (String) -> ProtocolError) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: path, fail: fail)
        try object.refuseUnknown(["kind", "field", "to"])
        kind = try object.choice("kind")
        let fieldText = try object.string("field")
        let toText = try object.string("to")
        guard let field = Path(fieldText) else { throw fail("\(path).field: \"\(fieldText)\" is not a path") }
        guard let to = Path(toText) else { throw fail("\(path).to: \"\(toText)\" is not a path") }
        self.field = field
        self.to = to
    }

    var json: JSONValue {
        .object([
            JSONMember("kind", .string(kind.rawValue)), JSONMember("field", .string(field.description)),
            JSONMember("to", .string(to.description)),
        ])
    }
}

extension Schema {
    /// Checks that a constraint's paths name fields (through a `ref` when they go through one).
    func validate(_ constraint: Constraint, of table: TableSchema) throws(ProtocolError) {
        for path in [constraint.field, constraint.to] {
            guard let field = table.fields.first(where: { $0.name == path.field }) else {
                throw ProtocolError(
                    .invalidSchema, table: table.name, "constraint: no field named \"\(path.field)\" (in \(path))")
            }
            guard let target = path.target else { continue }
            guard field.type == .ref, let referenced = tables.first(where: { $0.name == field.references }),
                referenced.fields.contains(where: { $0.name == target })
            else {
                throw ProtocolError(
                    .invalidSchema, table: table.name,
                    "constraint: \(path) must be a ref field and a field of the table it refers to")
            }
        }
    }
}
