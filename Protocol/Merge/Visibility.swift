/// Who may read what (SPEC §6), as the schema says it (docs/visibility.md).
///
/// Coordinators, auditors and the server read everything. A member reads:
/// - every record of a table that is neither personal nor `"visibility": "owners"` (rounds,
///   organisations, challenges, practices);
/// - a record of an owners-visibility table (`exchange`) when its organisation owns it (home or host);
/// - a record of a personal table (`person`) when its organisation owns it, or owns a live record
///   of an owners-visibility table that refers to it (the persons on its exchanges): the
///   *granted* organisations, which the caller works out from the records that refer to it.
///
/// A reference from a table every member reads (a challenge's `mentor`, a practice's `contact`)
/// grants nothing: personal data reaches only the organisations that work with the person.
///
/// ```swift
/// let exchange = try schema.table(named: "exchange")
/// Visibility.mayRead(viewer, table: exchange, id: id, values: values)  // home or host only
/// let person = try schema.table(named: "person")
/// Visibility.mayRead(viewer, table: person, id: id, values: values, granted: [host])
/// ```
public enum Visibility {
    /// Whether some members may not read records of `table` (personal or owners-visibility).
    public static func isRestricted(_ table: TableSchema) -> Bool {
        table.isPersonal || table.visibility == .owners
    }

    /// Whether a live record of `table` lets its owners read the personal records it refers to.
    public static func grantsSight(_ table: TableSchema) -> Bool { table.visibility == .owners }

    /// The organisations that own a record of `table` with these values (or this id).
    public static func owners(of table: TableSchema, id: String, values: [String: JSONValue]) -> Set<String> {
        var owners = Set<String>()
        for owner in table.owners {
            if owner == "id" {
                owners.insert(id)
            } else if case let .string(organisation)? = values[owner] {
                owners.insert(organisation)
            }
        }
        return owners
    }

    /// The organisations whose members may read a record; nil when every token may.
    ///
    /// - Parameter granted: the owners of the live owners-visibility records that refer to it
    ///   (used for a personal table only).
    public static func readers(
        of table: TableSchema, id: String, values: [String: JSONValue], granted: Set<String> = []
    ) -> Set<String>? {
        guard isRestricted(table) else { return nil }
        let owners = owners(of: table, id: id, values: values)
        return table.isPersonal ? owners.union(granted) : owners
    }

    /// The organisations whose members may read `record` (nil: every token), its grants worked
    /// out by scanning `records`, every record held: what a store keeps incrementally, stated
    /// once for fakes and tests. Empty for a record of a table the schema does not know.
    public static func readers(
        of record: RecordState, in schema: Schema, among records: some Collection<RecordState>
    ) -> Set<String>? {
        guard let table = try? schema.table(named: record.table) else { return [] }
        var granted = Set<String>()
        if table.isPersonal, !record.isDeleted {
            for grantor in records where !grantor.isDeleted {
                guard let grantorTable = try? schema.table(named: grantor.table) else { continue }
                let values = grantor.values
                if grantedRecords(in: schema, table: grantorTable, values: values).contains(where: {
                    $0.table == record.table && $0.id == record.id
                }) {
                    granted.formUnion(owners(of: grantorTable, id: grantor.id, values: values))
                }
            }
        }
        return readers(of: table, id: record.id, values: record.values, granted: granted)
    }

    /// Whether `viewer` may read a record of `table` with these values.
    public static func mayRead(
        _ viewer: Author, table: TableSchema, id: String, values: [String: JSONValue], granted: Set<String> = []
    ) -> Bool {
        switch viewer.role {
        case .coordinator, .auditor, .server:
            return true
        case .member:
            guard let readers = readers(of: table, id: id, values: values, granted: granted) else { return true }
            guard let organisation = viewer.organisation else { return false }
            return readers.contains(organisation)
        }
    }

    /// The personal records a live record of `table` lets its owners read: each reference it
    /// holds to a record of a personal table (none unless the table is owners-visibility).
    public static func grantedRecords(
        in schema: Schema, table: TableSchema, values: [String: JSONValue]
    ) -> [(table: String, id: String)] {
        guard grantsSight(table) else { return [] }
        return table.fields.compactMap { field in
            guard field.type == .ref, let target = field.references,
                schema.tables.contains(where: { $0.name == target && $0.isPersonal }),
                case let .string(id)? = values[field.name]
            else { return nil }
            return (table: target, id: id)
        }
    }

    /// The grants of sight a live record of `table` makes (docs/visibility.md): each personal
    /// record it refers to (other than itself), once for each of its owners. A store counts
    /// them per personal record and organisation; the organisations with a count are its
    /// *granted* readers.
    public static func grants(
        in schema: Schema, table: TableSchema, id: String, values: [String: JSONValue]
    ) -> [(person: String, organisation: String)] {
        let owners = owners(of: table, id: id, values: values).sorted()
        return grantedRecords(in: schema, table: table, values: values).filter { $0.id != id }
            .flatMap { granted in owners.map { (person: granted.id, organisation: $0) } }
    }
}
