import GRDB
public import TandemProtocol

/// What `tandem status` shows: who this replica is, where it syncs, and what is waiting.
public struct ReplicaStatus: Hashable, Sendable {
    public struct Rejection: Hashable, Sendable {
        public var changeID: String
        public var table: String
        public var recordID: String
        public var reason: String
    }

    public var organisation: String?
    public var role: String?
    public var server: String?
    public var pending: Int
    public var conflicts: Int
    public var rejected: [Rejection]
    public var lastSync: String?
    /// The server's history went back or forked and the repair is not finished (a sync finishes
    /// it); nil otherwise. In JSON under `_rollback`, only when set (docs/operations.md).
    public var rollback: RollbackState?

    /// The JSON shape of SPEC §3 (and `_rollback` while a rollback is being repaired).
    public var json: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        var members: [JSONMember] = [
            JSONMember("organisation", optional(organisation)),
            JSONMember("role", optional(role)),
            JSONMember("server", optional(server)),
            JSONMember("pending", .int(Int64(pending))),
            JSONMember("conflicts", .int(Int64(conflicts))),
            JSONMember(
                "rejected",
                .array(
                    rejected.map {
                        .object([
                            JSONMember("change_id", .string($0.changeID)), JSONMember("table", .string($0.table)),
                            JSONMember("record_id", .string($0.recordID)), JSONMember("reason", .string($0.reason)),
                        ])
                    })),
            JSONMember("last_sync", optional(lastSync)),
        ]
        if let rollback { members.append(JSONMember("_rollback", rollback.json)) }
        return .object(members)
    }
}

extension Replica {
    public func status() throws(ReplicaError) -> ReplicaStatus {
        try read { db in
            let settings = try Setting.readAll(in: db)
            let rejected = try Row.fetchAll(
                db, sql: "SELECT change_id, tbl, record_id, reason FROM tandem_rejected ORDER BY rowid"
            ).map {
                ReplicaStatus.Rejection(
                    changeID: $0["change_id"], table: $0["tbl"], recordID: $0["record_id"], reason: $0["reason"])
            }
            return ReplicaStatus(
                organisation: settings[.organisation], role: settings[.role], server: settings[.server],
                pending: try Outbox.count(in: db),
                conflicts: try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_conflict WHERE status = 'open'") ?? 0,
                rejected: rejected, lastSync: settings[.lastSync], rollback: try Self.rollbackState(in: db))
        }
    }
}
