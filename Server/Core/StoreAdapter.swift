import Metrics
public import TandemProtocol

/// What the core asks of a store (SQLite, PostgreSQL): fetching and writing rows, no rule. The
/// rules that sit on it are written once, in extensions of it, for every store that is an
/// adapter: push, pull pages, resolve and device registration below; the conflicts a caller may
/// see (`ConflictList.swift`), tokens and organisations (`Tokens.swift`, `Organisations.swift`),
/// checkpoints and rollback reports (`Checkpoints.swift`), schema installation (``SchemaWork``)
/// and `verify` (`StoreVerification.swift`). Together they make an adapter a ``ServerStore``.
public protocol StoreAdapter: Sendable {
    /// Runs the work `make` builds (with the merge of the schema in force) in one write
    /// transaction under the store's single writer: reads the head, answers every
    /// ``FactRequest`` the work makes, writes its ``BatchWrites``, and returns it done.
    func perform<Work: StoreWork>(_ make: @escaping @Sendable (Merge) -> Work) async throws -> Work

    /// The registered devices among `devices` (one read a batch).
    func registrations(of devices: Set<String>) async throws -> [String: KnownDevice]

    /// The server's signing key (SPEC §8).
    var serverKey: SigningKey { get }

    /// What a pull page after `since` may hold, in one read: up to `limit` log entries `viewer`
    /// may read (every entry when nil), `viewer`'s markers (nil for no viewer; up to `limit`,
    /// completed to the end of the last one's seq), rendered; the head; the schema version.
    func pullCandidates(since: Int64, limit: Int, viewer: String?) async throws -> PullCandidates

    /// A pull by a token, in one read: the token whose hash is `hash` (as ``token(hash:)`` finds
    /// it) and, when the core's rules make a caller of it (``TokenLookup/pullViewer``), the
    /// candidates of its page after `since`, as ``pullCandidates(since:limit:viewer:)`` reads them
    /// for that viewer (nil when the token makes no caller).
    func pullCandidates(token hash: String, since: Int64, limit: Int) async throws
        -> (token: TokenLookup?, candidates: PullCandidates?)

    /// The checkpoints the server signed in the last second (``SignedCheckpoints``): one object
    /// for the store's lifetime.
    var signedCheckpoints: SignedCheckpoints { get }

    /// The pushes waiting to be merged together (``PushQueue``): one object for the store's lifetime.
    var pushQueue: PushQueue { get }

    /// The schema in force now, taking up a version another process installed.
    func currentSchema() async throws -> Schema

    /// Up to `limit` live (not deleted) records of the schema's tables whose id is greater than
    /// `id` (from the first when nil), in id order, that `viewer` may read now — the records a
    /// pull by its token has delivered: every one when `viewer` is nil (coordinators, auditors);
    /// for a member's organisation, those of the tables every token reads and those the store's
    /// visibility rows give it (docs/visibility.md), as ``pullCandidates(since:limit:viewer:)``
    /// filters entries. `GET /v1/digest` reads them page by page (``digests(for:)``).
    func visibleRecords(after id: String?, limit: Int, viewer: String?) async throws -> [VisibleRecord]

    /// Answers `request` in one read, outside any write (as ``perform(_:)`` answers a work's).
    func facts(for request: FactRequest) async throws -> Facts

    // MARK: History, as `verify` reads it (in pages: memory does not grow with it)

    /// Up to `limit` history entries after `seq`, in seq order, as the store keeps them.
    func storedEntries(after seq: Int64, limit: Int) async throws -> [StoredEntry]

    /// Per record referred to, the references to it the store keeps (``ReferenceIndex``): rows and count.
    func storedReferences() async throws -> [String: ReferenceIndex.Total]

    /// Up to `limit` records after the id `id` (from the first when nil), in id order, as the store keeps them.
    func storedRecords(after id: String?, limit: Int) async throws -> [StoredRecord]

    /// The hash of the entry at each of `seqs` the history holds.
    func hashes(at seqs: Set<Int64>) async throws -> [Int64: String]

    /// Every checkpoint kept, in seq order.
    func keptCheckpoints() async throws -> [Checkpoint]

