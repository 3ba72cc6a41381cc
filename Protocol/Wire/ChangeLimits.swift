/// The sizes one change may not exceed, published with the schema (`"limits"` in the document
/// `GET /v1/schema` serves: `{"value_bytes", "identifier_bytes"}`), so that the server that
/// enforces them and every replica that checks them when an edit is made read the same numbers —
/// and a programme that changes them (`tandem-server schema apply`) reaches every replica at its
/// next sync. A schema document without `limits` has ``standard``.
///
/// The server refuses a change carrying a value over ``valueBytes`` alone (reason
/// ``RejectionReason/valueTooLarge``), the rest of the push going through; an identifier (`change_id`, `table`,
/// `record_id`, `device`, `hlc`, `signature`, a field name) over ``identifierBytes``, which no
/// honest client makes (ids are UUIDs, names come from the schema), makes the whole push 413.
///
/// ```swift
/// schema.limits.oversize(of: .string(String(repeating: "x", count: 100_000)))  // 100_002
/// ```
public struct ChangeLimits: Hashable, Sendable {
    /// The largest field value, in UTF-8 bytes of its JSON.
    public var valueBytes: Int
    /// The longest identifier, in UTF-8 bytes.
    public var identifierBytes: Int

    public init(valueBytes: Int, identifierBytes: Int) {
        self.valueBytes = valueBytes
        self.identifierBytes = identifierBytes
    }

    /// 64 KiB a value (a page of text is a few KiB; files do not belong in records), 1 KiB an identifier.
    public static let standard = ChangeLimits(
        valueBytes: WireProtocol.maximumValueSize, identifierBytes: WireProtocol.maximumIdentifierSize)

    /// The bounds a schema's limits must keep: a value fits a push body, an identifier fits a
    /// signature (88 bytes of base64) and an HLC.
    public static let valueRange = 1024...(16 * 1024 * 1024)
    public static let identifierRange = 128...(64 * 1024)

    /// The size of `value`'s JSON when it is over ``valueBytes``; nil when it is within
    /// (numbers, booleans and short texts are, without being serialised).
    public func oversize(of value: JSONValue) -> Int? {
        switch value {
        case .null, .bool, .int, .double:
            return nil
        case let .string(text) where text.utf8.count <= (valueBytes - 2) / 6:
            // Escaping at most sextuples a byte (`\u0000`), plus the quotes.
            return nil
        default:
            let size = value.serialized().utf8.count
            return size > valueBytes ? size : nil
        }
    }

    /// The first field of `change` whose value is over the limit, with its size; nil when none is.
    public func oversizedValue(in change: Change) -> (field: String, size: Int)? {
        for (name, value) in change.fields.sorted(by: { $0.key < $1.key }) {
            if let size = oversize(of: value) { return (name, size) }
        }
        return nil
    }

    /// Where `change` carries an identifier over ``identifierBytes`` (`record_id`, `a field name`);
    /// nil when none does.
    public func oversizedIdentifier(in change: Change) -> String? {
        let identifiers = [
            ("change_id", change.changeID), ("table", change.table), ("record_id", change.recordID),
            ("device", change.device), ("hlc", change.hlc), ("signature", change.signature ?? ""),
        ]
        for (name, text) in identifiers where text.utf8.count > identifierBytes { return name }
        if change.fields.keys.contains(where: { $0.utf8.count > identifierBytes }) { return "a field name" }
        return nil
    }

    /// `{"value_bytes", "identifier_bytes"}`.
    public var json: JSONValue {
        .object([
            JSONMember("value_bytes", .int(Int64(valueBytes))),
            JSONMember("identifier_bytes", .int(Int64(identifierBytes))),
        ])
    }

    init(json: JSONValue, fail: @escaping (String) -> ProtocolError) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "limits", fail: fail)
        try object.refuseUnknown(["value_bytes", "identifier_bytes"])
        valueBytes = try object.int("value_bytes")
        identifierBytes = try object.int("identifier_bytes")
        guard Self.valueRange.contains(valueBytes) else {
            throw fail("limits.value_bytes: expected \(Self.valueRange.lowerBound)…\(Self.valueRange.upperBound)")
        }
        guard Self.identifierRange.contains(identifierBytes) else {
            throw fail(
                "limits.identifier_bytes: expected \(Self.identifierRange.lowerBound)…\(Self.identifierRange.upperBound)"
            )
        }
    }
}
