import GRDB
public import TandemProtocol
import TandemSQLite

extension Replica {
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
            var clock = try editClock(in: db)
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
            let id = try Self.resolve(id, in: table, db: db)
            guard try fetchRecord(id, in: table, db: db) != nil else {
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
        guard var record = try fetchRecord(id, in: table, db: db) else {
            throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
        }
        try Self.refuseErased(id, table: table, db: db)
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
        let clock = try currentHLC(in: db).advanced(now: try correctedNow(in: db))
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
            try delete(try Self.resolve(id, in: table, db: db), from: table, editor: editor, db: db)
        }
    }

    /// Deletes the record `id` with its outbox entry, checked as `rm` checks it (`rm` and
    /// `retry` take this path).
    func delete(_ id: String, from table: TableSchema, editor: Author?, db: Database) throws {
        guard let record = try fetchRecord(id, in: table, db: db) else {
            throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
        }
        try Self.refuseErased(id, table: table, db: db)
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
        let clock = try currentHLC(in: db).advanced(now: try correctedNow(in: db))
        try Outbox.record(
            Outbox.Entry(op: .delete, fields: nil, hlc: clock.description), table: table.name, recordID: id, in: db)
        try Setting.hlc.write(clock.description, in: db)
    }

    // MARK: - Shared by add and import

    /// Parses assignments into values: every field known and given once, every value of its type.
    /// `id` is kept (as text) for the caller to use or refuse.
    func parse(
        _ assignments: [Assignment], for table: TableSchema, db: Database, resolvingPrefixes: Bool
    ) throws -> [String: FieldValue] {
        var values: [String: FieldValue] = [:]
        for assignment in assignments {
            guard values[assignment.field] == nil else {
                throw ReplicaError(.usage, "\(table.name).\(assignment.field): given more than once")
            }
            if assignment.field == "id" {
                values["id"] = .text(try Self.parseID(assignment.text, table: table))
                continue
            }
            let field = try table.field(named: assignment.field)
            var value = try FieldValue(parsing: assignment.text, for: field, in: table.name)
            if field.type == .ref, let text = value.text, let target = field.references {
                let targetTable = try schema.table(named: target)
                if resolvingPrefixes {
                    do {
                        value = .text(try Self.resolve(text, in: targetTable, db: db))
                    } catch let error as ReplicaError where error.code == .usage {
                        // Too short or ambiguous: a usage error, told from the field's side.
                        let reason = error.message.dropFirst(target.count + 2)
                        throw ReplicaError(.usage, "\(table.name).\(field.name): \(target) \(reason)")
                    } catch let error as ReplicaError where error.code == .notFound {
                        throw ReplicaError(.invalidData, "\(table.name).\(field.name): no \(target) with id \(text)")
                    }
                } else if !Identifier.isUUID(text) {
                    value = .text(text.lowercased())
                }
            }
            values[field.name] = value
        }
        return values
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
        let stamp = clock.advance(wall: self.clock.now())
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
            try db.cachedStatement(sql: sql(for: table).insert).execute(binding: bindings)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw ReplicaError(.invalidData, "\(table.name).id: a record with id \(id) already exists")
        }
        references.insert(id, in: table.name)
        try Outbox.append(
            Outbox.Entry(op: .insert, fields: nil, hlc: stamp.description), table: table.name, recordID: id, in: db)
        return id
    }

    /// Checks a record against the schema, then the size (``ChangeLimits``: what the server would
    /// refuse, `value_too_large`), references and unique values of the fields at `positions` (an
    /// update checks only what it changes), then the table's constraints (`before`: the record
    /// before an update).
    func check<Positions: Sequence<Int>>(
        id: String, _ values: [FieldValue], in table: TableSchema, positions: Positions,
        references: inout ReferenceCache, before: [String: FieldValue]? = nil, db: Database
    ) throws {
        try table.validate(fieldValues: values)
        for position in positions {
            let field = table.fields[position]
            let value = values[position]
            if value.isNull { continue }
            if let size = schema.limits.oversize(of: value.json) {
                throw ReplicaError(
                    .invalidData,
                    "\(table.name).\(field.name): the value is \(size) bytes of JSON; the server takes at most "
                        + "\(schema.limits.valueBytes)")
            }
            if field.type == .ref, let target = field.references, let reference = value.text,
                !references.contains(reference, in: target)
            {
                guard try exists(reference, in: try schema.table(named: target), db: db) else {
                    throw ReplicaError(.invalidData, "\(table.name).\(field.name): no \(target) with id \(reference)")
                }
                references.insert(reference, in: target)
            }
            if field.isUnique {
                let other = try String.fetchOne(
                    db.cachedStatement(
                        sql:
                            "SELECT id FROM \(table.name.quotedIdentifier) WHERE \(field.name.quotedIdentifier) = ? AND id != ? LIMIT 1"
                    ),
                    arguments: [value.databaseValue, id])
                if let other {
                    throw ReplicaError(
                        .invalidData, "\(table.name).\(field.name): \"\(value.plainText)\" is already used by \(other)")
                }
            }
        }
        try checkConstraints(id: id, values, before: before, in: table, db: db)
    }

    // MARK: - Who may edit (SPEC §3, §6)

    /// Who edits this replica: its role and organisation, learned from the server's `whoami`;
    /// nil for a replica that has never had a server (it may edit anything; the server decides
    /// at push).
    static func editor(in db: Database) throws -> Author? {
        guard let role = try Setting.role.read(in: db).flatMap(Role.init(rawValue:)) else { return nil }
        return Author(organisation: try Setting.organisation.read(in: db), role: role)
    }

    /// Refuses any edit by an auditor, before anything else is looked at.
    static func refuseAuditor(_ editor: Author?, table: TableSchema, id: String?) throws(ReplicaError) {
        guard editor?.role == .auditor else { return }
        throw ReplicaError(
            .notPermitted, "\(table.name)\(id.map { " \($0)" } ?? ""): not permitted: an auditor may not edit records")
    }

    /// Refuses an edit turning `before` (nil: no record yet) into `after` (nil: deleted) that
    /// ``Access/mayWrite(_:table:id:before:after:)`` forbids `editor`, naming table and record
    /// (`isNamed` false: a new record whose id the user has not seen, named by its table alone).
    static func checkAccess(
        _ editor: Author?, table: TableSchema, id: String, before: [String: FieldValue]?,
        after: [String: FieldValue]?, isNamed: Bool = true
    ) throws(ReplicaError) {
        guard let editor, editor.role != .coordinator else { return }
        // Only the owner fields matter to the rule.
        func owners(_ values: [String: FieldValue]?) -> [String: JSONValue]? {
            values.map { values in
                Dictionary(
                    uniqueKeysWithValues: table.owners.compactMap { name in values[name].map { (name, $0.json) } })
            }
        }
        guard !Access.mayWrite(editor, table: table, id: id, before: owners(before), after: owners(after)) else {
            return
        }
        let reason: String
        switch (editor.role, table.owners) {
        case (.auditor, _): reason = "an auditor may not edit records"
        case (_, []): reason = "only coordinators may change \(table.name) records"
        case (_, ["id"]): reason = "a member may change only its own organisation's \(table.name) record"
        case let (_, owners):
            let fields =
                owners.count == 1 ? owners[0] : owners.dropLast().joined(separator: ", ") + " or " + owners.last!
            reason =
                "a member may change only \(table.name) records whose \(fields) is its organisation"
                + (before != nil && after != nil ? ", before and after the change" : "")
        }
        throw ReplicaError(.notPermitted, "\(table.name)\(isNamed ? " \(id)" : ""): not permitted: \(reason)")
    }

    /// A record id given by the user: a UUID, in any case.
    static func parseID(_ text: String, table: TableSchema) throws -> String {
        let id = Identifier.isUUID(text) ? text : text.lowercased()
        guard Identifier.isUUID(id) else {
            throw ReplicaError(.invalidData, "\(table.name).id: \"\(text)\" is not a record id (UUID)")
        }
        return id
    }

    /// The non-NULL values of a record given by field position, by name.
    static func values(_ positional: [FieldValue], of table: TableSchema) -> [String: FieldValue] {
        var values: [String: FieldValue] = [:]
        for (position, field) in table.fields.enumerated() where !positional[position].isNull {
            values[field.name] = positional[position]
        }
        return values
    }

    func exists(_ id: String, in table: TableSchema, db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: sql(for: table).exists), arguments: [id]) ?? false
    }

    /// The replica's clock, read from its settings.
    func currentHLC(in db: Database) throws -> HLC {
        try Setting.hlc.read(in: db).flatMap(HLC.init) ?? HLC(milliseconds: 0, counter: 0, device: device)
    }
}

/// Ids known to exist, so that a bulk import checks each referenced record once.
struct ReferenceCache {
    private var known: [String: Set<String>] = [:]

    func contains(_ id: String, in table: String) -> Bool { known[table]?.contains(id) ?? false }

    mutating func insert(_ id: String, in table: String) { known[table, default: []].insert(id) }
}
