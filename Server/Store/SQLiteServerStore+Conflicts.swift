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

    public func resolve(
        conflict id: String, with resolution: Resolution, by principal: Principal, now: Int64
    ) async throws -> ConflictInfo {
        try await write { db in
            // A conflict on a record the caller may not read is answered as one that does not exist.
            guard let conflict = try self.conflict(id, db: db),
                try self.mayRead(conflict.recordID, table: conflict.table, by: principal, db: db)
            else {
                throw ServerError(.notFound, "not_found", "no conflict \(id)")
            }
            guard conflict.status == .open else {
                throw ServerError(.conflict, "resolved", "conflict \(id) is already resolved")
            }
            guard let record = try self.loadRecord(conflict.recordID, db: db), !record.isDeleted,
                let table = try? self.schema.table(named: conflict.table)
            else { throw ServerError(.conflict, "deleted", "the record of conflict \(id) is deleted") }
            // The server makes the decision's change and signs it, as its own device, for the resolver.
            let author = principal.author(device: DeviceRegistry.serverDevice)
            guard
                principal.role == .coordinator
                    || Access.isOwner(author, table: table, id: record.id, values: record.values)
            else {
                throw ServerError(
                    .forbidden, "forbidden", "only coordinators and the record's owners resolve conflicts")
            }
            let value: JSONValue
            switch resolution {
            case .keepCurrent: value = conflict.current
            case .keepIncoming: value = conflict.incoming
            case let .value(chosen): value = chosen
            }
            // The decision is a change like any other: logged, with its author.
            let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
            let change = Change(
                changeID: UUIDv7Generator.id(at: clock), table: table.name, recordID: record.id, op: .update,
                fields: [conflict.field: value], baseVersion: record.version, hlc: clock.description,
                device: DeviceRegistry.serverDevice)
            let batch = try self.receiveServerChange(change, by: author, now: now, db: db)
            guard let result = batch.results.first, let seq = result.seq, result.status != .rejected else {
                throw ServerError(
                    .unprocessable, "rejected",
                    "the chosen value is refused: \(batch.results.first?.reason ?? "rejected")")
            }
            try db.execute(
                sql: "UPDATE conflict SET status = 'resolved', resolved_seq = ? WHERE id = ?", arguments: [seq, id])
            guard let resolved = try self.conflict(id, db: db) else {
                throw ServerError(.notFound, "not_found", "no conflict \(id)")
            }
            return resolved
        }
    }
}
