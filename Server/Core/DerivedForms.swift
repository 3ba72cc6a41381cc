public import TandemProtocol

/// What a store keeps beside its history so that a pull sends bytes without rendering them —
/// each entry's pull item, each record's values — and how `verify` checks them. Pulls send these
/// columns as they are: an edit of one behind the store's back changes what replicas receive,
/// so each must say what the history says.
///
/// Both are compared as RFC 8785 bytes: `1.0` and `1`, or members in another order, say the same.
public enum DerivedForms {
    /// The pull item of `entry` (``PullItem/Entry/json``), as ``LogChain`` renders it when it
    /// writes the entry; nil when the entry's change or outcome does not parse.
    public static func item(of entry: LogEntry) -> JSONValue? {
        guard let change = try? Change(json: entry.change), let outcome = try? Outcome(json: entry.outcome) else {
            return nil
        }
        return PullItem.Entry(change, author: entry.author, time: entry.time, outcome: outcome).json
    }

    /// What is wrong with `item`, kept for `entry` as what pulls send; nil when it renders the entry.
    public static func problem(item: String?, of entry: LogEntry) -> AuditFailure? {
        let expected = Self.item(of: entry)?.canonicalBytes()
        let kept = item.flatMap { try? JSONValue.parse($0).canonicalBytes() }
        guard kept != expected else { return nil }
        return AuditFailure(
            seq: entry.seq, "the entry's pull item (what pulls send of it) disagrees with the entry")
    }

    /// What is wrong with a record as kept (`values`: the text pulls send as the record; `seq`:
    /// the entry that last changed it): its values must be its fields' and nothing more, and
    /// each field's value what the change its stamp names set (`setBy`: those changes' entries,
    /// by change id) as the merge took it in — normalised, the table's default for a field an
    /// insert left out; a `union` field holds at least what its change added.
    public static func problem(
        values: String?, of record: RecordState, seq: Int64, setBy entries: [String: LogEntry], schema: Schema
    ) -> AuditFailure? {
        func failure(_ problem: String) -> AuditFailure {
            AuditFailure(seq: seq, "record \(record.id) (\(record.table)): \(problem)")
        }
        let rendered = JSONValue.object(record.values.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })
        guard values.flatMap({ try? JSONValue.parse($0).canonicalBytes() }) == rendered.canonicalBytes() else {
            return failure("its values (what pulls send of it) disagree with its per-field state")
        }
        guard let table = try? schema.table(named: record.table) else { return nil }
        for (name, field) in record.fields.sorted(by: { $0.key < $1.key }) {
            guard let schemaField = try? table.field(named: name) else { continue }
            guard let entry = entries[field.changeID], let change = try? Change(json: entry.change),
                change.recordID == record.id
            else {
                return failure("field \(name) names a change the history does not hold")
            }
            var expected = JSONValue.null
            if let value = change.fields[name] {
                guard let parsed = try? FieldValue(json: value, for: schemaField, in: table.name) else {
                    return failure("field \(name) names a change whose value does not parse")
                }
                expected = parsed.json
            } else if change.op != .insert {
                return failure("field \(name) names a change that did not set it")
            }
            // An insert gives a field it leaves unset its default.
            if expected == .null, change.op == .insert, let index = table.fields.firstIndex(of: schemaField) {
                expected = table.defaultValues[index].json
            }
            if schemaField.rule == .union {
                guard Set(members(of: expected)).isSubset(of: members(of: field.value)) else {
                    return failure("field \(name) is not what the history set")
                }
            } else if expected.canonicalBytes() != field.value.canonicalBytes() {
                return failure("field \(name) is not what the history set")
            }
        }
        return nil
    }

    /// The change ids `record`'s fields name (what ``problem(values:of:seq:setBy:schema:)`` needs).
    public static func changeIDs(of record: RecordState) -> Set<String> { Set(record.fields.values.map(\.changeID)) }

    private static func members(of value: JSONValue) -> [JSONValue] {
        if case let .array(items) = value { items } else { [] }
    }
}
