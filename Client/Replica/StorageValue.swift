import GRDB
import TandemProtocol

/// How field values are kept in SQLite: text-like types as TEXT, ints as INTEGER, reals as
/// REAL, bools as INTEGER 0/1, sets as a JSON array of strings (so `json_each` works on them).
extension FieldValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case let .text(text): return text.databaseValue
        case let .int(value): return value.databaseValue
        case let .real(value): return value.databaseValue
        case let .bool(value): return (value ? 1 : 0 as Int64).databaseValue
        case .set: return json.serialized().databaseValue
        }
    }

    init(databaseValue: DatabaseValue, type: FieldType) {
        switch (databaseValue.storage, type) {
        case (.null, _): self = .null
        case let (.int64(value), .bool): self = .bool(value != 0)
        case let (.int64(value), .real): self = .real(Double(value))
        case let (.int64(value), _): self = .int(value)
        case let (.double(value), _): self = .real(value)
        case let (.string(text), .set):
            guard case let .array(items)? = try? JSONValue.parse(text) else {
                self = .null
                return
            }
            self = .normalizedSet(items.compactMap { if case let .string(member) = $0 { member } else { nil } })
        case let (.string(text), _): self = .text(text)
        case let (.blob(data), _): self = .text(String(decoding: data, as: UTF8.self))
        }
    }
}

extension FieldType {
    /// The column type in a STRICT table.
    var sqlType: String {
        switch self {
        case .int, .bool: return "INTEGER"
        case .real: return "REAL"
        case .text, .date, .timestamp, .enum, .ref, .set: return "TEXT"
        }
    }
}

extension String {
    /// The name quoted as an SQL identifier. Schema names are `[a-z][a-z0-9_]*`, so this is
    /// belt and braces.
    var quotedIdentifier: String {
        utf8.contains(UInt8(ascii: "\""))
            ? "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" : "\"" + self + "\""
    }
}
