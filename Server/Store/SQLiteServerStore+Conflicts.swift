import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    /// Conflicts on records `principal` may read (docs/visibility.md): every one for coordinators
    /// and auditors; for a member, those on records of tables every token reads and on records
    /// its organisation may read now.
    public func conflicts(for principal: Principal, includeResolved: Bool) async throws -> [ConflictInfo] {
        return try await read { db in
            let openTables = self.openTablesJSON
            var conditions = includeResolved ? [] : ["c.status = 'open'"]
            var arguments: StatementArguments = []
            if principal.role == .member {
                conditions.append(
                    """
                    (c.tbl IN (SELECT value FROM json_each(?))
                        OR EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = c.record_id AND v.organisation = ?))
                    """)
                arguments += [openTables, principal.organisation ?? ""]
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let sql = "SELECT c.id FROM conflict c" + filter + " ORDER BY c.seq, c.id"
            return try String.fetchAll(db, sql: sql, arguments: arguments).compactMap { try self.conflict($0, db: db) }
        }
    }

    /// Whether `principal` may read the record `id` of `table` now (SPEC §6; docs/visibility.md).
    func mayRead(_ id: String, table: String, by principal: Principal, db: Database) throws -> Bool {
        guard principal.role == .member, let schema = try? schema.table(named: table), Visibility.isRestricted(schema)
        else { return true }
        return try Bool.fetchOne(
            db.cachedStatement(
                sql: "SELECT EXISTS (SELECT 1 FROM visibility WHERE record_id = ? AND organisation = ?)"),
            arguments: [id, principal.organisation ?? ""]) ?? false
    }

    func conflict(_ id: String, db: Database) throws -> ConflictInfo? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT tbl, record_id, field, incoming, status FROM conflict WHERE id = ?", arguments: [id])
        else { return nil }
        let record = try loadRecord(row["record_id"], db: db)
        return ConflictInfo(
            id: id, table: row["tbl"], recordID: row["record_id"], field: row["field"],
            current: record?[row["field"] as String] ?? .null, incoming: try JSONValue.parse(row["incoming"] as String),
            status: ConflictInfo.Status(rawValue: row["status"]) ?? .open)
    }
}