    // MARK: The head, history pages, checkpoints and rollback reports

    /// The head of the history: the last entry's seq and hash (``LogHead/empty`` when there is none).
    func logHead() async throws -> LogHead

    /// Up to `limit` history lines after `since`, in seq order.
    func history(since: Int64, limit: Int) async throws -> [HistoryLine]

    /// The checkpoint kept at `seq`, if any.
    func keptCheckpoint(at seq: Int64) async throws -> Checkpoint?

    /// Keeps `checkpoint` unless one is kept at its seq already; returns the one kept there.
    func keep(_ checkpoint: Checkpoint) async throws -> Checkpoint

    /// Keeps `report` (once per checkpoint presented) while fewer than `limit` are kept.
    func keep(_ report: RollbackReport, upTo limit: Int) async throws

    /// Every rollback report kept, oldest first (the presented checkpoints without their public key).
    func keptRollbackReports() async throws -> [RollbackReport]

    // MARK: Tokens, conflicts, the schema

    /// The token row whose hash is `hash` (revoked ones too), if any, with its organisation's
    /// record, in one read.
    func token(hash: String) async throws -> TokenLookup?

    /// Adds a token row.
    func addToken(_ row: TokenRow) async throws

    /// Marks the active token whose hash is `hash` revoked at `time`; false when there is none.
    func revokeToken(hash: String, at time: String) async throws -> Bool

    /// Every conflict (open ones only unless `includeResolved`), in the order they were opened.
    func conflictRows(includeResolved: Bool) async throws -> [ConflictRow]

    /// The records whose grants of sight are withdrawn now, in seq order.
    func withdrawnGrants() async throws -> [WithdrawnGrant]

    // MARK: Personal values (SPEC §8)

    /// The openings kept for the entries at `seqs`.
    func openings(at seqs: [Int64]) async throws -> [OpeningRow]

    /// The entries of `recordID` made before the store kept personal values beside the history
    /// (they may hold them in plain), in seq order.
    func entriesBeforeSealing(of recordID: String) async throws -> [HistoryLine]

    /// After an erasure: leaves no byte of what was deleted in the store's files (SQLite: a
    /// truncating WAL checkpoint, deleted content being zeroed; PostgreSQL: a vacuum).
    func scrub() async throws

    /// Runs the ``SchemaWork`` `make` builds (with the merge of the schema in force) in one write
    /// transaction, as ``perform(_:)`` does, and keeps the schema it installs as the store's.
    func install(_ make: @escaping @Sendable (Merge) -> SchemaWork) async throws -> SchemaWork
}

/// A record whose grants of sight are withdrawn because it breaks its table's constraints
/// (docs/visibility.md): its table, id, and the seq from which its personal records left the
/// replicas it had wrongly reached.
public struct WithdrawnGrant: Hashable, Sendable {
    public var table: String
    public var recordID: String
    public var seq: Int64

    public init(table: String, recordID: String, seq: Int64) {
        self.table = table
        self.recordID = recordID
        self.seq = seq
    }
}

/// A store's answer to ``StoreAdapter/pullCandidates(since:limit:viewer:)``.
public struct PullCandidates: Sendable {
    public var entries: [PullCandidate]
    public var markers: [PullCandidate]?
    public var head: Int64
    /// The head's hash, read with it (nil when the history is empty).
    public var headHash: String?
    public var schemaVersion: Int
    /// The openings of the entries' personal values by seq, when the store read them with the
    /// entries (nil: ``StoreAdapter/openings(at:)`` is asked for a page that needs them).
    public var openings: [Int64: Openings]?

    public init(
        entries: [PullCandidate], markers: [PullCandidate]?, head: Int64, headHash: String? = nil, schemaVersion: Int,
        openings: [Int64: Openings]? = nil
    ) {
        self.entries = entries
        self.markers = markers
        self.head = head
        self.headHash = headHash
        self.schemaVersion = schemaVersion
        self.openings = openings
    }
}

