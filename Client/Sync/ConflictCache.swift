import GRDB
public import TandemProtocol

/// The conflicts the server reported at the last sync, cached in the replica (`tandem_conflict`)
/// for `tandem status` and an offline `tandem conflicts`.
///
/// ```swift
/// for conflict in try replica.conflicts.cached() { print(conflict.field) }
/// ```
public struct ConflictCache: ReplicaPart {
    let replica: Replica

    /// Replaces the cached conflicts with the server's list (for `status` and offline `conflicts`).
    func cache(_ conflicts: [ConflictInfo]) throws(ReplicaError) {
        try write { db in
            try db.execute(sql: "DELETE FROM tandem_conflict")
            for conflict in conflicts {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO tandem_conflict(id, tbl, record_id, field, current, incoming, status)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        conflict.id, conflict.table, conflict.recordID, conflict.field, conflict.current.serialized(),
                        conflict.incoming.serialized(), conflict.status.rawValue,
                    ])
            }
        }
    }

    /// The conflicts cached by the last sync (or `conflicts`): open ones, or all.
    public func cached(includeResolved: Bool = false) throws(ReplicaError) -> [ConflictInfo] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, tbl, record_id, field, current, incoming, status FROM tandem_conflict
                    \(includeResolved ? "" : "WHERE status = 'open'") ORDER BY id
                    """)
            return rows.map { row in
                ConflictInfo(
                    id: row["id"], table: row["tbl"], recordID: row["record_id"], field: row["field"],
                    current: (try? JSONValue.parse(row["current"] as String)) ?? .null,
                    incoming: (try? JSONValue.parse(row["incoming"] as String)) ?? .null,
                    status: ConflictInfo.Status(rawValue: row["status"]) ?? .open)
            }
        }
    }

    /// The full id of a cached conflict that `text` names (an id or a unique prefix of at least 4
    /// characters); nil when the cache holds none that starts with it.
    ///
    /// - Throws: `usage` when the prefix is too short or ambiguous.
    public func id(matching text: String) throws(ReplicaError) -> String? {
        let prefix = text.lowercased()
        return try read { db in
            let matches = try String.fetchAll(
                db, sql: "SELECT id FROM tandem_conflict WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3",
                arguments: [prefix.count, prefix])
            if matches.contains(prefix) { return prefix }
            guard !matches.isEmpty else { return nil }
            guard prefix.count >= 4 else {
                throw ReplicaError(.usage, "conflict id prefix \"\(text)\" is too short (at least 4 characters)")
            }
            guard matches.count == 1 else {
                throw ReplicaError(
                    .usage,
                    "conflict id prefix \"\(text)\" is ambiguous (\(matches.prefix(2).joined(separator: ", "))…)")
            }
            return matches[0]
        }
    }
}

extension Replica {
    /// The conflict cache of this replica.
    public var conflicts: ConflictCache { ConflictCache(replica: self) }
}
