import GRDB
public import TandemProtocol

extension Replica {
    /// Takes up a newer version of the schema (SPEC §2, docs/schema.md): its tables are migrated
    /// in place — a new table created, a new field added as a column (NULL in the records held, as
    /// on the server), a unique index for a new unique field — and the document stored, in one
    /// transaction; pending edits stay in the outbox and are pushed as they are (the server merges
    /// them under the version in force). Nothing happens for a version not newer than the one held.
    ///
    /// - Throws: `invalidData` when `newer` is not an additive change of the schema held (the
    ///   server would not have installed it; this replica cannot follow: `tandem init` a new one).
    public func adopt(_ newer: Schema) throws(ReplicaError) {
        let held = schema
        guard newer.version > held.version else { return }
        do throws(ProtocolError) {
            try SchemaEvolution.check(from: held, to: newer)
        } catch {
            throw ReplicaError(
                .invalidData,
                "the server's schema \(newer.name) v\(newer.version) cannot be taken up by this replica (v\(held.version)): \(error.message)"
            )
        }
        try write { db in
            for table in newer.tables {
                guard let old = held.tables.first(where: { $0.name == table.name }) else {
                    try db.execute(sql: Self.createTableSQL(for: table))
                    continue
                }
                for field in table.fields where !old.fields.contains(where: { $0.name == field.name }) {
                    try db.execute(
                        sql:
                            "ALTER TABLE \(table.name.quotedIdentifier) ADD COLUMN \(field.name.quotedIdentifier) \(field.type.sqlType)"
                    )
                    if field.isUnique { try db.execute(sql: Self.uniqueIndexSQL(table: table, field: field)) }
                }
            }
            try Setting.schema.write(String(decoding: newer.encoded(), as: UTF8.self), in: db)
        }
        replaceSchema(with: newer)
    }
}
