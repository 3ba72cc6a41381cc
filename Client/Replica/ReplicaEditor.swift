import GRDB
public import TandemProtocol
import TandemSQLite

/// Edits a replica's records as `tandem add`, `set`, `rm`, `import`, `retry` and `dismiss` do:
/// every edit checked as the server will check it (schema, references, unique values,
/// constraints, who may write), then written with its outbox entry in one transaction, so no
/// crash separates them.
///
/// ```swift
/// let round = try replica.editor.insert(into: "round", [Assignment("number", "5")])
/// try replica.editor.update("round", id: round.id, [Assignment("title", "Spring")])
/// ```
public struct ReplicaEditor: ReplicaPart {
    let replica: Replica

    /// Inserts a record; `id=UUID` among the assignments chooses its id, else a new UUIDv7 is made.
    ///
    /// Every edit is checked against the replica's role when it knows it (a replica made from a
    /// server): an auditor may edit nothing, a member only records its organisation owns, before
    /// and after the edit (``Access``), as the server will check again.
    ///
    /// - Returns: the record as stored, defaults included.
    /// - Throws: `notFound` (no such table), `invalidData` naming table and field (a bad value,
    ///   an unknown field, a missing required field, a dangling reference, a duplicate unique
    ///   value, a broken date order), `usage` (an ambiguous reference prefix), `notPermitted`
    ///   (the role may not make this edit). Nothing is written.
    @discardableResult
    public func insert(into tableName: String, _ assignments: [Assignment]) throws(ReplicaError) -> Record {
        let table = try table(tableName)
        return try write { db in
            var clock = try replica.editClock(in: db)
            var references = ReferenceCache()
            let editor = try Self.editor(in: db)
            try Self.refuseAuditor(editor, table: table, id: nil)
            let values = try parse(assignments, for: table, db: db, resolvingPrefixes: true)
            let record = try insert(
                values, into: table, editor: editor, clock: &clock, references: &references, db: db)
            try Setting.hlc.write(clock.hlc.description, in: db)
            return record
        }
    }

    /// Sets the named fields of a record (`field=` sets NULL); the others keep their values.
    /// Fields whose value does not change are not recorded; if none changes, nothing is written.
    ///
    /// - Returns: the record as it now is.
    @discardableResult
    public func update(_ tableName: String, id: String, _ assignments: [Assignment]) throws(ReplicaError) -> Record {
        let table = try table(tableName)
        return try write { db in
            let editor = try Self.editor(in: db)
            try Self.refuseAuditor(editor, table: table, id: id)
            let id = try Replica.resolve(id, in: table, db: db)
            guard try replica.fetchRecord(id, in: table, db: db) != nil else {
                throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
            }
            let values = try parse(assignments, for: table, db: db, resolvingPrefixes: true)
            return try update(id, in: table, setting: values, editor: editor, db: db)
        }
    }

    /// Sets parsed `values` on the live record `id` with its outbox entry, checked as `set`
    /// checks them; unchanged values are not recorded. `update` and `retry` take this path.
    func update(
        _ id: String, in table: TableSchema, setting given: [String: FieldValue], editor: Author?, db: Database
    ) throws -> Record {
        guard var record = try replica.fetchRecord(id, in: table, db: db) else {
            throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
        }
        try Replica.refuseErased(id, table: table, db: db)
        let before = record.values
        var values = given
        if values.removeValue(forKey: "id") != nil {
            throw ReplicaError(.invalidData, "\(table.name).id: a record's id cannot be changed")
        }
        let changed = table.fields.filter { field in values[field.name].map { $0 != record[field.name] } ?? false }
        guard !changed.isEmpty else { return record }
        for field in changed { record[field.name] = values[field.name] ?? .null }
        record.values = record.values.filter { !$0.value.isNull }
        try Self.checkAccess(editor, table: table, id: id, before: before, after: record.values)
        var references = ReferenceCache()
        let positions = table.fields.indices.filter { position in
            changed.contains { $0.name == table.fields[position].name }
        }
        try check(
            id: id, table.fields.map { record[$0.name] }, in: table, positions: positions, references: &references,
            before: before, db: db)

        let assignments = changed.map { "\($0.name.quotedIdentifier) = ?" }.joined(separator: ", ")
        try db.execute(
            sql: "UPDATE \(table.name.quotedIdentifier) SET \(assignments) WHERE id = ?",
            arguments: StatementArguments(changed.map { record[$0.name].databaseValue } + [id.databaseValue]))
        let clock = try replica.currentHLC(in: db).advanced(now: try replica.correctedNow(in: db))
        let fields = Dictionary(uniqueKeysWithValues: changed.map { ($0.name, record[$0.name].json) })
        try Outbox.record(
            Outbox.Entry(op: .update, fields: fields, hlc: clock.description), table: table.name, recordID: id,
            in: db)
        try Setting.hlc.write(clock.description, in: db)
        return record
    }