extension StoreAdapter {
    /// Judges the batch before its transaction (device keys read once, signatures checked on
    /// every core), then merges it in one write transaction (``PushBatch``), with the pushes
    /// that arrived while the one before ran (``PushQueue``).
    ///
    /// - Parameter carried: device registrations a bundle carries (docs/sync.md, Bundles): when a
    ///   coordinator pushes, those of the batch's devices the store does not know yet are
    ///   registered first, in a transaction of their own (``CarriedDevicesWork``); from any other
    ///   role they are ignored.
    ///   - values: the openings of the changes' commitments to personal values (SPEC §8).
    public func push(
        _ changes: [Change], carrying carried: [CarriedDevice], values: Openings, by principal: Principal, now: Int64
    ) async throws -> [PushResult] {
        var registrations = try await registrations(of: Set(changes.map(\.device)))
        let unknown = carried.filter { registrations[$0.device] == nil && changes.contains(device: $0.device) }
        if principal.role == .coordinator, !unknown.isEmpty {
            let serverKey = serverKey
            let work = try await transaction(.device) { merge in
                CarriedDevicesWork(unknown, schema: merge.schema, now: now, serverKey: serverKey)
            }
            if !work.registered.isEmpty { registrations = try await self.registrations(of: Set(changes.map(\.device))) }
        }
        var judged = ServerCore.receive(
            changes, by: principal, registrations: registrations, serverKey: serverKey)
        if !values.isEmpty { for index in judged.indices { judged[index].openings = values } }
        let serverKey = serverKey
        return try await pushQueue.push(judged, now: now) { items, now in
            try await transaction(.push) { merge in
                PushBatch(items, merge: merge, now: now, serverKey: serverKey)
            }.results
        }
    }

    /// Log entries after `since` that `principal` may read, each with its record as it now
    /// stands, merged with the caller's visibility markers (docs/visibility.md) and cut into a
    /// page by ``PullPager``. Coordinators and auditors read every entry.
    public func pullPage(since: Int64, limit: Int, for principal: Principal) async throws -> RenderedPullPage {
        let found = try await pullCandidates(since: since, limit: limit, viewer: principal.viewer)
        return try await withPersonalValues(
            PullPager.page(of: found, since: since, limit: limit), of: found, for: principal)
    }

    /// `page` as `principal` receives it (SPEC §8): with the openings of the personal values its
    /// entries commit to, for a principal who sees them (read with the entries, or one read, and
    /// only for a page that holds entries); its personal tables' records without their personal
    /// fields for one who does not.
    func withPersonalValues(_ page: RenderedPullPage, of found: PullCandidates, for principal: Principal)
        async throws -> RenderedPullPage
    {
        let seqs = found.entries.lazy.filter { $0.seq <= page.next }.map(\.seq)
        guard !seqs.isEmpty else { return page }
        var page = page
        if principal.seesPersonalValues {
            if let kept = found.openings {
                for seq in seqs { if let openings = kept[seq] { page.values.formUnion(openings) } }
            } else {
                page.values = Self.openings(try await openings(at: Array(seqs)))
            }
        } else {
            page.items = try PersonalRedaction.redact(page.items, schema: try await currentSchema())
        }
        return page
    }

    /// History lines after `since` as `principal` reads them (``ServerStore/history(since:limit:for:)``).
    public func history(since: Int64, limit: Int, for principal: Principal) async throws -> [HistoryLine] {
        let lines = try await history(since: since, limit: limit)
        guard principal.seesPersonalValues, !lines.isEmpty else { return lines }
        let rows = try await openings(at: lines.map(\.seq))
        guard !rows.isEmpty else { return lines }
        let bySeq = Dictionary(grouping: rows, by: \.seq)
        return lines.map { line in
            guard let rows = bySeq[line.seq] else { return line }
            return HistoryLine(seq: line.seq, line: LogEntry.line(line.line, with: Self.openings(rows)))
        }
    }

    /// The openings of `rows`, each under the commitment it was kept for.
    static func openings(_ rows: [OpeningRow]) -> Openings {
        var byCommitment: [String: Opening] = [:]
        for row in rows { if let opening = row.opening { byCommitment[row.commitment] = opening } }
        return Openings(byCommitment)
    }

