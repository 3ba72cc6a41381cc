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
    /// by change id) as the merge took it in — normalised; for a field an insert left out, the
    /// table's default (as `schemas` give it: the schema in force first, then every version the
    /// history installed — a default may have changed since); a set holds at least what its change
    /// added (a `union` merges).
    ///
    /// A personal value the history commits to (SPEC §8) is compared opened, with `openings`;
    /// an erasure sets its fields to null.
    public static func problem(
        values: String?, of record: RecordState, seq: Int64, setBy entries: [String: LogEntry], schemas: [Schema],
        openings: Openings = Openings()
    ) -> AuditFailure? {
        func failure(_ problem: String) -> AuditFailure {
            AuditFailure(seq: seq, "record \(record.id) (\(record.table)): \(problem)")
        }
        let rendered = JSONValue.object(record.values.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })
        guard values.flatMap({ try? JSONValue.parse($0).canonicalBytes() }) == rendered.canonicalBytes() else {
            return failure("its values (what pulls send of it) disagree with its per-field state")
        }
        guard let table = schemas.lazy.compactMap({ try? $0.table(named: record.table) }).first else { return nil }
        for (name, field) in record.fields.sorted(by: { $0.key < $1.key }) {
            guard let schemaField = try? table.field(named: name) else { continue }
            guard let entry = entries[field.changeID], let change = try? Change(json: entry.change),
                change.recordID == record.id
            else {
                return failure("field \(name) names a change the history does not hold")
            }
            var expected = JSONValue.null
            if var value = change.fields[name] {
                if let commitment = Commitment.hex(in: value) {
                    guard let opened = openings.value(of: commitment) else {
                        return failure("field \(name) holds a value whose opening the store does not keep")
                    }
                    value = opened
                }
                // As the merge took it in; a value today's rules refuse (a store made before
                // them) was kept as it came.
                expected = (try? FieldValue(json: value, for: schemaField, in: table.name))?.json ?? value
            } else if change.op != .insert && change.op != .erase {
                return failure("field \(name) names a change that did not set it")
            }
            let isSet = schemaField.type == .set
            func holds(_ expected: JSONValue) -> Bool {
                isSet
                    ? Set(members(of: expected)).isSubset(of: members(of: field.value))
                    : expected.canonicalBytes() == field.value.canonicalBytes()
            }
            // An insert gives a field it leaves unset its default, as it was then.
            let isDefaulted = expected == .null && change.op == .insert
            guard
                isDefaulted
                    ? defaults(of: name, in: record.table, schemas: schemas).contains(where: holds) : holds(expected)
            else {
                return failure("field \(name) is not what the history set")
            }
        }
        return nil
    }

    /// The change ids `record`'s fields name (what ``problem(values:of:seq:setBy:schema:)`` needs).
    public static func changeIDs(of record: RecordState) -> Set<String> { Set(record.fields.values.map(\.changeID)) }

    /// The defaults `schemas` give `field` of `table` (NULL for one that gives none).
    private static func defaults(of field: String, in table: String, schemas: [Schema]) -> [JSONValue] {
        schemas.compactMap { schema in
            guard let table = try? schema.table(named: table),
                let index = table.fields.firstIndex(where: { $0.name == field })
            else { return nil }
            return table.defaultValues[index].json
        }
    }

    /// The schema a `_schema` entry installs (``SchemaRegistry``); nil for any other entry.
    public static func installedSchema(by entry: LogEntry) -> Schema? {
        guard entry.change["table"] == .string(SchemaRegistry.table),
            let document = entry.change["fields"]?["document"]
        else { return nil }
        return try? Schema.decode(Array(document.serialized().utf8))
    }

    private static func members(of value: JSONValue) -> [JSONValue] {
        if case let .array(items) = value { items } else { [] }
    }
}
