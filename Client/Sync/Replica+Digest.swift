import GRDB
public import TandemProtocol

extension Replica {
    /// A ``TableDigest`` of every table of the replica's schema, in its order, over the rows the
    /// table holds now: each with the server version `tandem_record` keeps for it (0 for a row the
    /// server never sent) and its values as its columns give them back — what `GET /v1/digest`
    /// answers for the same records, byte for byte, when nothing changed them behind Tandem's
    /// back. Rows a pending edit changed are digested as they stand (``CheckReport`` sets their
    /// tables apart).
    public func digests() throws(ReplicaError) -> [TableDigest] {
        try read { db in
            try schema.tables.map { table in
                let columns = (["t.id"] + table.fields.map { "t." + $0.name.quotedIdentifier }).joined(separator: ", ")
                let sql = """
                    SELECT \(columns), coalesce(r.version, 0) FROM \(table.name.quotedIdentifier) t
                    LEFT JOIN tandem_record r ON r.id = t.id
                    """
                // The fields in the order the digest takes them, with their columns: sorted once.
                let fields = table.fields.enumerated().sorted { TableDigest.precedes($0.element.name, $1.element.name) }
                let rows = try Row.fetchCursor(db, sql: sql)
                var digest = TableDigest(table: table.name)
                let versionColumn = table.fields.count + 1
                var values: [(name: String, value: FieldValue)] = []
                values.reserveCapacity(fields.count)
                while let row = try rows.next() {
                    values.removeAll(keepingCapacity: true)
                    for (index, field) in fields {
                        let value = FieldValue(databaseValue: row[index + 1], type: field.type)
                        if !value.isNull { values.append((field.name, value)) }
                    }
                    digest.add(id: row[0], version: row[versionColumn], sortedValues: values)
                }
                return digest
            }
        }
    }

    /// The changes waiting in the outbox, by table.
    public func pendingChangesByTable() throws(ReplicaError) -> [String: Int] {
        try read { db in
            var pending: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT tbl, count(*) FROM tandem_outbox GROUP BY tbl") {
                pending[row[0]] = row[1]
            }
            return pending
        }
    }
}
