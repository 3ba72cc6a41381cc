/// The sizes one change may not exceed, as the server enforces them and the client checks them
/// when an edit is made, so the two cannot drift: each field value at most
/// ``WireProtocol/maximumValueSize`` bytes of JSON, each identifier (`change_id`, `table`,
/// `record_id`, `device`, `hlc`, `signature`, a field name) at most
/// ``WireProtocol/maximumIdentifierSize`` bytes.
///
/// The server refuses a change carrying a value over the limit alone (reason
/// ``valueTooLarge``), the rest of the push going through; an identifier over its limit, which
/// no honest client makes (ids are UUIDs, names come from the schema), makes the whole push 413.
///
/// ```swift
/// ChangeLimits.oversize(of: .string(String(repeating: "x", count: 100_000)))  // 100_002
/// ```
public enum ChangeLimits {
    /// The rejection reason of a change carrying a value over the limit.
    public static let valueTooLarge = "value_too_large"

    /// The size of `value`'s JSON when it is over ``WireProtocol/maximumValueSize``; nil when it
    /// is within (numbers, booleans and short texts are, without being serialised).
    public static func oversize(of value: JSONValue) -> Int? {
        switch value {
        case .null, .bool, .int, .double:
            return nil
        case let .string(text) where text.utf8.count <= (WireProtocol.maximumValueSize - 2) / 6:
            // Escaping at most sextuples a byte (`\u0000`), plus the quotes.
            return nil
        default:
            let size = value.serialized().utf8.count
            return size > WireProtocol.maximumValueSize ? size : nil
        }
    }

    /// The first field of `change` whose value is over the limit, with its size; nil when none is.
    public static func oversizedValue(in change: Change) -> (field: String, size: Int)? {
        for (name, value) in change.fields.sorted(by: { $0.key < $1.key }) {
            if let size = oversize(of: value) { return (name, size) }
        }
        return nil
    }

    /// Where `change` carries an identifier over ``WireProtocol/maximumIdentifierSize`` (`record_id`,
    /// `a field name`); nil when none does.
    public static func oversizedIdentifier(in change: Change) -> String? {
        let identifiers = [
            ("change_id", change.changeID), ("table", change.table), ("record_id", change.recordID),
            ("device", change.device), ("hlc", change.hlc), ("signature", change.signature ?? ""),
        ]
        for (name, text) in identifiers where text.utf8.count > WireProtocol.maximumIdentifierSize { return name }
        if change.fields.keys.contains(where: { $0.utf8.count > WireProtocol.maximumIdentifierSize }) {
            return "a field name"
        }
        return nil
    }
}
