extension PullResponse {
    /// Reads a page straight from its JSON bytes: the same page, and the same errors, as
    /// `PullResponse(json: JSONValue.parse(bytes: bytes))`, without the tree in between — a pull
    /// page holds up to 10 000 items, and building and then reading a tree of every value cost a
    /// replica more than writing them.
    ///
    /// The bytes are read once, with ``JSONParser``'s rules (strict JSON, no duplicate members,
    /// nesting at most ``JSONParser/maximumDepth`` deep); members this reader does not know are
    /// read and ignored, as `init(json:)` ignores them. Whatever this reader does not expect —
    /// malformed text, a missing member, a value of the wrong type — is handed to `init(json:)`,
    /// so that the error is exactly the one it gives.
    ///
    /// ```swift
    /// let page = try PullResponse(bytes: response.body)
    /// ```
    public init(bytes: [UInt8]) throws(ProtocolError) {
        do {
            var reader = PullPageReader(parser: JSONParser(bytes: bytes))
            self = try reader.page()
        } catch {
            self = try PullResponse(json: JSONParser.parse(bytes))
        }
    }
}

/// Reads a pull page from JSON text in one pass. Any surprise is thrown as a bare error: the
/// caller then reads the page the slow way, which says precisely what is wrong.
private struct PullPageReader {
    var parser: JSONParser

    private static var surprise: ProtocolError { ProtocolError(.invalidJSON, "not a pull page as expected") }

    private var current: UInt8? { parser.current }

    mutating func page() throws(ProtocolError) -> PullResponse {
        parser.skipWhitespace()
        var items: [PullItem]?
        var next: Int64?
        var more = false
        var checkpoint: Checkpoint?
        var schemaVersion: Int?
        var known = Set<String>()
        try members { (reader: inout Self, key: String) throws(ProtocolError) in
            guard known.insert(key).inserted else { throw Self.surprise }
            switch key {
            case "items": items = try reader.items()
            case "next": next = try reader.integer()
            case "more": more = try reader.bool(default: false)
            case "checkpoint":
                let value = try reader.parser.parseValue()
                checkpoint = value == .null ? nil : try Checkpoint(json: value)
            case "schema_version": schemaVersion = try reader.optionalInteger().map { Int($0) }
            default: _ = try reader.parser.parseValue()
            }
        }
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count, let items, let next else { throw Self.surprise }
        return PullResponse(
            items: items, next: next, more: more, checkpoint: checkpoint, schemaVersion: schemaVersion)
    }

