public import TandemProtocol

/// Who is calling: what a token stands for. Every change's author comes from here, never from
/// a request body.
public struct Principal: Hashable, Sendable {
    /// The token's own id (not the token): what logs and revocation name.
    public var tokenID: String
    public var organisation: String?
    public var role: Role
    /// Whether the token receives personal values (SPEC §8): members (those they may see) and
    /// coordinators do; an auditor's only when issued with `--personal` — an auditor checks
    /// the history's integrity from its commitments alone.
    public var seesPersonalValues: Bool

    public init(tokenID: String, organisation: String?, role: Role, seesPersonalValues: Bool? = nil) {
        self.tokenID = tokenID
        self.organisation = organisation
        self.role = role
        self.seesPersonalValues = seesPersonalValues ?? (role != .auditor)
    }

    /// The author of a change this principal pushes from `device`.
    public func author(device: String?) -> Author { Author(organisation: organisation, role: role, device: device) }
}

/// One line of the history (SPEC §8) with its seq.
public struct HistoryLine: Hashable, Sendable {
    public var seq: Int64
    /// The entry's RFC 8785 text, without a newline.
    public var line: String

    public init(seq: Int64, line: String) {
        self.seq = seq
        self.line = line
    }
}

/// Where the server keeps everything: records with their per-field state, the append-only log,
/// conflicts, organisations and tokens. The HTTP layer, the admin commands and the tests only
/// talk to this, holding `any ServerStore` opened through ``StoreLocation``. A store (SQLite, the
/// default; PostgreSQL) implements it by being a ``StoreAdapter``: the rules are the server core's,
/// written once in the adapter's extensions.
///
/// A push batch, a resolve, a device registration and a schema installation are each one write
/// transaction: applied whole or not at all.
public protocol ServerStore: Sendable {
    /// The schema the server serves and merges with.
    var schema: Schema { get }
    /// The schema in force now, taking up a version another process installed.
    func currentSchema() async throws -> Schema

    /// The principal a token stands for; nil when the token is unknown or revoked.
    func authenticate(token: String) async throws -> Principal?

    /// Applies a batch of changes in order, one transaction; one result a change (SPEC §5),
    /// registering first the devices a coordinator's push carries with a bundle
    /// (``CarriedDevice``; docs/sync.md, Bundles). `values` opens the changes' commitments to
    /// personal values (SPEC §8).
    func push(
        _ changes: [Change], carrying carried: [CarriedDevice], values: Openings, by principal: Principal, now: Int64
    ) async throws -> [PushResult]

    /// Log entries after `since` that `principal` may see, with the records as they now stand,
    /// rendered as a pull sends them (``PullPager``).
    func pullPage(since: Int64, limit: Int, for principal: Principal) async throws -> RenderedPullPage

    /// A pull page with the checkpoint of the entry it reaches, as `GET /v1/pull` answers it:
    /// for a ``PullCaller/token(_:)``, the token is checked in the same read (nil when it stands
    /// for no principal).
    func signedPullPage(_ caller: PullCaller, since: Int64, limit: Int, now: Int64) async throws -> SignedPullPage?

    /// An incoming bundle for `organisation` (coordinators only): what a member token of it would
    /// pull after `since`, signed by the server's key (docs/sync.md, Bundles); its text, before gzip.
    func incomingBundle(for organisation: String, since: Int64, by principal: Principal, now: Int64)
        async throws -> [UInt8]

    /// Per-table digests of the live records `principal` may see (`GET /v1/digest`, ``TableDigest``).
    func digests(for principal: Principal) async throws -> DigestResponse

    /// Conflicts on records `principal` may see: open ones, or all.
    func conflicts(for principal: Principal, includeResolved: Bool) async throws -> [ConflictInfo]

    /// Settles an open conflict (coordinators and the record's owners); the decision is a logged change.
    ///
    /// - Throws: ``ServerError`` `notFound`, `forbidden`, or `conflict` when it is already resolved.
    func resolve(conflict id: String, with resolution: Resolution, by principal: Principal, now: Int64) async throws
        -> ConflictInfo

    /// Creates an organisation (its `organisation` record, logged as a change by the server) and
    /// a member token for it.
    func addOrganisation(name: String, sector: String, now: Int64) async throws -> (id: String, token: String)

    /// A new token; members need an organisation that exists.
    func issueToken(role: Role, organisation: String?, now: Int64) async throws -> String

