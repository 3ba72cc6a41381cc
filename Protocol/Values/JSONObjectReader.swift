/// Reads the members of a JSON object for a decoder written by hand: typed accessors, errors
/// that name the path (`tables[0].fields[2]: missing "type"`), and unknown members refused.
struct JSONObjectReader {
    let path: String
    private let members: [String: JSONValue]
    private let fail: (String) -> ProtocolError

    init(_ value: JSONValue, path: String, fail: @escaping (String) -> ProtocolError) throws(ProtocolError) {
        guard case let .object(members) = value else {
            throw fail("\(path.isEmpty ? "top level" : path): expected an object")
        }
        self.path = path
        self.members = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        self.fail = fail
    }

    private var place: String { path.isEmpty ? "top level" : path }

    /// Refuses members not in `known`, so that a misspelt `"requried"` is an error.
    func refuseUnknown(_ known: Set<String>) throws(ProtocolError) {
        for key in members.keys.sorted() where !known.contains(key) {
            throw fail("\(place): unknown member \"\(key)\"")
        }
    }

    func value(_ key: String) throws(ProtocolError) -> JSONValue {
        guard let value = members[key] else { throw fail("\(place): missing \"\(key)\"") }
        return value
    }

    /// Whether the member is present (even as null).
    func has(_ key: String) -> Bool { members[key] != nil }

    func optional(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(ProtocolError) -> String {
        guard case let .string(text) = try value(key) else { throw fail("\(place).\(key): expected a string") }
        return text
    }

    func optionalString(_ key: String) throws(ProtocolError) -> String? {
        guard let value = optional(key) else { return nil }
        guard case let .string(text) = value else { throw fail("\(place).\(key): expected a string") }
        return text
    }

    func int(_ key: String) throws(ProtocolError) -> Int {
        guard case let .int(number) = try value(key), let value = Int(exactly: number) else {
            throw fail("\(place).\(key): expected an integer")
        }
        return value
    }

    func int64(_ key: String) throws(ProtocolError) -> Int64 {
        guard case let .int(number) = try value(key) else { throw fail("\(place).\(key): expected an integer") }
        return number
    }

    func optionalInt64(_ key: String) throws(ProtocolError) -> Int64? {
        guard let value = optional(key) else { return nil }
        guard case let .int(number) = value else { throw fail("\(place).\(key): expected an integer") }
        return number
    }

    func optionalObject(_ key: String) throws(ProtocolError) -> [String: JSONValue]? {
        guard let value = optional(key) else { return nil }
        guard case let .object(members) = value else { throw fail("\(place).\(key): expected an object") }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    func bool(_ key: String, default defaultValue: Bool) throws(ProtocolError) -> Bool {
        guard let value = optional(key) else { return defaultValue }
        guard case let .bool(flag) = value else { throw fail("\(place).\(key): expected true or false") }
        return flag
    }

    func array(_ key: String) throws(ProtocolError) -> [JSONValue] {
        guard case let .array(items) = try value(key) else { throw fail("\(place).\(key): expected an array") }
        return items
    }

    func optionalStrings(_ key: String) throws(ProtocolError) -> [String]? {
        guard let value = optional(key) else { return nil }
        guard case let .array(items) = value else { throw fail("\(place).\(key): expected an array of strings") }
        var strings: [String] = []
        for item in items {
            guard case let .string(text) = item else { throw fail("\(place).\(key): expected an array of strings") }
            strings.append(text)
        }
        return strings
    }

    /// A string member that must be one of an enumeration's raw values.
    func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, default defaultValue: Choice? = nil
    ) throws(ProtocolError) -> Choice where Choice.RawValue == String {
        guard let text = try optionalString(key) else {
            if let defaultValue { return defaultValue }
            throw fail("\(place): missing \"\(key)\"")
        }
        guard let choice = Choice(rawValue: text) else {
            let known = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("\(place).\(key): \"\(text)\" is not one of \(known)")
        }
        return choice
    }
}
