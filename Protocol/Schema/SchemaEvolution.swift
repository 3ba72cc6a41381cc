/// What may change between two versions of a schema (SPEC §2, "schema evolution"): additive
/// changes only, so that a replica still on the old version keeps working offline and its changes
/// still merge, and every record already held stays valid under the new rules' types.
///
/// Accepted: a new table; a new optional field (a field that is not required); a new enum value
/// (the old values keep their relative order, which `max` and `min` read); a new or changed merge
/// rule or delete rule; a new or changed default; a new or changed constraint or `not_before`.
/// Refused, naming what: removing or renaming a table or field, changing a field's type or the
/// table it refers to, removing an enum value or reordering the old ones, making an existing field
/// required without a default, making an existing field unique, changing a table's owners,
/// personal flag or visibility (who may write and read what), or the schema's name.
///
/// ```swift
/// try SchemaEvolution.check(from: current, to: proposed)   // throws naming the first refusal
/// ```
public enum SchemaEvolution {
    public static func check(from old: Schema, to new: Schema) throws(ProtocolError) {
        func refuse(_ table: String?, _ field: String?, _ reason: String) -> ProtocolError {
            ProtocolError(.invalidSchema, table: table, field: field, reason)
        }
        guard new.name == old.name else {
            throw refuse(nil, nil, "the schema's name changes from \(old.name) to \(new.name)")
        }
        for table in old.tables {
            guard let next = new.tables.first(where: { $0.name == table.name }) else {
                throw refuse(table.name, nil, "the table is removed or renamed (only additive changes)")
            }
            guard next.owners == table.owners else { throw refuse(table.name, nil, "its owners change") }
            guard next.isPersonal == table.isPersonal else {
                throw refuse(table.name, nil, "whether it holds personal data changes")
            }
            guard next.visibility == table.visibility else { throw refuse(table.name, nil, "its visibility changes") }
            for field in table.fields {
                guard let changed = next.fields.first(where: { $0.name == field.name }) else {
                    throw refuse(table.name, field.name, "the field is removed or renamed (only additive changes)")
                }
                guard changed.type == field.type else {
                    throw refuse(
                        table.name, field.name,
                        "its type changes from \(field.type.rawValue) to \(changed.type.rawValue)")
                }
                guard changed.references == field.references else {
                    throw refuse(table.name, field.name, "it refers to another table")
                }
                if changed.isRequired, !field.isRequired, changed.defaultValue == nil {
                    throw refuse(table.name, field.name, "it becomes required without a default")
                }
                if changed.isUnique, !field.isUnique {
                    throw refuse(table.name, field.name, "it becomes unique (records held may share values)")
                }
                if let values = field.values {
                    let kept = (changed.values ?? []).filter { values.contains($0) }
                    guard kept == values else {
                        throw refuse(table.name, field.name, "an enum value is removed or the values reordered")
                    }
                }
            }
            for field in next.fields where !table.fields.contains(where: { $0.name == field.name }) {
                guard !field.isRequired else {
                    throw refuse(table.name, field.name, "a new field must be optional (records held lack it)")
                }
            }
        }
    }
}

/// Schema versions in the history (SPEC §2, §8): installing a version appends an entry whose
/// change is made and signed by the server — table `_schema`, the schema's name as `record_id`,
/// `op` `insert`, fields `{"version", "document"}` (the whole document) — so that an auditor can
/// tell which rules held at each seq: those of the last `_schema` entry before it, or the
/// bundled version 1 before the first.
public enum SchemaRegistry {
    /// The pseudo-table of schema installations: in the history, never in a replica.
    public static let table = "_schema"

    /// The tables of the history that are bookkeeping, not records: never pulled by replicas.
    public static let pseudoTables = [DeviceRegistry.table, table]

    /// The change that installs `schema`, unsigned; the server signs it.
    public static func installation(of schema: Schema, changeID: String, hlc: String) -> Change {
        Change(
            changeID: changeID, table: table, recordID: schema.name, op: .insert,
            fields: ["version": .int(Int64(schema.version)), "document": schema.json], baseVersion: 0, hlc: hlc,
            device: DeviceRegistry.serverDevice)
    }
}
