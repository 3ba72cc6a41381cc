import GRDB
import TandemProtocol
import TandemSQLite

extension ReplicaEditor {
    // MARK: - Shared by add, import and retry

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
                        value = .text(try Replica.resolve(text, in: targetTable, db: db))
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
                guard try replica.exists(reference, in: try schema.table(named: target), db: db) else {
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

    /// Checks the table's constraints for a record with these values (`before`: what it held, nil
    /// for a new one), and — for a change — those of the records referring to it, as the server
    /// will at merge; the one line names the rule and the record.
    ///
    /// - Throws: `invalidData` (`tandem: challenge.round: at most 5 …`).
    func checkConstraints(
        id: String, _ values: [FieldValue], before: [String: FieldValue]?, in table: TableSchema, db: Database
    ) throws {
        let context = ReplicaConstraintContext(replica: replica, db: db)
        let json = Self.values(values, of: table).mapValues(\.json)
        let previous = before?.mapValues(\.json)
        if let broken = Constraint.violation(of: table, by: json, before: previous, id: id, context: context) {
            // Name the record: the group that is full, or the record being changed.
            let place =
                if broken.kind == .limit, case let .string(group)? = json[broken.field.field] {
                    " (\(broken.field.field) \(group) has \(broken.max ?? 0) already)"
                } else if previous != nil {
                    " (\(table.name) \(id))"
                } else {
                    ""
                }
            throw ReplicaError(.invalidData, "\(table.name).\(broken.field.field): \(broken)\(place)")
        }
        guard let previous,
            let broken = Constraint.violationByReferrers(
                ofChangeTo: json, before: previous, id: id, in: table, schema: schema, context: context)
        else { return }
        let field = broken.reason.field ?? "record"
        throw ReplicaError(
            .invalidData, "\(table.name).\(field): \(broken.table) \(broken.id) would break \(broken.constraint)")
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
}

/// Ids known to exist, so that a bulk import checks each referenced record once.
struct ReferenceCache {
    private var known: [String: Set<String>] = [:]

    func contains(_ id: String, in table: String) -> Bool { known[table]?.contains(id) ?? false }

    mutating func insert(_ id: String, in table: String) { known[table, default: []].insert(id) }
}
