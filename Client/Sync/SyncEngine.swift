import Foundation
public import TandemProtocol

/// Syncs a replica with its server: push the outbox, then pull the log until up to date, then
/// refresh the conflicts (SPEC §3 `tandem sync`, §5).
///
/// Every step is safe to interrupt and run again: changes are frozen with their ids before they
/// are first sent, so a retry resends the same changes and the server answers `duplicate`; each
/// push answer and each pull page is recorded in one transaction, and the pull cursor moves only
/// with the page it belongs to. See `docs/sync.md`.
///
/// ```swift
/// let engine = try SyncEngine.connecting(replica)   // the replica's server and token, over libcurl
/// let summary = try engine.sync()
/// summary.rejected.count  // changes the server refused (listed by `tandem status`)
/// ```
public struct SyncEngine: Sendable {
    /// What a sync is doing, for a progress line.
    public enum Progress: Hashable, Sendable {
        case pushing(sent: Int, of: Int)
        case pulling(items: Int, seq: Int64)
    }

    /// What a push, a pull, or a whole sync did.
    public struct Summary: Hashable, Sendable {
        /// Changes the server answered (accepted or rejected).
        public var pushed = 0
        public var rejected: [Rejection] = []
        /// Log items pulled.
        public var pulled = 0
        /// Open conflicts after the sync.
        public var conflicts = 0
        /// The server's history had gone back or forked, and this sync repaired it
        /// (docs/operations.md); nil when it held.
        public var rollback: RollbackState?
        /// Other replicas' changes carried from their bundles (docs/sync.md, Bundles), and how
        /// many of those the server refused (their authors learn why when they sync).
        public var carried = 0
        public var carriedRejected = 0

        public init() {}
    }

    public let replica: Replica
    public let api: SyncAPI
    /// Changes per push request.
    public var batchSize = 500
    /// Items asked for per pull page.
    public var pageSize = 2_000
    /// Items a pull writes in one transaction at most, when pages arrive faster than they are
    /// written (several pages in one commit: ``pull(progress:)``); no more than ``pageSize``:
    /// one page a transaction.
    public var transactionItems = 10_000

    /// - Parameter retry: what to do when the server answers 429 (wait `Retry-After` and retry).
    public init(replica: Replica, transport: any SyncTransport, retry: SyncAPI.RetryPolicy = .init()) {
        self.replica = replica
        api = SyncAPI(transport: transport, retry: retry, clock: replica.clock)
    }

    /// An engine for the server, token and certificate authorities stored in `replica`, over
    /// ``CurlTransport``.
    ///
    /// - Parameter configuration: the transport's settings; nil: the defaults with the replica's
    ///   `caFile`.
    /// - Throws: `usage` when the replica has no server yet.
    public static func connecting(
        _ replica: Replica, configuration: CurlTransport.Configuration? = nil, retry: SyncAPI.RetryPolicy = .init()
    ) throws(ReplicaError) -> SyncEngine {
        let remote = try replica.remote.required()
        return SyncEngine(
            replica: replica,
            transport: try CurlTransport(
                server: remote.server, token: remote.token,
                configuration: configuration ?? remote.transportConfiguration),
            retry: retry)
    }

    /// Push, then pull until up to date, then refresh the conflicts and note the time.
    public func sync(progress: (Progress) -> Void = { _ in }) throws(ReplicaError) -> Summary {
        try pushThenPull(forgettingPulledState: false, progress: progress)
    }

    /// `sync --resync`: pushes, then forgets every record that has no pending change (and the
    /// pulled history and cursor), then pulls everything again. Rows with pending changes stay
    /// and are rebased as their records arrive. Interrupted, the replica is partial until the
    /// next `sync` finishes the pull.
    public func resync(progress: (Progress) -> Void = { _ in }) throws(ReplicaError) -> Summary {
        try pushThenPull(forgettingPulledState: true, progress: progress)
    }

