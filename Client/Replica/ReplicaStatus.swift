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

    /// The JSON shape of SPEC §3, and `_clock_offset_ms` (an extra key, so with a leading
    /// underscore as SPEC §3 has extras): ``clockOffset``.
    public var json: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return .object([
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
            JSONMember("_clock_offset_ms", clockOffset.map { .int($0) } ?? .null),
        ])
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
                rejected: rejected, lastSync: settings[.lastSync],
                clockOffset: settings[.clockOffset].flatMap { Int64($0) })
        }
    }
}
