public import TandemProtocol

/// How a store keeps the references live records hold (docs/merge.md "References"): as rows
/// `(target, source, field)` where the merge asks who refers to a record, as a count per record
/// referred to everywhere else.
///
/// The merge reads references two ways: whether a record is referred to at all (a delete's
/// check: a count answers it), and the live records of a table that refer to a record through a
/// field — a `limit` constraint's group, or the first step of a path another table's rule reads
/// through (`person.organisation` on an exchange: a person who changes organisation re-checks her
/// exchanges). Only those fields need rows; every other reference (an exchange's home and host)
/// is a count, changed by deltas as records change. Rows land where the record referred to
/// sorts — for most references a random page of the index — and a count a batch changes once.
///
/// Which fields keep rows follows from the schema in force alone. A schema version whose rules
/// group by another set of fields makes the store index its references again, from its records,
/// in the transaction that installs it (``SchemaWork/reindexesReferences``).
///
/// ```swift
/// let index = ReferenceIndex(schema: .partnership)
/// index.keepsRows(table: "exchange", field: "person")  // true: `person.organisation` is read through it
/// index.keepsRows(table: "exchange", field: "home")    // false: counted
/// ```
public struct ReferenceIndex: Hashable, Sendable {
    /// The `(table, field)` pairs whose references are kept as rows.
    public let rowFields: Set<FieldKey>

    /// A table's field.
    public struct FieldKey: Hashable, Sendable {
        public var table: String
        public var field: String

        public init(table: String, field: String) {
            self.table = table
            self.field = field
        }
    }

    public init(schema: Schema) {
        var fields = Set<FieldKey>()
        for table in schema.tables {
            for constraint in table.constraints {
                // A limit counts the records of its group; a path through a reference is
                // re-checked on the records referring to the one that changes.
                let grouping =
                    constraint.paths.filter { $0.target != nil } + (constraint.kind == .limit ? [constraint.field] : [])
                for path in grouping where table.fields.contains(where: { $0.name == path.field && $0.type == .ref }) {
                    fields.insert(FieldKey(table: table.name, field: path.field))
                }
            }
        }
        rowFields = fields
    }

    /// Whether the references of `table`'s `field` are kept as rows (else counted).
    public func keepsRows(table: String, field: String) -> Bool {
        rowFields.contains(FieldKey(table: table, field: field))
    }

    /// The references a record holds while live: one for each reference field that is set.
    public static func references(of state: RecordState?, in schema: Schema) -> Set<ReferenceRow> {
        guard let state, !state.isDeleted, let table = try? schema.table(named: state.table) else { return [] }
        var rows = Set<ReferenceRow>()
        for field in table.fields where field.type == .ref {
            if case let .string(target) = state[field.name] {
                rows.insert(ReferenceRow(target: target, source: state.id, field: field.name))
            }
        }
        return rows
    }

    /// Adds to `writes` the references `changes` holds (true) or drops (false), records of `table`:
    /// a row held or dropped, or a count moved by one.
    public func apply(_ changes: [ReferenceRow: Bool], table: String, to writes: inout BatchWrites) {
        for (row, holds) in changes {
            if keepsRows(table: table, field: row.field) {
                writes.references[row] = holds
            } else {
                writes.referenceCountDeltas[row.target, default: 0] += holds ? 1 : -1
            }
        }
    }

    /// The writes that index the references of `records` (a store's records indexed again, in pages).
    public func writes(indexing records: [RecordState], in schema: Schema) -> BatchWrites {
        var writes = BatchWrites()
        for record in records {
            let held = Self.references(of: record, in: schema)
            apply(Dictionary(uniqueKeysWithValues: held.map { ($0, true) }), table: record.table, to: &writes)
        }
        return writes
    }

    /// The references to one record a store keeps: how many as rows, how many counted.
    public struct Total: Hashable, Sendable {
        public var rows = 0
        public var count = 0

        public init(rows: Int = 0, count: Int = 0) {
            self.rows = rows
            self.count = count
        }
    }

    /// Adds the references `record` holds to `totals` (what ``StoreAdapter/verify()`` expects the store to hold).
    public func add(_ record: RecordState, in schema: Schema, to totals: inout [String: Total]) {
        for row in Self.references(of: record, in: schema) {
            if keepsRows(table: record.table, field: row.field) {
                totals[row.target, default: Total()].rows += 1
            } else {
                totals[row.target, default: Total()].count += 1
            }
        }
    }
}