    /// Deletes a record.
    ///
    /// - Throws: `invalidData` while live records refer to it, naming the referring table and field;
    ///   `notPermitted` when the role may not delete it.
    public func delete(from tableName: String, id: String) throws(ReplicaError) {
        let table = try table(tableName)
        try write { db in
            let editor = try Self.editor(in: db)
            try Self.refuseAuditor(editor, table: table, id: id)
            try delete(try Replica.resolve(id, in: table, db: db), from: table, editor: editor, db: db)
        }
    }

    /// Deletes the record `id` with its outbox entry, checked as `rm` checks it (`rm` and
    /// `retry` take this path).
    func delete(_ id: String, from table: TableSchema, editor: Author?, db: Database) throws {
        guard let record = try replica.fetchRecord(id, in: table, db: db) else {
            throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
        }
        try Replica.refuseErased(id, table: table, db: db)
        try Self.checkAccess(editor, table: table, id: id, before: record.values, after: nil)
        for (referring, field) in schema.references(to: table.name) {
            let count =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT count(*) FROM \(referring.name.quotedIdentifier) WHERE \(field.name.quotedIdentifier) = ?",
                    arguments: [id]) ?? 0
            if count > 0 {
                throw ReplicaError(
                    .invalidData,
                    "\(table.name) \(id): still referenced by \(count) \(referring.name) record\(count == 1 ? "" : "s") (\(referring.name).\(field.name))"
                )
            }
        }
        try db.execute(sql: "DELETE FROM \(table.name.quotedIdentifier) WHERE id = ?", arguments: [id])
        let clock = try replica.currentHLC(in: db).advanced(now: try replica.correctedNow(in: db))
        try Outbox.record(
            Outbox.Entry(op: .delete, fields: nil, hlc: clock.description), table: table.name, recordID: id, in: db)
        try Setting.hlc.write(clock.description, in: db)
    }

    /// Inserts a parsed record (`id` among the values chooses its id) with its outbox entry.
    func insert(
        _ values: [String: FieldValue], into table: TableSchema, editor: Author?, clock: inout EditClock,
        references: inout ReferenceCache, db: Database
    ) throws -> Record {
        var positional = table.defaultValues
        for (position, field) in table.fields.enumerated() {
            if let value = values[field.name], !value.isNull { positional[position] = value }
        }
        let id = try insert(
            positional, id: values["id"]?.text, into: table, editor: editor, clock: &clock,
            references: &references, db: db)
        return Record(id: id, values: Self.values(positional, of: table))
    }

    /// Inserts a record given by field position, defaults already applied: the path every insert
    /// takes, and the one a bulk import runs 100k times. Checks everything a record must satisfy.
    ///
    /// - Parameter editor: who edits (``editor(in:)``), checked against the new record's owners.
    /// - Returns: the record's id (`id`, or a new UUIDv7 from the device clock).
    func insert(
        _ values: [FieldValue], id: String?, into table: TableSchema, editor: Author?, clock: inout EditClock,
        references: inout ReferenceCache, db: Database
    ) throws -> String {
        let stamp = clock.advance(wall: replica.clock.now())
        let isNamed = id != nil
        let id = id ?? UUIDv7Generator.id(at: stamp)
        if let editor, editor.role != .coordinator {
            try Self.checkAccess(
                editor, table: table, id: id, before: nil, after: Self.values(values, of: table), isNamed: isNamed)
        }
        try check(id: id, values, in: table, positions: table.fields.indices, references: &references, db: db)
        var bindings = [id.databaseValue]
        bindings.reserveCapacity(values.count + 1)
        for value in values { bindings.append(value.databaseValue) }
        do {
            try db.cachedStatement(sql: replica.sql(for: table).insert).execute(binding: bindings)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw ReplicaError(.invalidData, "\(table.name).id: a record with id \(id) already exists")
        }
        references.insert(id, in: table.name)
        try Outbox.append(
            Outbox.Entry(op: .insert, fields: nil, hlc: stamp.description), table: table.name, recordID: id, in: db)
        return id
    }
}

extension Replica {
    /// What edits this replica's records.
    public var editor: ReplicaEditor { ReplicaEditor(replica: self) }
}
