import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    public func pull(since: Int64, limit: Int, for principal: Principal) async throws -> PullResponse {
        try await read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT l.seq, l.tbl, l.record_id, l.time, l.author, l.change, l.outcome,
                               r.version, r.deleted, r.state
                        FROM log l LEFT JOIN record r ON r.id = l.record_id
                        WHERE l.seq > ? ORDER BY l.seq LIMIT ?
                        """),
                arguments: [since, limit])
            var items: [PullItem] = []
            items.reserveCapacity(rows.count)
            for row in rows {
                let change = try Change(json: JSONValue.parse(row["change"] as String))
                let isDeleted: Bool = row["deleted"] ?? false
                let state: String? = row["state"]
                var record: [String: JSONValue]?
                if let state, !isDeleted {
                    record = try Self.decodeFields(state).compactMapValues { $0.value == .null ? nil : $0.value }
                }
                let entry = PullItem.Entry(
                    changeID: change.changeID, time: row["time"],
                    author: try Author(json: JSONValue.parse(row["author"])),
                    op: change.op, fields: change.fields, outcome: try Outcome(json: JSONValue.parse(row["outcome"])),
                    hlc: change.hlc)
                items.append(
                    PullItem(
                        seq: row["seq"], table: row["tbl"], recordID: row["record_id"], version: row["version"] ?? 0,
                        isDeleted: isDeleted, record: record, entry: entry))
            }
            let next = items.last?.seq ?? since
            let head = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM log") ?? 0
            return PullResponse(items: items, next: next, more: next < head)
        }
    }
}
