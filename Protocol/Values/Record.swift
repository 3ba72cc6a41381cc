/// A record: its id and the values of its fields (absent means NULL).
public struct Record: Hashable, Sendable {
    public var id: String
    public var values: [String: FieldValue]

    public init(id: String, values: [String: FieldValue]) {
        self.id = id
        self.values = values
    }

    public subscript(field: String) -> FieldValue {
        get { values[field] ?? .null }
        set { values[field] = newValue }
    }

    /// The record's JSON (SPEC §3): `id`, then every field of `table` in declared order, null
    /// when unset; then `extra` members, whose keys should start with `_`.
    public func json(in table: TableSchema, extra: [JSONMember] = []) -> JSONValue {
        var members = [JSONMember("id", .string(id))]
        members.reserveCapacity(table.fields.count + 1 + extra.count)
        for field in table.fields {
            members.append(JSONMember(field.name, self[field.name].json))
        }
        return .object(members + extra)
    }
}

extension FieldValue {
    /// The value as JSON: numbers, booleans, strings, and arrays for sets.
    public var json: JSONValue {
        switch self {
        case .null: return .null
        case let .text(text): return .string(text)
        case let .int(value): return .int(value)
        case let .real(value): return .double(value)
        case let .bool(value): return .bool(value)
        case let .set(members): return .array(members.map(JSONValue.string))
        }
    }

    /// Reads a JSON value for `field`, checking its type and format as ``init(parsing:for:in:)`` does.
    ///
    /// - Throws: ``ProtocolError`` (`invalidValue`) naming `table.field`.
    public init(json: JSONValue, for field: FieldSchema, in table: String) throws(ProtocolError) {
        func invalid(_ expected: String) -> ProtocolError {
            ProtocolError(.invalidValue, table: table, field: field.name, "expected \(expected)")
        }
        switch (field.type, json) {
        case (_, .null): self = .null
        case let (.int, .int(value)):
            guard value.magnitude <= WireProtocol.maximumSafeInteger.magnitude else {
                throw invalid("an integer within ±\(WireProtocol.maximumSafeInteger)")
            }
            self = .int(value)
        case (.int, _): throw invalid("an integer")
        case let (.real, .int(value)): self = .real(Double(value))
        case let (.real, .double(value)):
            guard value.isFinite else { throw invalid("a finite number") }
            self = .real(value)
        case (.real, _): throw invalid("a number")
        case let (.bool, .bool(value)): self = .bool(value)
        case (.bool, _): throw invalid("true or false")
        case let (.set, .array(items)):
            var members: [String] = []
            for item in items {
                guard case let .string(member) = item else { throw invalid("an array of strings") }
                members.append(member)
            }
            self = .normalizedSet(members)
        case (.set, _): throw invalid("an array of strings")
        case let (_, .string(text)):
            // As on the command line and in CSV, an empty string is NULL.
            self = try FieldValue(parsing: text, for: field, in: table)
        default: throw invalid("a string")
        }
    }
}