    /// Settles an open conflict (coordinators and the record's owners; ``ResolveWork``).
    public func resolve(
        conflict id: String, with resolution: Resolution, by principal: Principal, now: Int64
    ) async throws -> ConflictInfo {
        let serverKey = serverKey
        let work = try await transaction(.resolve) { merge in
            ResolveWork(id, with: resolution, by: principal, merge: merge, now: now, serverKey: serverKey)
        }
        guard let resolved = work.resolved else { throw ServerError(.notFound, "no conflict \(id)") }
        return resolved
    }

    /// Registers `device`'s Ed25519 public key (base64) for the principal's organisation, as a
    /// history entry (``DeviceWork``).
    ///
    /// - Throws: ``ServerError`` `forbidden` (auditors), `badRequest` (a bad id or key),
    ///   `conflict` (`device_exists`: the id is registered with another key or organisation).
    public func registerDevice(_ device: String, publicKey: String, by principal: Principal, now: Int64) async throws
        -> RegisteredDevice
    {
        guard principal.role == .member || principal.role == .coordinator else {
            throw ServerError.forbidden("\(principal.role.rawValue) tokens may not register devices")
        }
        guard DeviceRegistry.isValidDeviceID(device) else {
            throw ServerError(
                .badDevice, "device: expected 1 to 128 characters from A-Z a-z 0-9 - _ (not \"server\")")
        }
        guard Signature.isPublicKey(publicKey) else {
            throw ServerError(
                .badPublicKey, "public_key: expected an Ed25519 public key (32 bytes, base64)")
        }
        let serverKey = serverKey
        let work = try await transaction(.device) { _ in
            DeviceWork(
                device, publicKey: publicKey, organisation: principal.organisation, role: principal.role, now: now,
                serverKey: serverKey)
        }
        guard let registered = work.registered else {
            throw ServerError(.storage, "the device was not registered")
        }
        return registered
    }
}

/// The write transactions `tandem_store_transaction_duration_seconds` times, by `operation`.
enum StoreOperation: String, CaseIterable, Sendable {
    case push, resolve, device, erase

    static let metricName = "tandem_store_transaction_duration_seconds"

    var dimensions: [(String, String)] { [("operation", rawValue)] }
}

extension StoreAdapter {
    /// ``perform(_:)``, timed: the duration of the write transaction, whatever the store, goes
    /// to the metrics factory bound to the task (the application's, during a request;
    /// ``ServerMetrics``), failed ones included.
    func transaction<Work: StoreWork>(
        _ operation: StoreOperation, _ make: @escaping @Sendable (Merge) -> Work
    ) async throws -> Work {
        let timer = Metrics.Timer(label: StoreOperation.metricName, dimensions: operation.dimensions)
        let start = ContinuousClock.now
        defer { timer.record(duration: start.duration(to: .now)) }
        return try await perform(make)
    }
}

extension [Change] {
    /// Whether one of the changes is `device`'s.
    fileprivate func contains(device: String) -> Bool { contains { $0.device == device } }
}

extension StoreAdapter {
    /// Erases a record's personal data (coordinators; ``EraseWork``), then makes sure no byte
    /// of it stays in the store's files (``scrub()``), and counts the entries made before this
    /// version that hold its values in plain, inside the chain (docs/audit.md, "Personal data").
    ///
    /// - Throws: ``ServerError`` `forbidden` for anyone but a coordinator, and ``EraseWork``'s refusals.
    public func erase(_ request: EraseRequest, by principal: Principal, now: Int64) async throws -> EraseResponse {
        guard principal.role == .coordinator else {
            throw ServerError.forbidden("only coordinators erase personal data")
        }
        let serverKey = serverKey
        let work = try await transaction(.erase) { merge in
            EraseWork(request, by: principal, merge: merge, now: now, serverKey: serverKey)
        }
        guard var response = work.response else {
            throw ServerError(.storage, "the record was not erased")
        }
        try await scrub()
        let personal = try await currentSchema().personalFields(of: request.table)
        response.unerasable = try await entriesBeforeSealing(of: request.recordID).count { line in
            guard let entry = try? LogEntry(json: JSONValue.parse(line.line)) else { return false }
            return Sealing.holdsPlainValue(change: entry.change, outcome: entry.outcome, personal: personal)
        }
        return response
    }
}