    /// `tandem check`: the server's digests of what this token may see beside the replica's own
    /// (``CheckReport``). Reads only; pushes and pulls nothing.
    public func check() throws(ReplicaError) -> CheckReport {
        // The replica digests its tables while the server digests its own: the check takes the
        // longer of the two, not their sum.
        let halves = CheckHalves()
        let (api, replica) = (api, replica)
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            do throws(ReplicaError) {
                if half == 0 {
                    halves.set(server: try api.digests())
                } else {
                    halves.set(replica: try replica.digests())
                }
            } catch {
                halves.set(error)
            }
        }
        let (server, local) = try halves.results()
        return CheckReport(replica: local, server: server.tables, pending: try replica.pendingChangesByTable())
    }

    /// `sync` and `resync`: push, (forget what was pulled,) pull, note the time.
    private func pushThenPull(
        forgettingPulledState: Bool, progress: (Progress) -> Void
    ) throws(ReplicaError) -> Summary {
        let rollback = try checkServerHistory()
        var summary = try push(progress: progress)
        if forgettingPulledState { try replica.forgetPulledState() }
        let pulled = try pull(progress: progress)
        summary.pulled = pulled.pulled
        summary.conflicts = pulled.conflicts
        summary.rollback = rollback
        // The pull after the rewind has brought what the server really holds: repaired.
        if rollback != nil { try replica.saveRollbackState(nil) }
        try noteServerClock()
        try replica.recordSync(at: replica.clock.now() + (api.clockOffset ?? 0))
        return summary
    }

    /// Sends every pending change, in edit order, in batches, each signed with the device key;
    /// records each batch's answers. When there is something to send and the device key is not
    /// registered with this server yet, registers it first (``registerDevice()``). Then sends the
    /// changes other replicas' bundles brought (``pushCarried()``).
    public func push(progress: (Progress) -> Void = { _ in }) throws(ReplicaError) -> Summary {
        var summary = try pushOwn(progress: progress)
        (summary.carried, summary.carriedRejected) = try pushCarried()
        return summary
    }

    /// This replica's own pending changes.
    private func pushOwn(progress: (Progress) -> Void) throws(ReplicaError) -> Summary {
        var summary = Summary()
        let started = ContinuousClock.now
        try replica.freezeOutbox()
        let total = try replica.status().pending
        guard total > 0 else { return summary }
        try registerDevice()
        // Stamps in the server's time before they are signed: a wrong clock never costs a `clock` rejection.
        try replica.correctClocks(offset: try api.measuredClockOffset(since: started))
        let key = try replica.deviceKey()
        let salts = SaltKey(key)
        var last: Int64 = 0
        while true {
            let batch = try replica.frozenChanges(after: last, limit: batchSize)
            guard let tail = batch.last else { break }
            progress(.pushing(sent: summary.pushed, of: total))
            // Personal values committed to before signing (SPEC §8): the openings travel beside.
            let (sealed, openings) = replica.sealed(batch.map { $0.change(device: replica.device) }, salts: salts)
            let changes = sealed.signed(with: key)
            let results = try api.push(changes, values: Openings(openings.flatMap { $0 }))
            let rejected = try replica.recordPushResults(results, for: batch, signed: changes, openings: openings)
            // The server does not know this device's key (its store was replaced, say): register
            // again before the next push.
            if rejected.contains(where: { $0.reason == .signature }) { try replica.remote.forgetDeviceRegistration() }
            summary.rejected += rejected
            summary.pushed += batch.count
            last = tail.seq
        }
        if summary.pushed > 0 { progress(.pushing(sent: summary.pushed, of: max(total, summary.pushed))) }
        return summary
    }

    /// Pulls the log from the cursor until the server says there is no more, then refreshes the
    /// cached conflicts.
    ///
    /// While a page is written to the replica the next one is already being fetched (one page
    /// ahead, never more): the server, the network and the parsing overlap the writing. A page
    /// fetched by the time the one before is written goes into the same transaction, up to
    /// ``transactionItems`` items (``PullApplier/apply(_:since:following:)``); the transaction
    /// never waits for the network.
    public func pull(progress: (Progress) -> Void = { _ in }) throws(ReplicaError) -> Summary {
        var summary = Summary()
        var since = try replica.cursor()
        var ahead: PageFetch?
        // Whatever ends the loop, the transport is free again when this returns.
        defer { _ = try? ahead?.wait() }
        while true {
            let page: PulledPage
            if let fetched = ahead, fetched.since == since {
                page = try fetched.wait()
            } else {
                page = try api.pulledPage(since: since, limit: pageSize)
            }
            ahead = nil
            // A newer schema first: the page may carry its new tables and fields.
            if let version = page.schemaVersion, version > replica.schema.version { try replica.adopt(api.schema()) }
            var next = try SyncRules.nextPull(after: page, since: since)
            if let next { ahead = PageFetch(api: api, since: next, limit: pageSize) }
            // The pages written, by item count and cursor, reported once they are committed.
            var written: [(items: Int, seq: Int64)] = []
            let applied = try replica.pulls.apply(consume page, since: since) {
                page -> (page: PulledPage, since: Int64)? in
                written.append((page.items.count, page.next))
                // The next page joins this transaction only when it is here already, fits, and
                // needs no newer schema (adopting one is a transaction and a request of its own).
                guard let upcoming = next, let fetched = ahead,
                    written.reduce(0, { $0 + $1.items }) + pageSize <= transactionItems,
                    let page = fetched.fetchedPage, page.schemaVersion.map({ $0 <= replica.schema.version }) ?? true
                else { return nil }
                // A page that does not advance is left to the loop, which throws for it.
                let after: Int64?
                do { after = try SyncRules.nextPull(after: page, since: upcoming) } catch { return nil }
                ahead = after.map { PageFetch(api: api, since: $0, limit: pageSize) }
                next = after
                since = upcoming
                return (page, upcoming)
            }
            guard applied else {
                // Another process pulled meanwhile: carry on from where it got to.
                _ = try? ahead?.wait()
                ahead = nil
                since = try replica.cursor()
                continue
            }
            for page in written {
                summary.pulled += page.items
                progress(.pulling(items: summary.pulled, seq: page.seq))
            }
            guard let next else { break }
            since = next
        }
        let conflicts = try api.conflicts(includeResolved: false)
        try replica.conflicts.cache(conflicts)
        summary.conflicts = conflicts.count
        return summary
    }

    /// Keeps the clock offset this engine's answers measured, correcting pending stamps with it
    /// (``Replica/correctClocks(offset:)``), so that edits made offline later are stamped in the
    /// server's time.
    func noteServerClock() throws(ReplicaError) {
        if let offset = api.clockOffset { try replica.correctClocks(offset: offset) }
    }

    /// The conflicts on records the caller can see, from the server (and cached).
    public func conflicts(includeResolved: Bool) throws(ReplicaError) -> [ConflictInfo] {
        let conflicts = try api.conflicts(includeResolved: includeResolved)
        try replica.conflicts.cache(conflicts)
        return conflicts
    }

    /// Settles a conflict on the server, then pulls so the replica holds the decision.
    ///
    /// - Parameter id: a conflict id, or a unique prefix of one the server lists.
    public func resolve(_ id: String, with resolution: Resolution) throws(ReplicaError) -> ConflictInfo {
        let conflict = try findConflict(id)
        let resolved = try api.resolve(conflict: conflict.id, with: resolution)
        _ = try pull()
        return resolved
    }

    /// Settles a conflict with a value given as command-line text, read as the conflict's
    /// field reads it (`tandem resolve ID --value V`).
    public func resolve(_ id: String, value text: String) throws(ReplicaError) -> ConflictInfo {
        let conflict = try findConflict(id)
        let value = try replica.wireValue(parsing: text, table: conflict.table, field: conflict.field)
        let resolved = try api.resolve(conflict: conflict.id, with: .value(value))
        _ = try pull()
        return resolved
    }

    /// The conflict `id` names (a unique prefix will do), from the cache, else from the server.
    private func findConflict(_ id: String) throws(ReplicaError) -> ConflictInfo {
        var full = try replica.conflicts.id(matching: id)
        if full == nil {
            _ = try conflicts(includeResolved: true)
            full = try replica.conflicts.id(matching: id)
        }
        guard let full,
            let conflict = try replica.conflicts.cached(includeResolved: true).first(where: { $0.id == full })
        else { throw ReplicaError(.notFound, "no conflict with id \(id)") }
        return conflict
    }

    /// Creates a replica at `path` from a server: asks who the token is and for the schema
    /// first (so nothing is created when the server cannot be reached or refuses the token),
    /// then creates the replica with that schema, stores the server, token and identity,
    /// registers the device key (unless the token is an auditor's), and pulls everything the
    /// token may see.
    ///
    /// - Throws: `cannotCreate` when something is at `path` already; the transport's and the
    ///   server's errors. When the registration or the first pull fails, the replica is kept and
    ///   the error says so: `tandem sync` finishes the job.
    public static func createReplica(
        at path: String, remote: Remote, transport: any SyncTransport, clock: ReplicaClock = .system,
        retry: SyncAPI.RetryPolicy = .init(), progress: (Progress) -> Void = { _ in }
    ) throws(ReplicaError) -> (replica: Replica, summary: Summary) {
        if FileManager.default.fileExists(atPath: path) {
            throw ReplicaError(.cannotCreate, "\(path) already exists; not overwriting it")
        }
        let api = SyncAPI(transport: transport, retry: retry, clock: clock)
        let identity = try api.whoAmI()
        let schema = try api.schema()
        let replica = try Replica.create(at: path, schema: schema, clock: clock)
        try replica.remote.set(remote, identity: identity)
        let engine = SyncEngine(replica: replica, transport: transport, retry: retry)
        do {
            try engine.registerDevice()
            let summary = try engine.pull(progress: progress)
            try engine.noteServerClock()
            try replica.recordSync(at: clock.now() + (engine.api.clockOffset ?? 0))
            return (replica, summary)
        } catch {
            throw ReplicaError(
                error.code, "created \(path), but the first pull failed: \(error.message) (run `tandem sync` to finish)"
            )
        }
    }
}

