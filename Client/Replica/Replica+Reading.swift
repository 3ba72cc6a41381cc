import GRDB
public import TandemProtocol

extension Replica {
    /// One record, found by its id or a unique prefix of at least 4 characters.
    ///
    /// - Throws: `notFound` (no table or record), `usage` (a prefix too short or ambiguous).
    public func record(in tableName: String, id: String) throws(ReplicaError) -> Record {
        let table = try table(tableName)
        return try read { db in
            let id = try Self.resolve(id, in: table, db: db)
            guard let record = try fetchRecord(id, in: table, db: db) else {
                throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
            }
            return record
        }
    }

    /// The records of a table in id order (creation order), filtered by `field=value` pairs (all
    /// must hold; a set field matches when it contains every given member; `field=` matches NULL).
    public func records(
        in tableName: String, where filters: [Assignment] = [], limit: Int? = nil
    ) throws(ReplicaError) -> [Record] {
        let table = try table(tableName)
        if let limit, limit < 0 { throw ReplicaError(.usage, "--limit must be 0 or more") }
        return try read { db in
            var conditions: [String] = []
            var arguments: [DatabaseValue] = []
            for filter in filters {
                if filter.field == "id" {
                    conditions.append("id = ?")
                    arguments.append(filter.text.lowercased().databaseValue)
                    continue
                }
                let field = try table.field(named: filter.field)
                var value = try FieldValue(parsing: filter.text, for: field, in: table.name)
                if field.type == .ref, let prefix = value.text, !Identifier.isUUID(prefix.lowercased()),
                    let target = field.references
                {
                    value = .text(try Self.resolve(prefix, in: try schema.table(named: target), db: db))
                }
                let column = field.name.quotedIdentifier
                switch value {
                case .null:
                    conditions.append("\(column) IS NULL")
                case let .set(members):
                    for member in members {
                        conditions.append("EXISTS (SELECT 1 FROM json_each(\(column)) WHERE value = ?)")
                        arguments.append(member.databaseValue)
                    }
                case let .text(text) where field.type == .ref:
                    conditions.append("\(column) = ?")
                    arguments.append(text.lowercased().databaseValue)
                default:
                    conditions.append("\(column) = ?")
                    arguments.append(value.databaseValue)
                }
            }
            var sql = self.sql(for: table).select
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY id"
            if let limit { sql += " LIMIT \(limit)" }
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            var records: [Record] = []
            while let row = try rows.next() { records.append(Self.record(from: row, table: table)) }
            return records
        }
    }

    static func record(from row: Row, table: TableSchema) -> Record {
        var values: [String: FieldValue] = [:]
        values.reserveCapacity(table.fields.count)
        for (index, field) in table.fields.enumerated() {
            let value = FieldValue(databaseValue: row[index + 1], type: field.type)
            if !value.isNull { values[field.name] = value }
        }
        return Record(id: row[0], values: values)
    }

    func fetchRecord(_ id: String, in table: TableSchema, db: Database) throws -> Record? {
        let statement = try db.cachedStatement(sql: sql(for: table).selectByID)
        return try Row.fetchOne(statement, arguments: [id]).map { Self.record(from: $0, table: table) }
    }

    /// The full id that `text` names in `table`: itself when it is a whole id; the one record
    /// whose short id it is (`@0c1d2e`: the start of the id's last group, ``RecordNames``); else
    /// the one record whose id starts with it.
    ///
    /// - Throws: `usage` when the prefix is shorter than 4 characters or matches several
    ///   records; `notFound` when it matches none.
    static func resolve(_ text: String, in table: TableSchema, db: Database) throws -> String {
        if text.hasPrefix("@") { return try resolve(shortID: text, in: table, db: db) }
        return try resolve(text, in: table) { prefix, end in
            try String.fetchAll(
                db, sql: "SELECT id FROM \(table.name.quotedIdentifier) WHERE id >= ? AND id < ? ORDER BY id LIMIT 3",
                arguments: [prefix, end])
        }
    }

    /// The record whose last id group starts with the characters after `@` (at least 4).
    static func resolve(shortID text: String, in table: TableSchema, db: Database) throws -> String {
        let start = text.dropFirst().lowercased()
        guard start.utf8.count <= 12, start.utf8.allSatisfy(Identifier.isLowerHex) else {
            throw ReplicaError(.notFound, "\(table.name): no record with id \(text)")
        }
        guard start.count >= 4 else {
            throw ReplicaError(
                .usage, "\(table.name): short id \"\(text)\" is too short (at least 4 characters after @)")
        }
        let found = try String.fetchAll(
            db,
            sql:
                "SELECT id FROM \(table.name.quotedIdentifier) WHERE substr(id, \(RecordNames.lastGroupOffset + 1), ?) = ? LIMIT 3",
            arguments: [start.count, start])
        switch found.count {
        case 0: throw ReplicaError(.notFound, "\(table.name): no record with id \(text)")
        case 1: return found[0]
        default:
            throw ReplicaError(
                .usage,
                "\(table.name): short id \"\(text)\" is ambiguous (\(found.prefix(2).joined(separator: ", "))\(found.count > 2 ? ", …" : ""))"
            )
        }
    }

    /// ``resolve(_:in:db:)`` over other candidates: `matches(prefix, end)` returns up to 3 ids
    /// in `[prefix, end)`.
    static func resolve(
        _ text: String, in table: TableSchema, matches: (_ prefix: String, _ end: String) throws -> [String]
    ) throws -> String {
        try resolve(text, label: table.name, noun: "record", matches: matches)
    }

    /// The full id that `text` names among ids of one kind (`noun`, named in messages after
    /// `label`): itself when it is a whole id, else the one that `matches(prefix, end)` finds.
    static func resolve(
        _ text: String, label: String, noun: String, matches: (_ prefix: String, _ end: String) throws -> [String]
    ) throws -> String {
        let prefix = text.lowercased()
        if Identifier.isUUID(prefix) { return prefix }
        guard Identifier.isPrefix(prefix) else {
            throw ReplicaError(.notFound, "\(label): no \(noun) with id \(text)")
        }
        guard prefix.count >= 4 else {
            throw ReplicaError(.usage, "\(label): id prefix \"\(text)\" is too short (at least 4 characters)")
        }
        // Ids are lowercase hex and dashes, all below "g": [prefix, prefix + "g") is every id
        // that starts with the prefix, and an index on the ids finds them.
        let found = try matches(prefix, prefix + "g")
        switch found.count {
        case 0: throw ReplicaError(.notFound, "\(label): no \(noun) with id \(text)")
        case 1: return found[0]
        default:
            let shown = found.prefix(2).joined(separator: ", ") + (found.count > 2 ? ", …" : "")
            throw ReplicaError(.usage, "\(label): id prefix \"\(text)\" is ambiguous (\(shown))")
        }
    }

    /// A value for `table.field` given as command-line text, as wire JSON (refs may be prefixes).
    ///
    /// - Throws: `invalidData` naming table and field; `notFound` for an unknown table or field.
    public func wireValue(parsing text: String, table tableName: String, field fieldName: String) throws(ReplicaError)
        -> JSONValue
    {
        let table = try table(tableName)
        return try read { db in
            let field = try table.field(named: fieldName)
            let value = try FieldValue(parsing: text, for: field, in: table.name)
            if field.type == .ref, let reference = value.text, let target = field.references {
                return .string(try Self.resolve(reference, in: try schema.table(named: target), db: db))
            }
            return value.json
        }
    }

    func exists(_ id: String, in table: TableSchema, db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: sql(for: table).exists), arguments: [id]) ?? false
    }
}
