import GRDB
import TandemProtocol

/// The schema's constraints (``Constraint``) checked against what the replica holds, inside the
/// edit's transaction: the CLI's early answer to what the server decides at merge. A record the
/// replica does not hold (another organisation's person) leaves the rule to the server.
struct ReplicaConstraintContext: ConstraintContext {
    let replica: Replica
    let db: Database

    func liveValues(table: String, id: String) -> [String: JSONValue]? {
        guard let table = try? replica.schema.table(named: table),
            let record = try? replica.fetchRecord(id, in: table, db: db)
        else { return nil }
        return record.values.mapValues(\.json)
    }

    func count(
        in table: String, field: String, refersTo group: String, meeting condition: Constraint.Condition?,
        excluding id: String
    ) -> Int {
        guard let schema = try? replica.schema.table(named: table) else { return 0 }
        var sql = "SELECT count(*) FROM \(table.quotedIdentifier) WHERE \(field.quotedIdentifier) = ? AND id != ?"
        var arguments: StatementArguments = [group, id]
        if let condition, let conditionField = try? schema.field(named: condition.field) {
            let values = condition.values.compactMap { try? FieldValue(json: $0, for: conditionField, in: table) }
            sql +=
                " AND \(condition.field.quotedIdentifier) IN (\(values.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(values.map(\.databaseValue))
        }
        return (try? Int.fetchOne(db, sql: sql, arguments: arguments)) ?? 0
    }

    func referrers(in table: String, field: String, to id: String) -> [(id: String, values: [String: JSONValue])] {
        guard let schema = try? replica.schema.table(named: table),
            let ids = try? String.fetchAll(
                db, sql: "SELECT id FROM \(table.quotedIdentifier) WHERE \(field.quotedIdentifier) = ? ORDER BY id",
                arguments: [id])
        else { return [] }
        return ids.compactMap { id in
            (try? replica.fetchRecord(id, in: schema, db: db)).flatMap { $0 }.map { (id, $0.values.mapValues(\.json)) }
        }
    }
}

extension Replica {
    /// Checks the table's constraints for a record with these values (`before`: what it held, nil
    /// for a new one), and — for a change — those of the records referring to it, as the server
    /// will at merge; the one line names the rule and the record.
    ///
    /// - Throws: `invalidData` (`tandem: challenge.round: at most 5 …`).
    func checkConstraints(
        id: String, _ values: [FieldValue], before: [String: FieldValue]?, in table: TableSchema, db: Database
    ) throws {
        let context = ReplicaConstraintContext(replica: self, db: db)
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
}