/// One pull page fetched on a thread of its own while the caller writes the one before
/// (``SyncEngine/pull(progress:)``). The transport is used by one request at a time: the caller
/// waits for this one before it sends another.
final class PageFetch: @unchecked Sendable {
    let since: Int64
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<PulledPage, ReplicaError>?

    init(api: SyncAPI, since: Int64, limit: Int) {
        self.since = since
        Thread.detachNewThread { [self] in
            do throws(ReplicaError) {
                result = .success(try api.pulledPage(since: since, limit: limit))
            } catch {
                result = .failure(error)
            }
            done.signal()
        }
    }

    /// The page if it is fetched already, nil while it is being fetched or when fetching it failed
    /// (``wait()`` then throws the error).
    var fetchedPage: PulledPage? {
        guard done.wait(timeout: .now()) == .success else { return nil }
        done.signal()
        guard case let .success(page) = result else { return nil }
        return page
    }

    /// The page, once fetched (or the error that fetching it met).
    func wait() throws(ReplicaError) -> PulledPage {
        done.wait()
        done.signal()
        switch result {
        case let .success(page): return page
        case let .failure(error): throw error
        case nil: throw ReplicaError(.internal, "the page was not fetched")
        }
    }
}

/// What the two halves of ``SyncEngine/check()`` found, set from their threads.
private final class CheckHalves: @unchecked Sendable {
    private let lock = NSLock()
    private var server: DigestResponse?
    private var replica: [TableDigest]?
    private var error: ReplicaError?

    func set(server answer: DigestResponse) { lock.withLock { server = answer } }
    func set(replica digests: [TableDigest]) { lock.withLock { replica = digests } }
    /// Keeps the first error (the server's, when both failed at once, is as good as any).
    func set(_ failure: ReplicaError) { lock.withLock { error = error ?? failure } }

    func results() throws(ReplicaError) -> (server: DigestResponse, replica: [TableDigest]) {
        let (server, replica, error) = lock.withLock { (self.server, self.replica, self.error) }
        if let error { throw error }
        guard let server, let replica else { throw ReplicaError(.internal, "tandem check: a digest is missing") }
        return (server, replica)
    }
}
