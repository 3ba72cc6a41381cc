public import TandemProtocol

/// Pull items for a token that does not receive personal values (an auditor's, unless issued
/// with `--personal`; SPEC §8): a record of a personal table arrives without its personal
/// fields. The entries hold only commitments already.
public enum PersonalRedaction {
    /// `items` (rendered pull items) with the personal fields of personal tables' records left out.
    public static func redact(_ items: [String], schema: Schema) throws -> [String] {
        let personal = Dictionary(
            uniqueKeysWithValues: schema.tables.filter(\.isPersonal).map { ($0.name, $0.personalFields) })
        guard !personal.isEmpty else { return items }
        return try items.map { text in
            // Only an item of a personal table is read again.
            guard personal.keys.contains(where: { text.contains(#""table":"\#($0)""#) }) else { return text }
            var item = try PullItem(json: JSONValue.parse(text))
            guard let fields = personal[item.table], let record = item.record else { return text }
            item.record = record.filter { !fields.contains($0.key) }
            return item.json.serialized()
        }
    }
}
