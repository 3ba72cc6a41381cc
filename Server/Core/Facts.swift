public import TandemProtocol

/// A unique value as the store indexes it: the table, the field and the value's JSON text.
public struct UniqueKey: Hashable, Sendable {
    public var table: String
    public var field: String
    public var value: String

    public init(table: String, field: String, value: String) {
        self.table = table
        self.field = field
        self.value = value
    }
}

/// The live records of `table` whose `field` refers to `target`: what a constraint counts
/// (`limit`) or re-checks when the record referred to changes.
public struct GroupKey: Hashable, Sendable {
    public var table: String
    public var field: String
    public var target: String

    public init(table: String, field: String, target: String) {
        self.table = table
        self.field = field
        self.target = target
    }
}

/// One reference a live record holds: the row `(target, source, field)` of the store's reference index.
public struct ReferenceRow: Hashable, Sendable {
    public var target: String
    public var source: String
    public var field: String

    public init(target: String, source: String, field: String) {
        self.target = target
        self.source = source
        self.field = field
    }
}

/// What the core asks a store for before it merges a batch: every set is looked up in one read
/// a set, inside the batch's write transaction (``StoreTransaction/facts(for:)``).
public struct FactRequest: Hashable, Sendable {
    /// Records by id (state, table, version).
    public var records: Set<String> = []
    /// The organisations that may read each restricted record (`visibility`).
    public var readers: Set<String> = []
    /// The counted grants of sight of each personal record (docs/visibility.md).
    public var grants: Set<String> = []
    /// Whether each record's grants are withdrawn (migration `v4-grants`).
    public var withdrawn: Set<String> = []
    /// How many references point at each record (bounded: see ``Facts/referenceCounts``).
    public var referenceCounts: Set<String> = []
    /// Which record holds each unique value.
    public var uniques: Set<UniqueKey> = []
    /// The live members of each group, their records included in ``Facts/records``.
    public var groups: Set<GroupKey> = []
    /// The first signed log entry of each change id (a duplicate answers with it).
    public var changeIDs: Set<String> = []
    /// Manual conflicts by id.
    public var conflicts: Set<String> = []
    /// Registered devices by id.
    public var devices: Set<String> = []

    public init() {}

    public var isEmpty: Bool {
        records.isEmpty && readers.isEmpty && grants.isEmpty && withdrawn.isEmpty && referenceCounts.isEmpty
            && uniques.isEmpty && groups.isEmpty && changeIDs.isEmpty && conflicts.isEmpty
            && devices.isEmpty
    }

    public mutating func formUnion(_ other: FactRequest) {
        absorb(&records, other.records)
        absorb(&readers, other.readers)
        absorb(&grants, other.grants)
        absorb(&withdrawn, other.withdrawn)
        absorb(&referenceCounts, other.referenceCounts)
        absorb(&uniques, other.uniques)
        absorb(&groups, other.groups)
        absorb(&changeIDs, other.changeIDs)
        absorb(&conflicts, other.conflicts)
        absorb(&devices, other.devices)
    }

    /// The keys of `other` not in `self`.
    public func subtracting(_ other: FactRequest) -> FactRequest {
        func new<Key>(_ mine: Set<Key>, _ theirs: Set<Key>) -> Set<Key> {
            theirs.isEmpty ? mine : mine.subtracting(theirs)
        }
        var request = FactRequest()
        request.records = new(records, other.records)
        request.readers = new(readers, other.readers)
        request.grants = new(grants, other.grants)
        request.withdrawn = new(withdrawn, other.withdrawn)
        request.referenceCounts = new(referenceCounts, other.referenceCounts)
        request.uniques = new(uniques, other.uniques)
        request.groups = new(groups, other.groups)
        request.changeIDs = new(changeIDs, other.changeIDs)
        request.conflicts = new(conflicts, other.conflicts)
        request.devices = new(devices, other.devices)
        return request
    }
}

/// A store's answers to a ``FactRequest``, as they stood when the batch's transaction began.
///
/// Every key asked for has an answer: an absent record, a unique value nobody holds, a change
/// id never logged are answered `nil` (stored with `updateValue(nil, forKey:)`), a record with
/// no readers, grants or referrers with an empty set, map or zero.
public struct Facts: Sendable {
    public var records: [String: RecordState?] = [:]
    public var readers: [String: Set<String>] = [:]
    /// Per personal record, per organisation: how many live records grant it sight.
    public var grants: [String: [String: Int]] = [:]
    public var withdrawn: [String: Bool] = [:]
    /// How many references point at a record — its rows (counted up to at least one more than
    /// the batch could remove: a store may stop counting there) and its count (``ReferenceIndex``).
    public var referenceCounts: [String: Int] = [:]
    public var uniques: [UniqueKey: String?] = [:]
    /// The ids of a group's live members.
    public var groups: [GroupKey: [String]] = [:]
    /// The first signed log line of a change id.
    public var changeIDs: [String: HistoryLine?] = [:]
    public var conflicts: [String: ConflictRow?] = [:]
    public var devices: [String: DeviceRow?] = [:]

    public init() {}

    /// Adds `other`'s answers (a later round of the same transaction).
    public mutating func formUnion(_ other: Facts) {
        absorb(&records, other.records)
        absorb(&readers, other.readers)
        absorb(&grants, other.grants)
        absorb(&withdrawn, other.withdrawn)
        absorb(&referenceCounts, other.referenceCounts)
        absorb(&uniques, other.uniques)
        absorb(&groups, other.groups)
        absorb(&changeIDs, other.changeIDs)
        absorb(&conflicts, other.conflicts)
        absorb(&devices, other.devices)
    }
}

/// `into ∪ other` (a set taken whole when `into` is empty: no key hashed again).
private func absorb<Key>(_ into: inout Set<Key>, _ other: Set<Key>) {
    if into.isEmpty { into = other } else { into.formUnion(other) }
}

/// `into` with `other`'s answers (a map taken whole when `into` is empty).
private func absorb<Key, Value>(_ into: inout [Key: Value], _ other: [Key: Value]) {
    if into.isEmpty { into = other } else { into.merge(other) { _, new in new } }
}
