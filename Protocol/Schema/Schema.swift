/// A Tandem schema: the tables, their fields and the rules both sides apply to them.
///
/// The schema is data, not code: a JSON document (`{"name", "version", "tables": […]}`) that
/// the server serves at `GET /v1/schema` and every replica keeps. Decode one with
/// ``Schema/decode(_:)``, which also validates it; ``Schema/partnership`` is the bundled default.
///
/// ```swift
/// let schema = try Schema.decode(Array(json.utf8))
/// let exchange = try schema.table(named: "exchange")
/// ```
public struct Schema: Hashable, Sendable {
    public var name: String
    public var version: Int
    /// The tables in their declared order (the order `list`, CSV and reports use).
    public var tables: [TableSchema]
    /// The sizes a change may not exceed (``ChangeLimits``), published with the schema.
    public var limits: ChangeLimits

    public init(name: String, version: Int, tables: [TableSchema], limits: ChangeLimits = .standard) {
        self.name = name
        self.version = version
        self.tables = tables
        self.limits = limits
    }

    /// The table called `name`, or an `unknownTable` error naming it.
    public func table(named name: String) throws(ProtocolError) -> TableSchema {
        guard let table = tables.first(where: { $0.name == name }) else {
            let known = tables.map(\.name).joined(separator: ", ")
            throw ProtocolError(.unknownTable, "no table named \"\(name)\" (tables: \(known))")
        }
        return table
    }

    /// Every (table, field) whose field is a reference to `table`.
    public func references(to table: String) -> [(table: TableSchema, field: FieldSchema)] {
        tables.flatMap { candidate in
            candidate.fields.filter { $0.references == table }.map { (table: candidate, field: $0) }
        }
    }
}

/// One table of a ``Schema``.
public struct TableSchema: Hashable, Sendable {
    public var name: String
    public var fields: [FieldSchema]
    /// Who owns a record: `"id"` (the record is an organisation, owned by itself) or the names of
    /// fields that reference the owning organisation (`exchange`: `home` and `host`). Empty: only
    /// coordinators write it.
    public var owners: [String]
    /// Whether the table holds personal data (§6): a record reaches its owners and the owners of
    /// every live record of an ``TableVisibility/owners`` table that refers to it, no one else
    /// among members (see ``Visibility``).
    public var isPersonal: Bool
    /// Which members may read the table's records: everyone, or only the owners (`exchange`).
    public var visibility: TableVisibility
    /// What happens when a delete meets an update.
    public var deleteRule: DeleteRule
    /// The rules its records must satisfy that reach into other records (``Constraint``).
    public var constraints: [Constraint]

    public init(
        name: String, fields: [FieldSchema], owners: [String] = [], isPersonal: Bool = false,
        visibility: TableVisibility = .all, deleteRule: DeleteRule = .deleteWins, constraints: [Constraint] = []
    ) {
        self.name = name
        self.fields = fields
        self.owners = owners
        self.isPersonal = isPersonal
        self.visibility = visibility
        self.deleteRule = deleteRule
        self.constraints = constraints
    }

    /// The field called `name`, or an `unknownField` error naming table and field.
    public func field(named name: String) throws(ProtocolError) -> FieldSchema {
        guard let field = fields.first(where: { $0.name == name }) else {
            throw ProtocolError(.unknownField, table: self.name, "no field named \"\(name)\"")
        }
        return field
    }

    /// The field names in declared order, without `id`.
    public var fieldNames: [String] { fields.map(\.name) }
}

/// One field of a ``TableSchema``.
public struct FieldSchema: Hashable, Sendable {
    public var name: String
    public var type: FieldType
    public var isRequired: Bool
    public var isUnique: Bool
    /// The members of an `enum`, in their declared order (the order `max` and `min` use).
    public var values: [String]?
    /// The table a `ref` points to.
    public var references: String?
    /// The value an insert gets when it does not set the field.
    public var defaultValue: String?
    /// How a conflict on this field is settled.
    public var rule: ConflictRule
    /// A date field this one may not be earlier than (`ends_on` ≥ `starts_on`).
    public var notBefore: String?

    public init(
        name: String, type: FieldType, isRequired: Bool = false, isUnique: Bool = false,
        values: [String]? = nil, references: String? = nil, defaultValue: String? = nil,
        rule: ConflictRule = .lww, notBefore: String? = nil
    ) {
        self.name = name
        self.type = type
        self.isRequired = isRequired
        self.isUnique = isUnique
        self.values = values
        self.references = references
        self.defaultValue = defaultValue
        self.rule = rule
        self.notBefore = notBefore
    }

}

/// The types a field may have (SPEC §2).
public enum FieldType: String, Hashable, Sendable, CaseIterable {
    case text, int, real, bool, date, timestamp
    case `enum`
    case ref
    case set
}

/// How a field conflict is settled (SPEC §5).
public enum ConflictRule: String, Hashable, Sendable, CaseIterable {
    case lww
    case firstWins = "first-wins"
    case ownerWins = "owner-wins"
    case coordinatorWins = "coordinator-wins"
    case max, min, union, manual
}

/// Which members may read a table's records (SPEC §6); coordinators and auditors read everything.
public enum TableVisibility: String, Hashable, Sendable, CaseIterable {
    /// Every token (reference data: rounds, organisations, challenges, practices).
    case all
    /// Only the organisations that own the record (`exchange`: its home and its host).
    case owners
}

/// What happens when a delete meets an update (SPEC §5).
public enum DeleteRule: String, Hashable, Sendable, CaseIterable {
    case deleteWins = "delete-wins"
    case updateWins = "update-wins"
}