    /// Walks an object's members, calling `read` with each name while the parser stands at its
    /// value; `read` must read the value.
    private mutating func members(_ read: (inout Self, String) throws(ProtocolError) -> Void) throws(ProtocolError) {
        guard current == UInt8(ascii: "{") else { throw Self.surprise }
        try parser.enter()
        defer { parser.depth -= 1 }
        if current == UInt8(ascii: "}") {
            parser.position += 1
            return
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw Self.surprise }
            let key = try parser.parseString()
            parser.skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw Self.surprise }
            parser.position += 1
            parser.skipWhitespace()
            try read(&self, key)
            parser.skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                parser.position += 1
                parser.skipWhitespace()
            case UInt8(ascii: "}"):
                parser.position += 1
                return
            default: throw Self.surprise
            }
        }
    }

    private mutating func items() throws(ProtocolError) -> [PullItem] {
        guard current == UInt8(ascii: "[") else { throw Self.surprise }
        try parser.enter()
        defer { parser.depth -= 1 }
        var items: [PullItem] = []
        if current == UInt8(ascii: "]") {
            parser.position += 1
            return items
        }
        while true {
            items.append(try item())
            parser.skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                parser.position += 1
                parser.skipWhitespace()
            case UInt8(ascii: "]"):
                parser.position += 1
                return items
            default: throw Self.surprise
            }
        }
    }

    /// Member names seen in one object: a bit for each name a reader knows, a set for the rest.
    private struct SeenNames {
        private var bits: UInt32 = 0
        private var others: Set<String> = []

        mutating func insert(_ bit: Int) throws(ProtocolError) {
            guard bits & (1 << bit) == 0 else { throw PullPageReader.surprise }
            bits |= 1 << bit
        }

        mutating func insert(other key: String) throws(ProtocolError) {
            guard others.insert(key).inserted else { throw PullPageReader.surprise }
        }
    }

    private mutating func item() throws(ProtocolError) -> PullItem {
        var seen = SeenNames()
        var seq: Int64?
        var table: String?
        var recordID: String?
        var version: Int64?
        var isDeleted = false
        var isVisible = true
        var record: [String: JSONValue]?
        var entry: PullItem.Entry?
        try members { (reader: inout Self, key: String) throws(ProtocolError) in
            switch key {
            case "seq":
                try seen.insert(0)
                seq = try reader.integer()
            case "table":
                try seen.insert(1)
                table = try reader.string()
            case "record_id":
                try seen.insert(2)
                recordID = try reader.string()
            case "version":
                try seen.insert(3)
                version = try reader.integer()
            case "deleted":
                try seen.insert(4)
                isDeleted = try reader.bool(default: false)
            case "visible":
                try seen.insert(5)
                isVisible = try reader.bool(default: true)
            case "record":
                try seen.insert(6)
                record = try reader.optionalObject()
            case "entry":
                try seen.insert(7)
                entry = try reader.entry()
            default:
                try seen.insert(other: key)
                _ = try reader.parser.parseValue()
            }
        }
        guard let seq, let table, let recordID, let version else { throw Self.surprise }
        return PullItem(
            seq: seq, table: table, recordID: recordID, version: version, isDeleted: isDeleted, record: record,
            entry: entry, isVisible: isVisible)
    }

    private mutating func entry() throws(ProtocolError) -> PullItem.Entry? {
        if current == UInt8(ascii: "n") {
            _ = try parser.parseValue()
            return nil
        }
        var seen = SeenNames()
        var changeID: String?
        var time: String?
        var author: Author?
        var op: Operation?
        var fields: [String: JSONValue]?
        var outcome: Outcome?
        var hlc: String?
        var baseVersion: Int64?
        var device: String?
        var signature: String?
        try members { (reader: inout Self, key: String) throws(ProtocolError) in
            switch key {
            case "change_id":
                try seen.insert(0)
                changeID = try reader.string()
            case "time":
                try seen.insert(1)
                time = try reader.string()
            case "author":
                try seen.insert(2)
                author = try Author(json: reader.parser.parseValue())
            case "op":
                try seen.insert(3)
                guard let value = Operation(rawValue: try reader.string()) else { throw Self.surprise }
                op = value
            case "fields":
                try seen.insert(4)
                fields = try reader.optionalObject()
            case "outcome":
                try seen.insert(5)
                outcome = try Outcome(json: reader.parser.parseValue())
            case "hlc":
                try seen.insert(6)
                hlc = try reader.optionalString()
            case "base_version":
                try seen.insert(7)
                baseVersion = try reader.optionalInteger()
            case "device":
                try seen.insert(8)
                device = try reader.optionalString()
            case "signature":
                try seen.insert(9)
                signature = try reader.optionalString()
            default:
                try seen.insert(other: key)
                _ = try reader.parser.parseValue()
            }
        }
        guard let changeID, let time, let author, let op, let outcome else { throw Self.surprise }
        return PullItem.Entry(
            changeID: changeID, time: time, author: author, op: op, fields: fields ?? [:], outcome: outcome, hlc: hlc,
            baseVersion: baseVersion, device: device, signature: signature)
    }

    // MARK: - Values, as `JSONObjectReader` reads them

    /// An integer (`int64`): what the parser reads as `.int`.
    private mutating func integer() throws(ProtocolError) -> Int64 {
        guard case let .int(number) = try parser.parseValue() else { throw Self.surprise }
        return number
    }

    private mutating func optionalInteger() throws(ProtocolError) -> Int64? {
        switch try parser.parseValue() {
        case .null: return nil
        case let .int(number): return number
        default: throw Self.surprise
        }
    }

    private mutating func string() throws(ProtocolError) -> String {
        guard current == UInt8(ascii: "\"") else { throw Self.surprise }
        return try parser.parseString()
    }

    private mutating func optionalString() throws(ProtocolError) -> String? {
        if current == UInt8(ascii: "\"") { return try parser.parseString() }
        guard try parser.parseValue() == .null else { throw Self.surprise }
        return nil
    }

    /// A boolean; null counts as absent.
    private mutating func bool(default defaultValue: Bool) throws(ProtocolError) -> Bool {
        switch try parser.parseValue() {
        case .null: return defaultValue
        case let .bool(flag): return flag
        default: throw Self.surprise
        }
    }

    /// An object's members by name, or nil for null.
    private mutating func optionalObject() throws(ProtocolError) -> [String: JSONValue]? {
        guard current == UInt8(ascii: "{") else {
            guard try parser.parseValue() == .null else { throw Self.surprise }
            return nil
        }
        var values: [String: JSONValue] = [:]
        try members { (reader: inout Self, key: String) throws(ProtocolError) in
            guard values.updateValue(try reader.parser.parseValue(), forKey: key) == nil else { throw Self.surprise }
        }
        return values
    }
}
