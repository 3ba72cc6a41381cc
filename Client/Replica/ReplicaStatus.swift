import GRDB
public import TandemProtocol

/// What `tandem status` shows: who this replica is, where it syncs, and what is waiting.
public struct ReplicaStatus: Hashable, Sendable {
    /// A change the server refused, kept until the user retries or dismisses it (`tandem retry`,
    /// `tandem dismiss`): never pushed again by itself, not pending.
    public struct Rejection: Hashable, Sendable {
        public var changeID: String
        public var table: String
        public var recordID: String
        public var reason: RejectionReason
        /// What the change did (nil for one refused before the replica kept its changes).
        public var op: Operation?
        /// The fields it tried to set, with their values (an insert: every value of the record).
        public var fields: [String: JSONValue]

        public init(
            changeID: String, table: String, recordID: String, reason: RejectionReason, op: Operation? = nil,
            fields: [String: JSONValue] = [:]
        ) {
            self.changeID = changeID
            self.table = table
            self.recordID = recordID
            self.reason = reason
            self.op = op
            self.fields = fields
        }

        /// `{"change_id", "table", "record_id", "reason", "fields"}` (SPEC §3).
        public var json: JSONValue {
            .object([
                JSONMember("change_id", .string(changeID)), JSONMember("table", .string(table)),
                JSONMember("record_id", .string(recordID)), JSONMember("reason", .string(reason.rawValue)),
                JSONMember("fields", .object(fields.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })),
            ])
        }
    }

    public var organisation: String?
    public var role: String?
    public var server: String?
    public var pending: Int
    public var conflicts: Int
    public var rejected: [Rejection]
    public var lastSync: String?
    /// The schema the replica holds: its name and version (`"_schema"` in JSON).
    public var schemaName = ""
    public var schemaVersion = 0

    /// The server's clock minus this device's, in milliseconds, as the latest exchange with the
    /// server measured it; nil before any.
    public var clockOffset: Int64?

    /// What `status` says of the device clock when it is off the server's by at least
    /// ``ClockOffset/noticeThreshold`` (`"20 min ahead of the server's"`); nil otherwise.
    public var clockNotice: String? {
        guard let offset = clockOffset, abs(offset) >= ClockOffset.noticeThreshold else { return nil }
        return "\(Self.duration(abs(offset))) \(offset < 0 ? "ahead of" : "behind") the server's"
    }

    /// `3 d 0 h`, `20 min 4 s`, `7 s`: the two largest units.
    static func duration(_ milliseconds: Int64) -> String {
        let seconds = (milliseconds + 500) / 1000
        let units: [(Int64, String)] = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")]
        guard let first = units.firstIndex(where: { seconds >= $0.0 }) else { return "\(milliseconds) ms" }
        var parts = ["\(seconds / units[first].0) \(units[first].1)"]
        if first + 1 < units.count {
            parts.append("\(seconds % units[first].0 / units[first + 1].0) \(units[first + 1].1)")
        }
        return parts.joined(separator: " ")
    }

    /// The server's history went back or forked and the repair is not finished (a sync finishes
    /// it); nil otherwise. In JSON under `_rollback`, only when set (docs/operations.md).
    public var rollback: RollbackState?

    /// The JSON shape of SPEC §3, and the extra keys (with a leading underscore, as SPEC §3 has
    /// extras) `_schema` (`{"name", "version"}`), `_clock_offset_ms` (``clockOffset``) and, while a
    /// rollback is being repaired, `_rollback`.
    public var json: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        var members: [JSONMember] = [
            JSONMember("organisation", optional(organisation)),
            JSONMember("role", optional(role)),
            JSONMember("server", optional(server)),
            JSONMember("pending", .int(Int64(pending))),
            JSONMember("conflicts", .int(Int64(conflicts))),
            JSONMember("rejected", .array(rejected.map(\.json))),
            JSONMember("last_sync", optional(lastSync)),
            JSONMember(
                "_schema",
                .object([JSONMember("name", .string(schemaName)), JSONMember("version", .int(Int64(schemaVersion)))])),
            JSONMember("_clock_offset_ms", clockOffset.map { .int($0) } ?? .null),
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
                db, sql: "SELECT \(Rejection.columns) FROM tandem_rejected ORDER BY rowid"
            ).map(Rejection.init(row:))
            return ReplicaStatus(
                organisation: settings[.organisation], role: settings[.role], server: settings[.server],
                pending: try Outbox.count(in: db),
                conflicts: try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_conflict WHERE status = 'open'") ?? 0,
                rejected: rejected, lastSync: settings[.lastSync], schemaName: schema.name,
                schemaVersion: schema.version, clockOffset: settings[.clockOffset].flatMap { Int64($0) },
                rollback: try Self.rollbackState(in: db))
        }
    }
}

extension ReplicaStatus.Rejection {
    /// The `tandem_rejected` columns ``init(row:)`` reads.
    static let columns = "change_id, tbl, record_id, reason, change"

    /// A row of `tandem_rejected`: its op and fields come from the change kept with it (none for a
    /// row older than `v2`, or whose change does not read: it still shows, and can be dismissed).
    init(row: Row) {
        let change = (row["change"] as String?).flatMap { text in
            try? Change(json: try JSONValue.parse(text))
        }
        self.init(
            changeID: row["change_id"], table: row["tbl"], recordID: row["record_id"],
            reason: RejectionReason(rawValue: row["reason"]),
            op: change?.op, fields: change?.fields ?? [:])
    }
}
