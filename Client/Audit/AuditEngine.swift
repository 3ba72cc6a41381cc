import Dispatch
import GRDB
public import TandemProtocol

/// `tandem audit pull`: fetches the server's history (SPEC §8) into the replica's audit store,
/// incrementally, checking as it goes that what the server sends extends what the replica holds,
/// and keeps the server's signed checkpoint once it is checked against the entries held.
///
/// Pages of ``pageSize`` lines (`GET /v1/history?since=HEAD&limit=…`) are each stored in one
/// transaction, so an interrupted pull resumes where it stopped; only one page is in memory at a
/// time. Every new line must be the next seq and carry the previous entry's hash as `prev_hash`;
/// otherwise nothing of its page is stored and the pull fails (`invalidData`, 65) with a message
/// that starts "history does not extend". The lines are stored as sent, even when their content
/// is wrong: `tandem audit verify` (``AuditStore/verify(batchSize:)``) names what is wrong.
///
/// ```swift
/// let summary = try AuditEngine.connecting(replica).pull()
/// summary.description  // "pulled 120 entries (seq 1–120), checkpoint seq 120"
/// ```
public struct AuditEngine: Sendable {
    /// What a pull did.
    public struct Summary: Hashable, Sendable, CustomStringConvertible {
        /// Entries stored by this pull, and their first and last seq.
        public var pulled = 0
        public var first: Int64?
        public var last: Int64?
        /// The last entry the store holds.
        public var head: Int64 = 0
        /// The server's checkpoint, checked and kept.
        public var checkpoint: Checkpoint

        /// `pulled N entries (seq A–B), checkpoint seq S`.
        public var description: String {
            let noun = pulled == 1 ? "entry" : "entries"
            let range = first.map { "seq \($0)–\(last ?? $0)" } ?? "up to date at seq \(head)"
            return "pulled \(pulled) \(noun) (\(range)), checkpoint seq \(checkpoint.seq)"
        }
    }

    public let replica: Replica
    public let api: SyncAPI
    /// History lines asked for per request.
    public var pageSize = 5000

    public init(replica: Replica, transport: any SyncTransport, retry: SyncAPI.RetryPolicy = .init()) {
        self.replica = replica
        api = SyncAPI(transport: transport, retry: retry)
    }

    /// An engine for the replica's server and token, over ``CurlTransport``.
    ///
    /// - Throws: `usage` when the replica has no server yet.
    public static func connecting(_ replica: Replica, retry: SyncAPI.RetryPolicy = .init()) throws(ReplicaError)
        -> AuditEngine
    {
        let remote = try replica.remote.required()
        return AuditEngine(
            replica: replica,
            transport: try CurlTransport(
                server: remote.server, token: remote.token, configuration: remote.transportConfiguration),
            retry: retry)
    }

    /// Fetches the checkpoint, then every entry after the store's head, then checks the
    /// checkpoint against the entries and keeps it.
    ///
    /// - Parameter progress: told the entries stored so far and the head's seq after each page.
    /// - Throws: `invalidData` (65) when the history does not extend what the store holds or the
    ///   checkpoint does not match it (a line naming the seq); `notPermitted` (77) for a
    ///   member's token; the transport's errors.
    public func pull(progress: (_ entries: Int, _ seq: Int64) -> Void = { _, _ in }) throws(ReplicaError) -> Summary {
        // The newest checkpoint kept is presented first: a server whose store went back learns
        // it at once and reports it (docs/operations.md); this pull then fails on it below.
        if let kept = try replica.read({ db in try AuditStore.checkpoints(in: db) }).last {
            _ = try api.checkpoint(CheckpointQuery(presenting: kept))
        }
        let checkpoint = try api.checkpoint()
        let start = try replica.audit.head()
        var head = start
        var summary = Summary(checkpoint: checkpoint)
        var ahead: HistoryFetch?
        // Whatever ends the loop, the transport is free again when this returns.
        defer { ahead?.wait() }
        while true {
            let lines: [ArraySlice<UInt8>]
            if let fetched = ahead, fetched.since == head.seq {
                lines = try fetched.lines()
            } else {
                lines = try api.history(since: head.seq, limit: pageSize)
            }
            ahead = nil
            guard !lines.isEmpty else { break }
            let rows = try Self.rows(lines, after: head)
            // The next page is fetched while this one is written (one page ahead, never more):
            // the server, the network and the checking overlap the writing.
            if lines.count >= pageSize, let last = rows.last {
                ahead = HistoryFetch(api: api, since: last.seq, limit: pageSize)
            }
            guard try replica.audit.append(rows, after: head.seq) else {
                // Another process pulled meanwhile: carry on from where it got to.
                ahead?.wait()
                ahead = nil
                head = try replica.audit.head()
                continue
            }
            if summary.first == nil { summary.first = rows.first?.seq }
            summary.pulled += rows.count
            summary.last = rows.last?.seq
            head = (rows.last?.seq ?? head.seq, rows.last?.hash ?? head.hash)
            progress(summary.pulled, head.seq)
            if lines.count < pageSize { break }
        }
        summary.head = head.seq
        try check(checkpoint, heldBefore: start.seq, head: head.seq)
        try replica.audit.keep(checkpoint)
        return summary
    }

