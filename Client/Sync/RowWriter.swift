import GRDB
import TandemProtocol

/// Writes rows as the pull settles them: an upsert of every field, or a delete.
///
/// Unique values can collide for a moment: a row pulled early may take a value that another
/// row still holds locally because that row's own item comes later in the log, or because a
/// pending edit gave it the value (the server will reject that edit: `unique:FIELD`). The
/// server's state wins: a pure server row takes the value and the other row's field is set to
/// NULL (its own item, or the rejection's, corrects it); a row showing pending edits leaves the
/// colliding field NULL (the outbox still holds the value the user typed).
struct RowWriter {
    private var upserts: [String: String] = [:]
    /// Each table's upsert, prepared once while this writer lives (one page's transaction): GRDB's
    /// statement cache hashes the whole SQL text on every lookup.
    private var statements: [String: Statement] = [:]
    private var tables: [String: TableSchema?] = [:]

    /// The schema's table `name`, nil when the schema has none (a newer server's), looked up once.
    mutating func table(named name: String, in schema: Schema) -> TableSchema? {
        if let table = tables[name] { return table }
        let table = try? schema.table(named: name)
        tables[name] = table
        return table
    }

    mutating func write(
        _ values: [String: JSONValue]?, id: String, in table: TableSchema, isServerState: Bool, db: Database
    ) throws {
        let name = table.name.quotedIdentifier
        guard let values else {
            try db.cachedStatement(sql: "DELETE FROM \(name) WHERE id = ?").execute(arguments: [id])
            return
        }
        var fields = table.fields.map { field -> FieldValue in
            guard let json = values[field.name] else { return .null }
            return (try? FieldValue(json: json, for: field, in: table.name)) ?? .null
        }
        let sql = upsert(for: table)
        for attempt in 0..<2 {
            do {
                // Asked for again after a failure: GRDB drops a statement that failed from its cache.
                let statement: Statement
                if attempt == 0, let prepared = statements[table.name] {
                    statement = prepared
                } else {
                    statement = try db.cachedStatement(sql: sql)
                    if attempt == 0 { statements[table.name] = statement }
                }
                var arguments: [DatabaseValue] = []
                arguments.reserveCapacity(fields.count + 1)
                arguments.append(id.databaseValue)
                for field in fields { arguments.append(field.databaseValue) }
                try statement.execute(binding: arguments)
                return
            } catch let error as DatabaseError
                where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE && attempt == 0
            {
                statements[table.name] = nil
                for (position, field) in table.fields.enumerated() where field.isUnique && !fields[position].isNull {
                    let column = field.name.quotedIdentifier
                    let holder = try String.fetchOne(
                        db, sql: "SELECT id FROM \(name) WHERE \(column) = ? AND id != ? LIMIT 1",
                        arguments: [fields[position].databaseValue, id])
                    guard holder != nil else { continue }
                    if isServerState {
                        try db.execute(
                            sql: "UPDATE \(name) SET \(column) = NULL WHERE \(column) = ? AND id != ?",
                            arguments: [fields[position].databaseValue, id])
                    } else {
                        fields[position] = .null
                    }
                }
            }
        }
    }

    private mutating func upsert(for table: TableSchema) -> String {
        if let sql = upserts[table.name] { return sql }
        let columns = ["id"] + table.fields.map(\.name.quotedIdentifier)
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = table.fields.map { "\($0.name.quotedIdentifier) = excluded.\($0.name.quotedIdentifier)" }
        var sql = "INSERT INTO \(table.name.quotedIdentifier) (\(columns.joined(separator: ", "))) VALUES (\(marks))"
        sql +=
            updates.isEmpty
            ? " ON CONFLICT(id) DO NOTHING" : " ON CONFLICT(id) DO UPDATE SET " + updates.joined(separator: ", ")
        upserts[table.name] = sql
        return sql
    }
}
