public import TandemProtocol

/// A checkpoint a replica or an auditor presented (``CheckpointQuery``), signed by this server's
/// key, that the store's history no longer holds: the store went back (restored from an older
/// copy, a failover to a standby that had not received the last commits, a snapshot rolled
/// back) or forked after going back. Kept in the store, logged at once, and reported by
/// `tandem-server verify` and the start-up check (docs/operations.md).
public struct RollbackReport: Hashable, Sendable {
    /// The checkpoint presented (signed by the server's key: it is evidence, not a claim).
    public var presented: Checkpoint
    /// The store's head when it was presented.
    public var headSeq: Int64
    /// The store's hash at `presented.seq` then; nil when the history ended before it.
    public var storeHash: String?
    /// Who presented it: the token's role and id (never the token).
    public var role: Role
    public var tokenID: String
    /// When (RFC 3339).
    public var time: String

    public init(
        presented: Checkpoint, headSeq: Int64, storeHash: String?, role: Role, tokenID: String, time: String
    ) {
        self.presented = presented
        self.headSeq = headSeq
        self.storeHash = storeHash
        self.role = role
        self.tokenID = tokenID
        self.time = time
    }

    /// `a coordinator`, `an auditor`.
    var presenter: String { (role == .auditor ? "an " : "a ") + role.rawValue }

    /// Whether the store is still behind what was presented: its head is older than the
    /// presented seq (entries that replicas had seen are missing and nothing has replaced them
    /// yet). Once the head has passed it (replicas handed back what the store had lost, or new
    /// changes came) the store has forked from the presented history: still reported, no longer
    /// a failure.
    public func isBehind(head: Int64) -> Bool { head < presented.seq }

    /// One line: `a coordinator token (ID) presented seq 9 (hash 1a2b3c4d…, signed TIME) on TIME; the store's head was seq 8`.
    public var summary: String {
        let held =
            storeHash.map { "the store's entry at seq \(presented.seq) is another (\($0.prefix(12))…)" }
            ?? "the store's head was seq \(headSeq)"
        return
            "\(presenter) token (\(tokenID)) presented seq \(presented.seq) (hash \(presented.hash.prefix(12))…, "
            + "signed \(presented.time)) on \(time); \(held): the store was restored from an older copy or rolled back"
    }

    /// The line that says a store is behind `report`: `seq 9: the store's head (seq 8) is older
    /// than a checkpoint a coordinator presented on TIME: …`.
    public static func behindLine(_ report: RollbackReport, head: Int64) -> String {
        "seq \(report.presented.seq): the store's head (seq \(head)) is older than a checkpoint \(report.presenter) "
            + "presented on \(report.time): the store was restored from an older copy or rolled back; replicas hand "
            + "back what it lost at their next sync (docs/operations.md)"
    }
}
