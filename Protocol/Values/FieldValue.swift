/// A field's value, as every layer handles it: typed, validated, and free of storage details.
///
/// `text` carries text, dates, timestamps, enum members and refs (the schema says which);
/// `set` is always distinct and sorted.
public enum FieldValue: Hashable, Sendable {
    case null
    case text(String)
    case int(Int64)
    case real(Double)
    case bool(Bool)
    case set([String])

    public var isNull: Bool { self == .null }

    /// The text of a text-like value (text, date, timestamp, enum, ref), else nil.
    public var text: String? {
        if case let .text(text) = self { return text }
        return nil
    }

    /// Makes a set value: members trimmed of spaces, empty ones dropped, distinct, sorted; a set
    /// with no members is NULL (as its text form, the empty string, reads back).
    public static func normalizedSet<S: Sequence<String>>(_ members: S) -> FieldValue {
        let kept = Set(members.map { $0.trimmingSpaces() }.filter { !$0.isEmpty })
        return kept.isEmpty ? .null : .set(kept.sorted())
    }
}

extension FieldValue {
    /// Parses command-line or CSV text for `field` (SPEC §3): empty is NULL; ints and reals as
    /// numbers; bools `true`/`false`; dates `YYYY-MM-DD`; sets `a;b;c`.
    ///
    /// Refs are taken as given: resolving prefixes, checking the id's shape (``TableSchema/validate(_:)``)
    /// and that the record exists is the replica's and the server's job.
    ///
    /// - Throws: ``ProtocolError`` (`invalidValue`) naming `table.field` and the reason.
    public init(parsing text: String, for field: FieldSchema, in table: String) throws(ProtocolError) {
        if text.isEmpty {
            self = .null
            return
        }
        func invalid(_ reason: String) -> ProtocolError {
            ProtocolError(.invalidValue, table: table, field: field.name, reason)
        }
        switch field.type {
        case .text:
            self = .text(text)
        case .int:
            guard let value = Int64(text) else { throw invalid("\"\(text)\" is not an integer") }
            guard value.magnitude <= WireProtocol.maximumSafeInteger.magnitude else {
                throw invalid("\(text) is out of range (integers are at most ±\(WireProtocol.maximumSafeInteger))")
            }
            self = .int(value)
        case .real:
            guard let value = Double(text), value.isFinite else { throw invalid("\"\(text)\" is not a number") }
            self = .real(value)
        case .bool:
            switch text {
            case "true": self = .bool(true)
            case "false": self = .bool(false)
            default: throw invalid("\"\(text)\" is not true or false")
            }
        case .date:
            guard CalendarDate.isValid(text) else { throw invalid("\"\(text)\" is not a date (YYYY-MM-DD)") }
            self = .text(text)
        case .timestamp:
            guard let normalized = Timestamp.normalize(text) else {
                throw invalid("\"\(text)\" is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
            }
            self = .text(normalized)
        case .enum:
            let values = field.values ?? []
            guard values.contains(text) else {
                throw invalid("\"\(text)\" is not one of \(values.joined(separator: ", "))")
            }
            self = .text(text)
        case .ref:
            self = .text(text)
        case .set:
            self = .normalizedSet(text.split(separator: ";").map(String.init))
        }
    }

    /// The value as command-line and CSV text: what ``init(parsing:for:in:)`` reads back.
    public var plainText: String {
        switch self {
        case .null: return ""
        case let .text(text): return text
        case let .int(value): return String(value)
        case let .real(value): return value.jsonDescription
        case let .bool(value): return value ? "true" : "false"
        case let .set(members): return members.joined(separator: ";")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

extension Double {
    /// Shortest text that reads back as the same number, valid JSON: `2`, `2.5`, `1e-07`.
    public var jsonDescription: String {
        if self == rounded(), abs(self) < 1e15 { return String(Int64(self)) }
        return description
    }
}
