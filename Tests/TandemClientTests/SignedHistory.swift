import Foundation
import TandemClient
import TandemProtocol

/// A history as the server writes it (SPEC §8), made by hand for tests: entry 1 registers the
/// server's key, devices are registered by the server, changes are logged with their authors and
/// outcomes, every entry chained on the one before by its hash.
struct SignedHistory {
    let serverKey = SigningKey()
    private(set) var entries: [LogEntry] = []
    /// Milliseconds of the next entry's time; each entry is a minute after the one before.
    var milliseconds: Int64 = 1_777_884_000_000  // 2026-05-04T08:40:00Z

    static let server = Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice)

    init() {
        let registration = DeviceRegistry.registration(
            device: DeviceRegistry.serverDevice, publicKey: serverKey.publicKey, organisation: nil, role: .server,
            changeID: Self.id(0), hlc: hlc(DeviceRegistry.serverDevice))
        append(registration.signed(with: serverKey), by: Self.server, outcome: Outcome(status: .applied, version: 1))
    }

    var lines: [String] { entries.map(\.line) }

    /// Forgets every entry after `count` (for a server that rewrites its history).
    mutating func truncate(to count: Int) {
        entries.removeLast(entries.count - count)
        milliseconds += 3_600_000
    }
    var head: LogEntry { entries[entries.count - 1] }

    mutating func registerDevice(_ device: String, key: SigningKey, for author: Author) {
        let registration = DeviceRegistry.registration(
            device: device, publicKey: key.publicKey, organisation: author.organisation, role: author.role,
            changeID: Self.id(entries.count), hlc: hlc(DeviceRegistry.serverDevice))
        append(registration.signed(with: serverKey), by: Self.server, outcome: Outcome(status: .applied, version: 1))
    }

    /// Logs a change of `record` by `author`'s device, signed with `key` (nil: unsigned).
    @discardableResult
    mutating func log(
        _ op: TandemProtocol.Operation, _ table: String, _ record: String, _ fields: [String: JSONValue] = [:],
        base: Int64 = 0, by author: Author, key: SigningKey?, outcome: Outcome
    ) -> LogEntry {
        var change = change(op, table, record, fields, base: base, by: author)
        if let key { change = change.signed(with: key) }
        return append(change, by: author, outcome: outcome)
    }

    /// The change ``log(_:_:_:_:base:by:key:outcome:)`` would log next (its HLC the next
    /// entry's time, unless given).
    func change(
        _ op: TandemProtocol.Operation, _ table: String, _ record: String, _ fields: [String: JSONValue] = [:],
        base: Int64 = 0, by author: Author, hlc: String? = nil
    ) -> Change {
        let device = author.device ?? "device"
        return Change(
            changeID: Self.id(entries.count), table: table, recordID: record, op: op, fields: fields,
            baseVersion: base, hlc: hlc ?? self.hlc(device), device: device)
    }

    /// Logs `change` as it is (unsigned), with the outcome the merge gave it.
    @discardableResult
    mutating func log(_ change: Change, by author: Author, outcome: Outcome) -> LogEntry {
        append(change, by: author, outcome: outcome)
    }

    @discardableResult
    private mutating func append(_ change: Change, by author: Author, outcome: Outcome) -> LogEntry {
        let entry = LogEntry(
            seq: Int64(entries.count + 1), time: Timestamp.string(milliseconds: milliseconds), author: author,
            change: change.json, outcome: outcome.json, prevHash: entries.last?.hash ?? LogEntry.genesisHash)
        entries.append(entry)
        milliseconds += 60_000
        return entry
    }

    private func hlc(_ device: String) -> String {
        HLC(milliseconds: milliseconds, counter: 0, device: device).description
    }

    /// The signed head at `seq` (default: the last entry).
    func checkpoint(at seq: Int64? = nil, key: SigningKey? = nil) -> Checkpoint {
        let entry = entries[Int(seq ?? Int64(entries.count)) - 1]
        return Checkpoint(seq: entry.seq, hash: entry.hash, time: entry.time, signedBy: key ?? serverKey)
    }

    static func id(_ number: Int) -> String {
        let hex = String(number, radix: 16)
        return "0196a000-0000-7000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
    }
}

/// Serves `GET /v1/history` and `GET /v1/checkpoint` from lines a test controls (a server that
/// may lie), and counts what it was asked.
final class HistoryServer: SyncTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String]
    private var checkpoint: Checkpoint
    private(set) var requests: [String] = []
    /// `requests`, read under the lock: a pull may be sending one on another thread.
    var sentRequests: [String] { lock.withLock { requests } }
    /// The status to refuse `/v1/history` with (403 for a member), nil to serve.
    var refusal: Int?

    init(_ history: SignedHistory) {
        lines = history.lines
        checkpoint = history.checkpoint()
    }

    /// Serves these lines and this checkpoint from now on.
    func serve(_ lines: [String], checkpoint: Checkpoint) {
        lock.withLock {
            self.lines = lines
            self.checkpoint = checkpoint
        }
    }

    func serve(_ history: SignedHistory) { serve(history.lines, checkpoint: history.checkpoint()) }

    func send(_ request: TransportRequest) throws -> TransportResponse {
        try lock.withLock {
            requests.append(request.line)
            let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
            switch request.path {
            case "/v1/checkpoint":
                return TransportResponse(status: 200, body: Array(checkpoint.json.serialized().utf8))
            case "/v1/history":
                if let refusal {
                    return TransportResponse(
                        status: refusal, body: Array(#"{"error":"forbidden","message":"members may not"}"#.utf8))
                }
                let since = Int(query["since"] ?? "0") ?? 0
                let limit = Int(query["limit"] ?? "1000") ?? 1000
                let page = lines.dropFirst(since).prefix(limit)
                return TransportResponse(
                    status: 200, headers: ["content-type": "application/x-ndjson"],
                    body: Array(page.map { $0 + "\n" }.joined().utf8))
            default:
                throw ReplicaError(.unavailable, "no such endpoint \(request.path)")
            }
        }
    }
}