    /// ``issueToken(role:organisation:now:)``; an auditor's token receives personal values only
    /// when `seesPersonalValues` (SPEC §8, `token issue --personal`).
    func issueToken(role: Role, organisation: String?, seesPersonalValues: Bool, now: Int64) async throws -> String

    /// Revokes a token at once. Returns false when no such token exists.
    func revoke(token: String, now: Int64) async throws -> Bool

    /// The highest seq in the log (0 when empty).
    func headSeq() async throws -> Int64

    /// How many conflicts are open, whoever may see them (`tandem_open_conflicts`).
    func openConflictCount() async throws -> Int

    /// This instance's cache of tokens and the head (`tandem_instance_cache_trusted`,
    /// `tandem_instance_cache_losses_total`): nil for a store that keeps no such cache (SQLite,
    /// which reads its file); docs/operations.md.
    var instanceCache: InstanceCacheStatus? { get }

    /// Registers `device`'s Ed25519 public key (base64) for the principal's organisation, as a
    /// history entry; registering the same again returns the first registration.
    ///
    /// - Throws: ``ServerError`` `forbidden` (auditors), `badRequest` (a bad id or key),
    ///   `conflict` (`device_exists`: the id is registered with another key or organisation).
    func registerDevice(_ device: String, publicKey: String, by principal: Principal, now: Int64) async throws
        -> RegisteredDevice

    /// Up to `limit` history lines (RFC 8785 entries, SPEC §8) after `since`, in seq order.
    func history(since: Int64, limit: Int) async throws -> [HistoryLine]

    /// ``history(since:limit:)`` as `principal` reads it: each line with the openings of its
    /// personal values beside it (``LogEntry/valuesMember``) when the principal may see them.
    func history(since: Int64, limit: Int, for principal: Principal) async throws -> [HistoryLine]

    /// Erases a record's personal data (coordinators; SPEC §8, `tandem erase`).
    func erase(_ request: EraseRequest, by principal: Principal, now: Int64) async throws -> EraseResponse

    /// The head `(seq, hash)` signed by the server's key.
    func checkpoint(now: Int64) async throws -> Checkpoint

    /// The entry `seq` signed by the server's key, or the head when the history ends before
    /// `seq`. When `presented` (a checkpoint of the caller's) is signed by the server's key but
    /// the history no longer holds it, a ``RollbackReport`` is kept and returned.
    func checkpoint(at seq: Int64, presenting presented: Checkpoint?, by principal: Principal, now: Int64)
        async throws -> (checkpoint: Checkpoint, report: RollbackReport?)

    /// Checks the whole store as an auditor would (`tandem-server verify`, docs/audit.md): the
    /// chain, every signature, every kept checkpoint, the server's key — and that what the store
    /// keeps beside its history (what pulls send) says what the history says.
    ///
    /// - Returns: the report; its `failure` names the first bad seq.
    func verify() async throws -> HistoryVerification.Report

    // MARK: Administration (`tandem-server`)

    /// Installs `proposed` as the next version of the schema (`tandem-server schema apply`):
    /// additive changes only, logged as a server-signed entry; serving processes take it up at
    /// their next request.
    ///
    /// - Returns: the schema installed (its version bumped) and the seq of its history entry.
    /// - Throws: ``ServerError`` `schema_refused` naming the first change that is not additive.
    func applySchema(_ proposed: Schema, now: Int64) async throws -> (schema: Schema, seq: Int64)

    /// The head and every rollback report kept, oldest first (`tandem-server verify`, the start-up check).
    func rollbackReports() async throws -> (head: Int64, reports: [RollbackReport])

    /// The records whose grants of sight are withdrawn now (`tandem-server verify` lists them).
    func withdrawnGrants() async throws -> [WithdrawnGrant]
}

extension ServerStore {
    /// ``pullPage(since:limit:for:)`` as a value.
    public func pull(since: Int64, limit: Int, for principal: Principal) async throws -> PullResponse {
        let page = try await pullPage(since: since, limit: limit, for: principal)
        do {
            return try page.response()
        } catch {
            throw ServerError(.storage, "the store rendered a page that does not parse: \(error)")
        }
    }
}

/// Whether an instance answers no-op syncs from its memory now, and how often that stopped.
public struct InstanceCacheStatus: Hashable, Sendable {
    /// False while the cache is off (its listener lost, or not started yet).
    public var isTrusted: Bool
    /// How many times the cache was turned off since the store was opened.
    public var losses: Int

    public init(isTrusted: Bool, losses: Int) {
        self.isTrusted = isTrusted
        self.losses = losses
    }
}
