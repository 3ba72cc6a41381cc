import Foundation
import GRDB
public import TandemProtocol

/// What `tandem audit verify` found (the same report `tandem-server verify` makes).
public typealias AuditVerification = HistoryVerification.Report

/// The formats of `tandem audit export`.
public enum AuditExportFormat: String, Sendable, CaseIterable {
    /// The stored lines, one entry a line: what `GET /v1/history` served, with the openings the
    /// store keeps beside each entry (its `values` member, SPEC §8) when it keeps any.
    case ndjson
    /// `seq,time,organisation,role,device,table,record_id,op,status,version,reason,hash`.
    case csv
}

extension AuditStore {
    /// Verifies the audit store offline (SPEC §8): streams the entries in seq order through
    /// ``HistoryVerification`` (the chain, device registrations; the signatures on every core,
    /// a ``SignatureChecker`` taking them in chunks, at most `batchSize` out at once), each with the openings the store keeps beside it (every one must
    /// open a commitment its entry holds: a value altered, or salts swapped, is a tampered
    /// history at that seq), then checks every kept checkpoint.
    ///
    /// - Returns: the verification; its `failure` names the lowest bad seq.
    /// - Throws: `notFound` (66) when nothing has been pulled yet.
    public func verify(batchSize: Int = 4096) throws(ReplicaError) -> AuditVerification {
        try read { db in
            var verification = HistoryVerification()
            verification.batchSize = batchSize
            let signatures = SignatureChecker()
            var entries = 0
            var values = AuditValueReader(try Self.values(in: db))
            // The line's bytes straight from SQLite's buffer: no String made and copied again.
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, line FROM tandem_audit_entry ORDER BY seq")
            while let row = try rows.next() {
                entries += 1
                var line = try row.withUnsafeData(atIndex: 1) { data in
                    data.map { data in data.withUnsafeBytes { [UInt8]($0) } } ?? []
                }
                let openings = try values.openings(at: row["seq"])
                if !openings.isEmpty {
                    line = Array(LogEntry.line(String(decoding: line, as: UTF8.self), with: openings).utf8)
                }
                guard verification.add(line: line) else { break }
                let checks = verification.takeSignatureChecks()
                if !checks.isEmpty {
                    signatures.check(checks)
                    // A bad signature found: the rest need not be read.
                    if let found = signatures.failure {
                        verification.fail(found)
                        break
                    }
                }
            }
            if let found = signatures.wait() { verification.fail(found) }
            guard entries > 0 else {
                throw ReplicaError(
                    .notFound, "no history in this replica's audit store yet; run `tandem audit pull` first")
            }
            let checkpoints = try Self.checkpoints(in: db)
            return verification.finish(checkpoints: checkpoints) { seq in try? Self.hash(at: seq, in: db) ?? nil }
        }
    }

    /// Writes the audit store's entries in seq order, in chunks, to `write`.
    ///
    /// - Returns: how many entries were written.
    /// - Throws: `notFound` (66) when nothing has been pulled yet.
    @discardableResult
    public func export(as format: AuditExportFormat, to write: (String) -> Void) throws(ReplicaError) -> Int {
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
            var values = AuditValueReader(try Self.values(in: db))
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, line FROM tandem_audit_entry ORDER BY seq")
            while let row = try rows.next() {
                let line: String = row["line"]
                let openings = try values.openings(at: row["seq"])
                switch format {
                case .ndjson:
                    buffer += LogEntry.line(line, with: openings)
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

/// The audit store's openings (`tandem_audit_value`), read in seq order beside the lines.
struct AuditValueReader {
    private let cursor: RowCursor
    private var next: (seq: Int64, commitment: String, opening: Opening)?

    init(_ cursor: RowCursor) { self.cursor = cursor }

    /// The openings kept beside entry `seq`, under the commitments they were kept for (one that
    /// does not open its commitment included: the verifier names it). Seqs are asked in order.
    mutating func openings(at seq: Int64) throws -> Openings {
        var found = Openings()
        while true {
            if next == nil {
                guard let row = try cursor.next() else { break }
                let text: String = row["value"]
                // A value that is not JSON was altered: kept as text, so that it opens nothing.
                let value = (try? JSONValue.parse(text)) ?? .string(text)
                next = (row["seq"], row["commitment"], Opening(salt: row["salt"], value: value))
            }
            guard let held = next, held.seq <= seq else { break }
            if held.seq == seq { found[held.commitment] = held.opening }
            next = nil
        }
        return found
    }
}
