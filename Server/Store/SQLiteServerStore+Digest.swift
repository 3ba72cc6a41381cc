import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    /// The live records `viewer` may read, a page in id order
    /// (``StoreAdapter/visibleRecords(after:limit:viewer:)``): walks the `record` primary key;
    /// a member's are those of the open tables and those with a `visibility` row of its
    /// organisation, as a pull filters entries.
    public func visibleRecords(after id: String?, limit: Int, viewer: String?) async throws -> [VisibleRecord] {
        try await read { db in
            var sql = """
                SELECT r.tbl, r.id, r.version, r.values_json FROM record r
                WHERE r.id > ? AND r.deleted = 0 AND r.tbl NOT IN (SELECT value FROM json_each(?))
                """
            var arguments: StatementArguments = [id ?? "", Self.jsonArray(SchemaRegistry.pseudoTables)]
            if let viewer {
                sql += """
                     AND (r.tbl IN (SELECT value FROM json_each(?))
                        OR EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = r.id AND v.organisation = ?))
                    """
                arguments += [self.openTablesJSON, viewer]
            }
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: sql + " ORDER BY r.id LIMIT ?"), arguments: arguments + [limit])
            var records: [VisibleRecord] = []
            records.reserveCapacity(limit)
            while let row = try rows.next() {
                records.append(VisibleRecord(table: row[0], id: row[1], version: row[2], values: row[3] ?? "{}"))
            }
            return records
        }
    }
}
