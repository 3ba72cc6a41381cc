import GRDB
import TandemProtocol

/// Reading and writing records, with the bookkeeping the merge asks about.
extension SQLiteServerStore {
    func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        try Self.loadRecord(id, db: db)
    }

    static func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT tbl, version, deleted, state FROM record WHERE id = ?"), arguments: [id]
            )
        else { return nil }
        let fields = try Self.decodeFields(row["state"])
        return RecordState(
            table: row["tbl"], id: id, version: row["version"], isDeleted: row["deleted"], fields: fields)
    }

    static func encodeFields(_ fields: [String: RecordState.Field]) -> JSONValue {
        .object(
            fields.sorted { $0.key < $1.key }.map { name, field in
                JSONMember(
                    name,
                    .object([
                        JSONMember("value", field.value), JSONMember("version", .int(field.version)),
                        JSONMember("change_id", .string(field.changeID)), JSONMember("hlc", .string(field.hlc)),
                        JSONMember("author", field.author.json),
                    ]))
            })
    }

    static func decodeFields(_ text: String) throws -> [String: RecordState.Field] {
        guard case let .object(members) = try JSONValue.parse(text) else { return [:] }
        var fields: [String: RecordState.Field] = [:]
        for member in members {
            guard case let .int(version)? = member.value["version"],
                case let .string(changeID)? = member.value["change_id"],
                case let .string(hlc)? = member.value["hlc"], let author = member.value["author"]
            else { continue }
            fields[member.key] = RecordState.Field(
                value: member.value["value"] ?? .null, version: version, changeID: changeID, hlc: hlc,
                author: try Author(json: author))
        }
        return fields
    }
}

/// What a constraint asks about other records, answered from the store's tables one question at
/// a time: for migration `v4-grants`, which checks every record of a store made before the
/// constraints (a push asks the core's ``BatchContext``). A database failure is kept and
/// rethrown after the check.
final class StoreMergeContext: MergeContext {
    let db: Database
    private(set) var failure: (any Error)?
    /// The records `liveValues` has read for this change: table and values (nil: deleted).
    private var looked: [String: (table: String, values: [String: JSONValue]?)] = [:]

    init(db: Database) { self.db = db }

    private func attempt<T>(_ fallback: T, _ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            failure = failure ?? error
            return fallback
        }
    }

    func isLive(table: String, id: String) -> Bool {
        attempt(false) {
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT deleted = 0 FROM record WHERE id = ? AND tbl = ?"),
                arguments: [id, table])
                ?? false
        }
    }

    func readers(of id: String) -> Set<String> {
        attempt([]) {
            Set(
                try String.fetchAll(
                    db.cachedStatement(sql: "SELECT organisation FROM visibility WHERE record_id = ?"), arguments: [id])
            )
        }
    }

    func liveValues(table: String, id: String) -> [String: JSONValue]? {
        // A change's constraints may read one record several times (an exchange's round, for both
        // ends of both dates): it is loaded and decoded once per change.
        if let known = looked[id] { return known.table == table ? known.values : nil }
        let values = attempt(nil) { () -> (table: String, values: [String: JSONValue]?)? in
            guard let record = try SQLiteServerStore.loadRecord(id, db: db) else { return nil }
            return (record.table, record.isDeleted ? nil : record.values)
        }
        guard let values else { return nil }
        looked[id] = values
        return values.table == table ? values.values : nil
    }

    func count(
        in table: String, field: String, refersTo group: String, meeting condition: Constraint.Condition?,
        excluding id: String
    ) -> Int {
        attempt(Int.max) {
            // The group is a reference: the records in it are found through the reference index.
            var sql = """
                SELECT count(*) FROM reference r JOIN record g ON g.id = r.source AND g.tbl = ? AND g.deleted = 0
                WHERE r.target = ? AND r.field = ? AND r.source != ?
                """
            var arguments: StatementArguments = [table, group, field, id]
            if let condition {
                sql += " AND json_extract(g.state, ?) IN (SELECT value FROM json_each(?))"
                arguments += ["$.\(condition.field).value", JSONValue.array(condition.values).serialized()]
            }
            return try Int.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) ?? 0
        }
    }

    func referrers(in table: String, field: String, to id: String) -> [(id: String, values: [String: JSONValue])] {
        attempt([]) {
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT g.id, g.state FROM reference r
                        JOIN record g ON g.id = r.source AND g.tbl = ? AND g.deleted = 0
                        WHERE r.target = ? AND r.field = ? ORDER BY g.id
                        """), arguments: [table, id, field])
            return try rows.map { row in
                let fields = try SQLiteServerStore.decodeFields(row["state"])
                return (row["id"], fields.compactMapValues { $0.value == .null ? nil : $0.value })
            }
        }
    }

    func isReferenced(table: String, id: String) -> Bool {
        attempt(true) {
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM reference WHERE target = ?)"), arguments: [id])
                ?? true
        }
    }

    func holder(of value: JSONValue, table: String, field: String, excluding id: String) -> String? {
        attempt(nil) {
            try String.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT record_id FROM unique_value WHERE tbl = ? AND field = ? AND value = ? AND record_id != ?"
                ),
                arguments: [table, field, value.serialized(), id])
        }
    }
}
