import TandemProtocol

/// One history entry of a record, as the replay reads it: from an audit line (every member) or
/// from a pulled log entry (`tandem_history`; entries pulled before servers sent `base_version`
/// and the HLC have neither).
struct RecordEvent: Hashable, Sendable {
    var seq: Int64
    var time: String
    var author: Author
    var op: TandemProtocol.Operation
    /// The change's fields as pushed.
    var fields: [String: JSONValue]
    var baseVersion: Int64?
    var hlc: String?
    var outcome: Outcome
    /// The raw JSON of the fields and the outcome, for `tandem history`.
    var fieldsJSON: JSONValue
    var outcomeJSON: JSONValue
}

/// Rebuilds a record from its history entries, replaying what the merge (SPEC §5,
/// `Protocol/Merge/Merge.swift`) did with each change as its outcome records it:
///
/// - a rejected (or duplicate) entry changes nothing;
/// - an insert creates the record: its fields, and the schema's default for every field it does
///   not set (as the merge does);
/// - an update sets each field in `outcome.applied` to the change's value, or, for a field listed
///   in `outcome.conflicts`, to that conflict's `kept` value; a field it sets that is not in
///   `applied` lost its conflict (or is held by a `manual` one) and keeps its value. A `union`
///   field that met a concurrent edit is the union of both sets, which the outcome does not
///   spell out: it is recomputed, concurrent meaning, as in the merge, that the field was last
///   set after the change's `base_version` by another author. (An entry pulled from a server
///   that did not send `base_version` yet: a field last set by another author is taken as
///   concurrent when the change did not apply cleanly, status `merged` or `conflict`.)
/// - a delete removes the record.
struct RecordReplay {
    struct Stamp: Hashable {
        var value: JSONValue
        var version: Int64
        var author: Author
        var hlc: String?
    }

    let table: TableSchema
    /// The record's fields, nil while it does not exist (before its insert, after its delete).
    private(set) var fields: [String: Stamp]?
    private(set) var version: Int64 = 0
    /// The seq of the delete that removed the record, if it was deleted.
    private(set) var deletedAt: Int64?

    init(table: TableSchema) { self.table = table }

    /// Whether `events` (in seq order) start with the record's insert, so that replaying them
    /// rebuilds it: pulled history lacks what happened before a record became visible.
    static func startsWithInsert(_ events: [RecordEvent]) -> Bool {
        guard let first = events.first(where: { $0.outcome.status != .rejected && $0.outcome.status != .duplicate })
        else { return true }
        return first.op == .insert
    }

    mutating func apply(_ event: RecordEvent) {
        guard event.outcome.status != .rejected, event.outcome.status != .duplicate else { return }
        switch event.op {
        case .insert: insert(event)
        case .update: update(event)
        case .delete:
            guard fields != nil else { return }
            fields = nil
            deletedAt = event.seq
            version = event.outcome.version ?? version + 1
        case .erase:
            // The erasure (SPEC §8): the fields it names become null; the record stays.
            guard var current = fields else { return }
            version = event.outcome.version ?? version + 1
            for name in event.outcome.applied { current[name] = nil }
            fields = current
        }
    }

    /// The record as replayed so far; nil when it does not exist.
    func record(id: String) -> Record? {
        guard let fields else { return nil }
        var values: [String: FieldValue] = [:]
        for field in table.fields {
            guard let stamp = fields[field.name], stamp.value != .null,
                let value = try? FieldValue(json: stamp.value, for: field, in: table.name), !value.isNull
            else { continue }
            values[field.name] = value
        }
        return Record(id: id, values: values)
    }

    private mutating func insert(_ event: RecordEvent) {
        guard fields == nil, deletedAt == nil else { return }
        var incoming: [String: JSONValue] = [:]
        for (name, raw) in event.fields { incoming[name] = normalized(raw, field: name) }
        version = event.outcome.version ?? 1
        fields = Merge.insertedValues(incoming, in: table).mapValues {
            Stamp(value: $0, version: version, author: event.author, hlc: event.hlc)
        }
    }

    private mutating func update(_ event: RecordEvent) {
        guard var current = fields else { return }
        let newVersion = event.outcome.version ?? version + 1
        let applied = Set(event.outcome.applied)
        let conflicts = Dictionary(
            event.outcome.conflicts.map { ($0.field, $0) }, uniquingKeysWith: { first, _ in first })
        for name in event.fields.keys.sorted() where applied.contains(name) {
            let incoming = normalized(event.fields[name] ?? .null, field: name)
            let existing = current[name]
            var stamp = Stamp(value: incoming, version: newVersion, author: event.author, hlc: event.hlc)
            if let conflict = conflicts[name] {
                stamp.value = conflict.kept
            } else if let existing, isConcurrent(existing, event) {
                let rule = (try? table.field(named: name))?.rule ?? .lww
                if existing.value == incoming {
                    // The same value twice: the field keeps the stamp its rule ranks first.
                    if let old = existing.hlc, let new = event.hlc,
                        Merge.keepsExistingStamp(rule: rule, existing: old, incoming: new)
                    {
                        stamp = existing
                    }
                } else if rule == .union {
                    stamp.value = Merge.union(existing.value, incoming)
                }
            }
            current[name] = stamp
        }
        fields = current
        version = newVersion
    }

    /// Whether the field was set, after the change's base, by someone else (Merge's test). An
    /// entry without a base: any earlier version when the change did not apply cleanly, none
    /// when it did.
    private func isConcurrent(_ existing: Stamp, _ event: RecordEvent) -> Bool {
        let base = event.baseVersion ?? (event.outcome.status == .applied ? .max : .min)
        return Merge.isConcurrent(fieldSetAt: existing.version, by: existing.author, base: base, changeBy: event.author)
    }

    /// A value in the form the merge stores it (sets sorted, timestamps in `Z`, "" as NULL).
    private func normalized(_ value: JSONValue, field name: String) -> JSONValue {
        guard let field = try? table.field(named: name),
            let parsed = try? FieldValue(json: value, for: field, in: table.name)
        else { return value }
        return parsed.json
    }
}
