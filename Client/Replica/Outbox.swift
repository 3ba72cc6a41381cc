import GRDB
package import TandemProtocol
import TandemSQLite

/// The outbox: the changes this replica has made and the server has not yet accepted.
///
/// Several edits of one record before it is sent become one change (coalescing), never losing
/// a field: an insert absorbs later updates (the row holds the values); an update absorbs later
/// updates field by field; a delete absorbs earlier updates; a delete of a record that never
/// reached the server removes its insert, leaving nothing to push. A change that has been sent
/// once (it has a `change_id`) is frozen: later edits make a new change.
package enum Outbox {
    /// An unsent change as it stands in the outbox.
    package struct Entry: Equatable {
        package var op: Operation
        /// For an update: the fields it sets. For an insert: nil (the row holds them).
        package var fields: [String: JSONValue]?
        package var hlc: String

        package init(op: Operation, fields: [String: JSONValue]?, hlc: String) {
            self.op = op
            self.fields = fields
            self.hlc = hlc
        }
    }

    /// What to do with the outbox when a new edit of a record arrives.
    package enum Step: Equatable {
        case append(Entry)
        case replace(Entry)
        case remove
    }

    /// The pure rule: given the record's unsent entry (if any) and a new edit, what to write.
    package static func coalesce(pending: Entry?, edit: Entry) -> Step {
        guard let pending else { return .append(edit) }
        switch (pending.op, edit.op) {
        case (.insert, .update):
            return .replace(Entry(op: .insert, fields: nil, hlc: edit.hlc))
        case (.insert, .delete):
            return .remove
        case (.update, .update):
            var fields = pending.fields ?? [:]
            fields.merge(edit.fields ?? [:]) { _, new in new }
            return .replace(Entry(op: .update, fields: fields, hlc: edit.hlc))
        case (.update, .delete):
            return .replace(Entry(op: .delete, fields: nil, hlc: edit.hlc))
        default:
            // An insert of an id that has an unsent change, or an edit after a delete: the
            // replica refuses these before they get here.
            return .append(edit)
        }
    }

    /// Records `edit` of `recordID` in the outbox, coalescing with its unsent entry.
    static func record(_ edit: Entry, table: String, recordID: String, in db: Database) throws {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT seq, op, fields, hlc FROM tandem_outbox
                    WHERE record_id = ? AND change_id IS NULL ORDER BY seq DESC LIMIT 1
                    """),
            arguments: [recordID])
        let pending = try row.map { row -> (seq: Int64, entry: Entry) in
            let fields = try (row["fields"] as String?).map { text -> [String: JSONValue] in
                guard case let .object(members) = try JSONValue.parse(text) else { return [:] }
                return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            }
            return (row["seq"], Entry(op: Operation(rawValue: row["op"]) ?? .update, fields: fields, hlc: row["hlc"]))
        }
        switch coalesce(pending: pending?.entry, edit: edit) {
        case let .append(entry):
            try append(entry, table: table, recordID: recordID, in: db)
        case let .replace(entry):
            try db.execute(
                sql: "UPDATE tandem_outbox SET op = ?, fields = ?, hlc = ? WHERE seq = ?",
                arguments: [entry.op.rawValue, encode(entry.fields), entry.hlc, pending?.seq])
        case .remove:
            try db.execute(sql: "DELETE FROM tandem_outbox WHERE seq = ?", arguments: [pending?.seq])
        }
    }

    /// Appends a change without looking for one to coalesce with (a new record's insert).
    static func append(_ entry: Entry, table: String, recordID: String, in db: Database) throws {
        let version = entry.op == .insert ? 0 : try baseVersion(of: recordID, in: db)
        let statement = try db.cachedStatement(
            sql: "INSERT INTO tandem_outbox(tbl, record_id, op, fields, base_version, hlc) VALUES (?, ?, ?, ?, ?, ?)")
        try statement.execute(binding: [
            table.databaseValue, recordID.databaseValue, entry.op.rawValue.databaseValue,
            encode(entry.fields).databaseValue,
            version.databaseValue, entry.hlc.databaseValue,
        ])
    }

    /// The server version of a record, 0 when the server has not told us of it.
    static func baseVersion(of recordID: String, in db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT version FROM tandem_record WHERE id = ?"), arguments: [recordID]) ?? 0
    }

    /// The number of changes waiting to be pushed.
    static func count(in db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_outbox") ?? 0
    }

    private static func encode(_ fields: [String: JSONValue]?) -> String? {
        guard let fields else { return nil }
        return JSONValue.object(fields.sorted(by: { $0.key < $1.key }).map { JSONMember($0.key, $0.value) })
            .serialized()
    }
}
