import Foundation
import GRDB
public import TandemProtocol

/// What `tandem audit verify` found (the same report `tandem-server verify` makes).
public typealias AuditVerification = HistoryVerification.Report

/// The formats of `tandem audit export`.
public enum AuditExportFormat: String, Sendable, CaseIterable {
    /// The stored lines verbatim, one entry a line: what `GET /v1/history` served.
    case ndjson
    /// `seq,time,organisation,role,device,table,record_id,op,status,version,reason,hash`.
    case csv
}

extension Replica {
    /// Verifies the audit store offline (SPEC §8): streams the entries in seq order through
    /// ``HistoryVerification`` (the chain, device registrations, signatures on every core in
    /// batches of `batchSize`), then checks every kept checkpoint.
    ///
    /// - Returns: the verification; its `failure` names the lowest bad seq.
    /// - Throws: `notFound` (66) when nothing has been pulled yet.
    public func verifyAudit(batchSize: Int = 4096) throws(ReplicaError) -> AuditVerification {
        try read { db in
            var verification = HistoryVerification()
            verification.batchSize = batchSize
            var entries = 0
            // The line's bytes straight from SQLite's buffer: no String made and copied again.
            let rows = try Row.fetchCursor(db, sql: "SELECT line FROM tandem_audit_entry ORDER BY seq")
            while let row = try rows.next() {
                entries += 1
                let line = try row.withUnsafeData(atIndex: 0) { data in
                    data.map { data in data.withUnsafeBytes { [UInt8]($0) } } ?? []
                }
                if !verification.add(line: line) { break }
            }
            guard entries > 0 else {
                throw ReplicaError(
                    .notFound, "no history in this replica's audit store yet; run `tandem audit pull` first")
            }
            let checkpoints = try Self.auditCheckpoints(in: db)
            return verification.finish(checkpoints: checkpoints) { seq in try? Self.auditHash(at: seq, in: db) ?? nil }
        }
    }

    /// Writes the audit store's entries in seq order, in chunks, to `write`.
    ///
    /// - Returns: how many entries were written.
    /// - Throws: `notFound` (66) when nothing has been pulled yet.
    @discardableResult
    public func exportAudit(as format: AuditExportFormat, to write: (String) -> Void) throws(ReplicaError) -> Int {
        try read { db in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_audit_entry") ?? 0 > 0 else {
                throw ReplicaError(
                    .notFound, "no history in this replica's audit store yet; run `tandem audit pull` first")
            }
            var buffer = ""
            buffer.reserveCapacity(1 << 16)
            if format == .csv {
                buffer += CSVWriter.line([
                    "seq", "time", "organisation", "role", "device", "table", "record_id", "op", "status", "version",
                    "reason", "hash",
                ])
            }
            var count = 0
            let lines = try String.fetchCursor(db, sql: "SELECT line FROM tandem_audit_entry ORDER BY seq")
            while let line = try lines.next() {
                switch format {
                case .ndjson:
                    buffer += line
                    buffer += "\n"
                case .csv:
                    buffer += CSVWriter.line(Self.csvCells(line))
                }
                count += 1
                if buffer.utf8.count >= 1 << 16 {
                    write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty { write(buffer) }
            return count
        }
    }

    /// An entry's CSV cells; an entry that cannot be read keeps what can (verify names it).
    private static func csvCells(_ line: String) -> [String] {
        let json = (try? JSONValue.parse(line)) ?? .null
        func text(_ value: JSONValue?) -> String {
            switch value {
            case nil, .null?: ""
            case let .string(text)?: text
            case let value?: value.serialized()
            }
        }
        return [
            text(json["seq"]), text(json["time"]), text(json["author"]?["organisation"]), text(json["author"]?["role"]),
            text(json["author"]?["device"]), text(json["change"]?["table"]), text(json["change"]?["record_id"]),
            text(json["change"]?["op"]), text(json["outcome"]?["status"]), text(json["outcome"]?["version"]),
            text(json["outcome"]?["reason"]), text(json["hash"]),
        ]
    }
}
