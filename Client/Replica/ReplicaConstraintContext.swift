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