    /// A page's lines as rows to store, each checked to chain on the one before (the first on
    /// `head`).
    static func rows(
        _ lines: [ArraySlice<UInt8>], after head: (seq: Int64, hash: String)
    ) throws(ReplicaError) -> [AuditStore.Entry] {
        var rows: [AuditStore.Entry] = []
        rows.reserveCapacity(lines.count)
        var previous = head
        for line in lines {
            // A line in RFC 8785 form (any server's) is read straight from its bytes.
            if var row = line.withUnsafeBufferPointer({ Self.scannedRow($0) }) {
                guard row.seq == previous.seq + 1, row.prevHash == previous.hash else {
                    throw Self.notExtending(previous: previous, seq: row.seq, head: head)
                }
                // `"op":"erase"` can only be a member (a string's quotes are escaped): confirmed
                // on the parsed change, which is rare.
                if row.row.line.contains(#""op":"erase""#),
                    case .string(Operation.erase.rawValue)? = try? JSONValue.parse(row.row.line)["change"]?["op"]
                {
                    row.row.isErasure = true
                }
                rows.append(row.row)
                previous = (row.seq, row.row.hash)
                continue
            }
            let bytes = Array(line)
            let entry: LogEntry
            let json: JSONValue
            do {
                json = try JSONValue.parse(bytes: bytes)
                entry = try LogEntry(json: json)
            } catch {
                throw ReplicaError(
                    .invalidData,
                    "history does not extend what this replica holds: the entry after seq \(previous.seq) is not a "
                        + "history entry (\(error.message)); nothing of this page was kept")
            }
            guard entry.seq == previous.seq + 1, entry.prevHash == previous.hash else {
                throw notExtending(previous: previous, seq: entry.seq, head: head)
            }
            guard case let .string(table)? = entry.change["table"],
                case let .string(recordID)? = entry.change["record_id"],
                let text = String(validating: bytes, as: UTF8.self)
            else {
                throw ReplicaError(
                    .invalidData, "history entry \(entry.seq) is malformed (no table or record_id, or not UTF-8)")
            }
            var row = AuditStore.Entry(seq: entry.seq, line: text, hash: entry.hash, table: table, recordID: recordID)
            row.isErasure = entry.change["op"] == .string(Operation.erase.rawValue)
            if let values = json[LogEntry.valuesMember] {
                // The openings beside the entry (SPEC §8) are kept apart; the line is kept as the
                // entry that was hashed, so an erasure can delete them and leave it whole.
                row.line = Self.line(text, without: values, of: json)
                do {
                    row.values = try Openings(json: values, path: "entry \(entry.seq).values")
                } catch {
                    throw ReplicaError(
                        .invalidData, "history entry \(entry.seq): its values are malformed (\(error.message))")
                }
            }
            rows.append(row)
            previous = (entry.seq, entry.hash)
        }
        return rows
    }

    /// `text` (a history line, `json` parsed) without its `values` member: the text before it when
    /// the member is the line's last, as RFC 8785 orders it (``LogEntry/line(_:with:)``); else
    /// the entry's members written again in RFC 8785 form.
    static func line(_ text: String, without values: JSONValue, of json: JSONValue) -> String {
        let member = Array(#","values":"#.utf8) + values.canonicalBytes() + [UInt8(ascii: "}")]
        let bytes = Array(text.utf8)
        if bytes.count > member.count, bytes.suffix(member.count).elementsEqual(member) {
            return String(decoding: bytes.dropLast(member.count), as: UTF8.self) + "}"
        }
        guard case let .object(members) = json else { return text }
        return String(
            decoding: JSONValue.object(members.filter { $0.key != LogEntry.valuesMember }).canonicalBytes(),
            as: UTF8.self)
    }

    /// Why an entry `seq` that is not the next seq, or does not chain on `previous`, is refused.
    private static func notExtending(
        previous: (seq: Int64, hash: String), seq: Int64, head: (seq: Int64, hash: String)
    ) -> ReplicaError {
        guard seq == previous.seq + 1 else {
            return ReplicaError(
                .invalidData,
                "history does not extend what this replica holds at seq \(previous.seq + 1): the server sent "
                    + "entry \(seq) after entry \(previous.seq); nothing of this page was kept")
        }
        return ReplicaError(
            .invalidData,
            "history does not extend what this replica holds at seq \(seq): its prev_hash is not the "
                + "hash of entry \(previous.seq)\(previous.seq == head.seq ? " held here" : ""); "
                + "nothing of this page was kept")
    }

    /// The row of a line in RFC 8785 form that is an entry (``EntryScan``), with its seq and
    /// prev_hash; nil for any other line, which the general path reads and judges.
    private static func scannedRow(_ line: UnsafeBufferPointer<UInt8>) -> (
        row: AuditStore.Entry, seq: Int64, prevHash: String
    )? {
        guard let scan = EntryScan(line) else { return nil }
        func text(_ range: Range<Int>) -> String { String(decoding: line[range], as: UTF8.self) }
        let row = AuditStore.Entry(
            seq: scan.seq, line: String(decoding: line, as: UTF8.self), hash: text(scan.hash),
            table: text(scan.table), recordID: text(scan.recordID))
        return (row, scan.seq, text(scan.prevHash))
    }

    /// The checkpoint is the server's (signed by the key entry 1 registers), names an entry the
    /// store holds with that very hash, and is not below what was held before or kept before.
    private func check(_ checkpoint: Checkpoint, heldBefore: Int64, head: Int64) throws(ReplicaError) {
        let seq = checkpoint.seq
        func failure(_ text: String) -> ReplicaError { ReplicaError(.invalidData, text) }
        guard checkpoint.isSignatureValid else {
            throw failure("the server's checkpoint at seq \(seq) does not carry a valid signature")
        }
        let (serverKey, kept, hash) = try replica.read { db in
            (
                try AuditStore.serverKey(in: db),
                try Int64.fetchOne(db, sql: "SELECT max(seq) FROM tandem_audit_checkpoint"),
                try AuditStore.hash(at: seq, in: db)
            )
        }
        if let serverKey, checkpoint.publicKey != serverKey {
            throw failure(
                "the server's checkpoint at seq \(seq) is signed by a key that is not the server's (registered at seq 1)"
            )
        }
        guard seq >= heldBefore else {
            throw failure(
                "history does not extend what this replica holds: the server's checkpoint is at seq \(seq) but "
                    + "entries up to seq \(heldBefore) were pulled before (truncated)")
        }
        if let kept, seq < kept {
            throw failure(
                "history does not extend what this replica holds: the server's checkpoint is at seq \(seq) but a "
                    + "checkpoint at seq \(kept) was kept before (truncated)")
        }
        guard seq <= head, let hash else {
            throw failure(
                "history does not extend the server's own checkpoint: it covers seq \(seq) but the history ends at "
                    + "seq \(head) (truncated)")
        }
        guard hash == checkpoint.hash else {
            throw failure(
                "history does not extend the server's checkpoint at seq \(seq): the entry held at seq \(seq) has "
                    + "another hash (a different history: forked)")
        }
    }
}

/// A history page fetched on another thread while the pull writes the one before.
private final class HistoryFetch: @unchecked Sendable {
    let since: Int64
    private let group = DispatchGroup()
    /// Written on the fetching thread before `group` is left; read after waiting for it.
    private var result: Result<[ArraySlice<UInt8>], ReplicaError> = .success([])

    init(api: SyncAPI, since: Int64, limit: Int) {
        self.since = since
        DispatchQueue.global().async(group: group) { [self] in
            do throws(ReplicaError) {
                result = .success(try api.history(since: since, limit: limit))
            } catch {
                result = .failure(error)
            }
        }
    }

    /// Waits until the request is answered.
    func wait() { group.wait() }

    /// The page's lines, once fetched (or the error that fetching it met).
    func lines() throws(ReplicaError) -> [ArraySlice<UInt8>] {
        group.wait()
        return try result.get()
    }
}
