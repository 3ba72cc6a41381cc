public import TandemProtocol

/// A server whose history went back (restored from an older copy, a failover to a standby that
/// had missed the last commits, a snapshot rolled back) or forked after going back, as a replica
/// found it at the start of a sync, and how far the repair has got (docs/operations.md).
///
/// Kept in the replica (`tandem_meta.rollback`) until the repair is finished — the changes the
/// server lost handed back, the cursor moved back, the pull done — so that `tandem status`
/// keeps saying it and an interrupted sync finishes the job.
public struct RollbackState: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// The server's history ends before an entry this replica had seen.
        case wentBack = "went_back"
        /// The server holds another entry at a seq this replica had seen.
        case forked
        /// The server had lost changes of this replica's that it had acknowledged after the
        /// newest entry this replica pulled (it went back, and has moved on past their seqs).
        case lost
    }

    public var kind: Kind
    /// The seq this replica held that the server no longer holds (lost: the newest seq of a
    /// change of its own the server had acknowledged).
    public var heldSeq: Int64
    /// Went back: the server's head. Forked: the seq whose entry is another (`heldSeq`). Lost:
    /// the newest seq this replica had pulled (`forkSeq`).
    public var serverSeq: Int64
    /// The newest seq at which both still agree (0 when none is known): what was lost is after it.
    public var forkSeq: Int64
    /// When it was found (RFC 3339).
    public var detectedAt: String
    /// Changes handed back that the server took as new (not answered `duplicate`); nil until done.
    public var handedBack: Int?
    /// Whether the cursor has been moved back; the repair is finished by the pull that follows.
    public var isRewound: Bool
    /// Where the cursor was moved back to: `forkSeq`, earlier when a record must be fetched
    /// again, 0 for a member's replica (it pulls everything again); nil until then.
    public var pulledFrom: Int64?

    public init(
        kind: Kind, heldSeq: Int64, serverSeq: Int64, forkSeq: Int64, detectedAt: String, handedBack: Int? = nil,
        isRewound: Bool = false, pulledFrom: Int64? = nil
    ) {
        self.kind = kind
        self.heldSeq = heldSeq
        self.serverSeq = serverSeq
        self.forkSeq = forkSeq
        self.detectedAt = detectedAt
        self.handedBack = handedBack
        self.isRewound = isRewound
        self.pulledFrom = pulledFrom
    }

    /// What happened, in a few words: `the server's history went back from seq 9 to seq 8`.
    public var what: String {
        switch kind {
        case .wentBack: "the server's history went back from seq \(heldSeq) to seq \(serverSeq)"
        case .forked:
            "the server's history forked: its entry at seq \(heldSeq) is not the one this replica pulled "
                + "(they agree up to seq \(forkSeq))"
        case .lost:
            "the server's history went back: it no longer held changes it had acknowledged to this replica "
                + "after seq \(forkSeq) (up to seq \(heldSeq))"
        }
    }

    /// The one stderr line of the sync that found it.
    public var line: String {
        let count = handedBack ?? 0
        return "\(what) (restored from an older copy or rolled back?); handed back \(count) change"
            + "\(count == 1 ? "" : "s") it had lost and pulled again from seq \(pulledFrom ?? forkSeq) "
            + "(docs/operations.md)"
    }

    /// `{"kind", "held_seq", "server_seq", "fork_seq", "detected_at", "handed_back", "rewound",
    /// "pulled_from"}`:
    /// as kept, and as `tandem status --format json` shows it under `_rollback`.
    public var json: JSONValue {
        .object([
            JSONMember("kind", .string(kind.rawValue)), JSONMember("held_seq", .int(heldSeq)),
            JSONMember("server_seq", .int(serverSeq)), JSONMember("fork_seq", .int(forkSeq)),
            JSONMember("detected_at", .string(detectedAt)),
            JSONMember("handed_back", handedBack.map { .int(Int64($0)) } ?? .null),
            JSONMember("rewound", .bool(isRewound)),
            JSONMember("pulled_from", pulledFrom.map(JSONValue.int) ?? .null),
        ])
    }

    /// Reads what ``json`` wrote; nil for anything else.
    public init?(json: JSONValue) {
        guard case let .string(kindText)? = json["kind"], let kind = Kind(rawValue: kindText),
            case let .int(heldSeq)? = json["held_seq"], case let .int(serverSeq)? = json["server_seq"],
            case let .int(forkSeq)? = json["fork_seq"], case let .string(detectedAt)? = json["detected_at"]
        else { return nil }
        self.init(kind: kind, heldSeq: heldSeq, serverSeq: serverSeq, forkSeq: forkSeq, detectedAt: detectedAt)
        if case let .int(count)? = json["handed_back"] { handedBack = Int(count) }
        if case let .bool(rewound)? = json["rewound"] { isRewound = rewound }
        if case let .int(seq)? = json["pulled_from"] { pulledFrom = seq }
    }
}
