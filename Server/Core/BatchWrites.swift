public import TandemProtocol

/// One history entry as the store keeps it: its RFC 8785 line and the columns it is looked up by.
public struct LogRow: Hashable, Sendable {
    public var seq: Int64
    public var changeID: String
    public var time: String
    public var table: String
    public var recordID: String
    public var line: String
    public var prevHash: String
    public var hash: String
    /// False for a change whose signature did not verify: kept as evidence, it does not hold its change id.
    public var isSigned: Bool
    /// The entry as a pull sends it (``PullItem/Entry/json``), rendered once, when written.
    public var item: String
}

/// A manual conflict: opened by a change at `seq`, open until a decision settles it.
public struct ConflictRow: Hashable, Sendable {
    public var id: String
    public var table: String
    public var recordID: String
    public var field: String
    public var incoming: JSONValue
    public var seq: Int64
    public var isOpen = true
}

/// The opening of a personal value an entry commits to (SPEC §8), kept beside the history:
/// deleted, with every other of its record's, when the record is erased.
public struct OpeningRow: Hashable, Sendable {
    public var commitment: String
    public var seq: Int64
    public var table: String
    public var recordID: String
    public var salt: String
    /// The value's JSON text.
    public var value: String

    public init(commitment: String, seq: Int64, table: String, recordID: String, salt: String, value: String) {
        self.commitment = commitment
        self.seq = seq
        self.table = table
        self.recordID = recordID
        self.salt = salt
        self.value = value
    }

    /// The row of `opening` (one that opens its commitment), for entry `seq`.
    init(_ opening: Opening, seq: Int64, table: String, recordID: String) {
        self.init(
            commitment: opening.commitment ?? "", seq: seq, table: table, recordID: recordID, salt: opening.salt,
            value: opening.value.serialized())
    }

    public var opening: Opening? {
        guard let value = try? JSONValue.parse(value) else { return nil }
        return Opening(salt: salt, value: value)
    }
}

/// An erasure (`tandem erase`): every opening of the record goes, and its conflicts on personal
/// fields are closed with their values dropped, at the erasure's entry.
public struct ErasureRow: Hashable, Sendable {
    public var recordID: String
    public var seq: Int64
    public var fields: Set<String>

    public init(recordID: String, seq: Int64, fields: Set<String>) {
        self.recordID = recordID
        self.seq = seq
        self.fields = fields
    }
}

/// A registered device (SPEC §8): its organisation and role, its key, the seq of its registration.
public struct DeviceRow: Hashable, Sendable {
    public var id: String
    public var organisation: String?
    public var role: Role
    public var publicKey: String
    public var seq: Int64
}

/// A visibility marker (docs/visibility.md): `organisation` gained or lost sight of a record at `seq`.
public struct MarkerRow: Hashable, Sendable {
    public enum Kind: String, Sendable {
        case arrival, departure
    }

    public var organisation: String
    public var seq: Int64
    public var recordID: String
    public var kind: Kind
}

/// An entry in an organisation's pull feed (docs/visibility.md "The pull feed"): the entries its
/// members may have to receive, found without scanning everyone's. `organisation` is
/// ``FeedRow/everyone`` for an entry of a table every token reads.
public struct FeedRow: Hashable, Sendable {
    /// The feed of the entries every token reads.
    public static let everyone = "*"

    public var organisation: String
    public var seq: Int64

    public init(organisation: String, seq: Int64) {
        self.organisation = organisation
        self.seq = seq
    }
}

/// Everything a batch writes, worked out by the core and written by a store in one go per
/// table (``StoreTransaction/write(_:)``). Each map holds the final word on its key: a record
/// changed three times in a batch is written once.
public struct BatchWrites: Sendable {
    /// New history entries, in seq order (gap-free, chained).
    public var log: [LogRow] = []
    /// Heads signed by the server's key, kept every ``ServerCore/checkpointInterval`` entries.
    public var checkpoints: [Checkpoint] = []
    /// Each changed record as it now stands, with the seq of the entry that last changed it.
    public var records: [String: (state: RecordState, seq: Int64)] = [:]
    /// Reference rows (of the fields that keep them: ``ReferenceIndex``): true to hold, false to drop.
    public var references: [ReferenceRow: Bool] = [:]
    /// Per record referred to from fields that keep no rows: the change in its count of references.
    public var referenceCountDeltas: [String: Int] = [:]
    /// Unique values: the record that holds each now, or nil when none does.
    public var uniques: [UniqueKey: String?] = [:]
    /// Records whose withdrawn grants are restored (they satisfy their constraints again).
    public var restoredGrants: Set<String> = []
    /// Per personal record and organisation: the change in its count of grants.
    public var grantDeltas: [String: [String: Int]] = [:]
    /// Organisations that gained (`true`) or lost (`false`) sight of each restricted record.
    public var visibility: [String: [String: Bool]] = [:]
    public var markers: [MarkerRow] = []
    /// Who may have to receive each new entry (``FeedRow``).
    public var feed: [FeedRow] = []
    /// Where an organisation gained sight of a record whose earlier entries are not in its feed:
    /// a pull from before such a seq reads the whole log instead (docs/visibility.md "The pull feed").
    public var feedGaps: [FeedRow] = []
    public var conflicts: [ConflictRow] = []
    /// Devices registered.
    public var devices: [DeviceRow] = []
    /// Conflicts settled, with the seq of the decision's entry.
    public var resolvedConflicts: [String: Int64] = [:]
    /// Openings of the personal values new entries commit to.
    public var openings: [OpeningRow] = []
    /// Records erased.
    public var erasures: [ErasureRow] = []

    public init() {}

    public var isEmpty: Bool { log.isEmpty }
}
