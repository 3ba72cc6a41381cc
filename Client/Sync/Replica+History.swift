import Foundation
import GRDB
public import TandemProtocol

/// One version of a record, as `tandem history` shows it: a log entry the replica has pulled, or
/// a change still in the outbox (`isPending`, with no seq or version yet).
public struct HistoryEntry: Hashable, Sendable {
    public var seq: Int64?
    public var version: Int64?
    /// RFC 3339: the server's time for a log entry, the edit's device time for a pending change.
    public var time: String
    public var organisation: String?
    public var role: String?
    public var op: TandemProtocol.Operation
    public var fields: JSONValue
    /// The server's outcome (`{"status", "version", "applied", "conflicts", "reason"}`); null while pending.
    public var outcome: JSONValue
    public var isPending: Bool

    /// SPEC §3: `{"seq", "version", "time", "author": {"organisation", "role"}, "op", "fields", "outcome", "pending"}`.
    public var json: JSONValue {
        .object([
            JSONMember("seq", seq.map(JSONValue.int) ?? .null),
            JSONMember("version", version.map(JSONValue.int) ?? .null),
            JSONMember("time", .string(time)),
            JSONMember(
                "author",
                .object([
                    JSONMember("organisation", organisation.map(JSONValue.string) ?? .null),
                    JSONMember("role", role.map(JSONValue.string) ?? .null),
                ])),
            JSONMember("op", .string(op.rawValue)),
            JSONMember("fields", fields),
            JSONMember("outcome", outcome),
            JSONMember("pending", .bool(isPending)),
        ])
    }
}

extension Replica {
    /// Every version of a record this replica knows: its history entries in seq order — those
    /// of the audit store (`tandem audit pull`, complete up to its head), then the log entries
    /// pulled after that — then its own changes still waiting to be pushed.
    ///
    /// - Parameter id: the record's id or a unique prefix (of a live record, or of one the history
    ///   or the outbox knows, so a deleted record's history can still be read).
    /// - Throws: `notFound` (no table, or nothing known of the record), `usage` (a bad prefix).
    public func history(of tableName: String, id: String) throws(ReplicaError) -> [HistoryEntry] {
        let table = try table(tableName)
        return try read { db in
            let id = try Self.resolveHistoryID(id, in: table, db: db)
            var entries = try AuditStore.recordEvents(of: id, in: table.name, db: db).map { event in
                HistoryEntry(
                    seq: event.seq, version: event.outcome.version, time: event.time,
                    organisation: event.author.organisation, role: event.author.role.rawValue, op: event.op,
                    fields: event.fieldsJSON, outcome: event.outcomeJSON, isPending: false)
            }
            let settings = try Setting.readAll(in: db)
            let pending = try Row.fetchAll(
                db, sql: "SELECT \(OutboxRow.columns) FROM tandem_outbox WHERE record_id = ? ORDER BY seq",
                arguments: [id]
            ).map(OutboxRow.init)
            for change in pending {
                let fields =
                    change.op == .insert && change.fields == nil
                    ? try currentValues(of: id, in: table.name, db: db) ?? [:] : change.fields ?? [:]
                entries.append(
                    HistoryEntry(
                        seq: nil, version: nil,
                        time: HLC(change.hlc).map { Self.preciseTimestamp($0.milliseconds) } ?? "",
                        organisation: settings[.organisation], role: settings[.role], op: change.op,
                        fields: .object(
                            table.fields.compactMap { field in fields[field.name].map { JSONMember(field.name, $0) } }),
                        outcome: .null, isPending: true))
            }
            if entries.isEmpty, try !exists(id, in: table, db: db) {
                throw ReplicaError(.notFound, "\(table.name): no record with id \(id)")
            }
            return entries
        }
    }

    /// RFC 3339 with milliseconds, as the server writes its log times.
    private static func preciseTimestamp(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// The record id `text` names among the table's rows, its history (pulled or audited) and
    /// its outbox (a short id, `@…`, among the table's rows only).
    static func resolveHistoryID(_ text: String, in table: TableSchema, db: Database) throws -> String {
        if text.hasPrefix("@") { return try resolve(shortID: text, in: table, db: db) }
        return try resolve(text, in: table) { prefix, end in
            try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM \(table.name.quotedIdentifier) WHERE id >= ?1 AND id < ?2
                    UNION SELECT record_id FROM tandem_history WHERE tbl = ?3 AND record_id >= ?1 AND record_id < ?2
                    UNION SELECT record_id FROM tandem_outbox WHERE tbl = ?3 AND record_id >= ?1 AND record_id < ?2
                    UNION SELECT record_id FROM tandem_audit_entry
                        WHERE tbl = ?3 AND record_id >= ?1 AND record_id < ?2
                    ORDER BY 1 LIMIT 3
                    """, arguments: [prefix, end, table.name])
        }
    }
}
