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
    package init(bytes: [UInt8]) throws(ProtocolError) {
        self = try PulledPage(bytes: bytes).response()
    }
}

extension PulledPage {
    /// Reads a page straight from its JSON bytes, as ``PullResponse/init(bytes:)`` does (the same
    /// pages, the same errors), keeping each entry's `author`, `fields` and `outcome` as the
    /// text they arrived as, checked but not built.
    package init(bytes: [UInt8]) throws(ProtocolError) {
        do {
            var reader = PullPageReader(parser: JSONParser(bytes: bytes))
            self = try reader.page()
        } catch {
            self = PulledPage(try PullResponse(json: JSONParser.parse(bytes)))
        }
    }
}

/// Reads a pull page from JSON text in one pass. Any surprise is thrown as a bare error: the
/// caller then reads the page the slow way, which says precisely what is wrong.
private struct PullPageReader {
    var parser: JSONParser

    private static var surprise: ProtocolError { ProtocolError(.invalidJSON, "not a pull page as expected") }

    private var current: UInt8? { parser.current }

    mutating func page() throws(ProtocolError) -> PulledPage {
        parser.skipWhitespace()
        var items: [PulledItem]?
        var next: Int64?
        var more = false
        var checkpoint: Checkpoint?
        var schemaVersion: Int?
        var values = Openings()
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
            case "values":
                let value = try reader.parser.parseValue()
                values = value == .null ? Openings() : try Openings(json: value)
            default: _ = try reader.parser.parseValue()
            }
        }
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count, let items, let next else { throw Self.surprise }
        return PulledPage(
            items: items, next: next, more: more, checkpoint: checkpoint, schemaVersion: schemaVersion, values: values)
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

    private mutating func items() throws(ProtocolError) -> [PulledItem] {
        guard current == UInt8(ascii: "[") else { throw Self.surprise }
        try parser.enter()
        defer { parser.depth -= 1 }
        var items: [PulledItem] = []
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

    private mutating func item() throws(ProtocolError) -> PulledItem {
        var seen = SeenNames()
        var seq: Int64?
        var table: String?
        var recordID: String?
        var version: Int64?
        var isDeleted = false
        var isVisible = true
        var record: [String: JSONValue]?
        var entry: PulledEntry?
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
        return PulledItem(
            seq: seq, table: table, recordID: recordID, version: version, isDeleted: isDeleted, record: record,
            entry: entry, isVisible: isVisible)
    }

    private mutating func entry() throws(ProtocolError) -> PulledEntry? {
        if current == UInt8(ascii: "n") {
            _ = try parser.parseValue()
            return nil
        }
        var seen = SeenNames()
        var changeID: String?
        var time: String?
        var author: String?
        var op: Operation?
        var fields = "{}"
        var outcome: (text: String, status: Outcome.Status, version: Int64?)?
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
                author = try reader.authorText()
            case "op":
                try seen.insert(3)
                guard let value = Operation(rawValue: try reader.string()) else { throw Self.surprise }
                op = value
            case "fields":
                try seen.insert(4)
                fields = try reader.fieldsText()
            case "outcome":
                try seen.insert(5)
                outcome = try reader.outcomeText()
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
        return PulledEntry(
            changeID: changeID, time: time, author: author, op: op, fields: fields, outcome: outcome.text,
            status: outcome.status, version: outcome.version, hlc: hlc, baseVersion: baseVersion, device: device,
            signature: signature)
    }

    // MARK: - Texts kept as they came, checked as `init(json:)` reads them

    /// The text from `start` to where the parser stands (whole values: their bytes are UTF-8).
    private func text(from start: Int) -> String {
        parser.bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<parser.position]), as: UTF8.self)
        }
    }

    /// An author (``Author/init(json:)``), as its text.
    private mutating func authorText() throws(ProtocolError) -> String {
        let start = parser.position
        var seen = SeenNames()
        var role: Role?
        try members { (reader: inout Self, key: String) throws(ProtocolError) in
            switch key {
            case "organisation":
                try seen.insert(0)
                _ = try reader.optionalString()
            case "role":
                try seen.insert(1)
                role = Role(rawValue: try reader.string())
                guard role != nil else { throw Self.surprise }
            case "device":
                try seen.insert(2)
                _ = try reader.optionalString()
            default:
                try seen.insert(other: key)
                _ = try reader.parser.parseValue()
            }
        }
        guard role != nil else { throw Self.surprise }
        return text(from: start)
    }

    /// An outcome (``Outcome/init(json:)``), as its text, with its status and version.
    private mutating func outcomeText() throws(ProtocolError) -> (text: String, status: Outcome.Status, version: Int64?)
    {
        let start = parser.position
        var seen = SeenNames()
        var status: Outcome.Status?
        var version: Int64?
        try members { (reader: inout Self, key: String) throws(ProtocolError) in
            switch key {
            case "status":
                try seen.insert(0)
                status = Outcome.Status(rawValue: try reader.string())
                guard status != nil else { throw Self.surprise }
            case "version":
                try seen.insert(1)
                version = try reader.optionalInteger()
            case "applied":
                try seen.insert(2)
                try reader.optionalStrings()
            case "reason":
                try seen.insert(3)
                _ = try reader.optionalString()
            case "conflicts":
                try seen.insert(4)
                // Rare: read as `init(json:)` reads them.
                switch try reader.parser.parseValue() {
                case .null: break
                case let .array(list): for item in list { _ = try FieldConflict(json: item) }
                default: throw Self.surprise
                }
            default:
                try seen.insert(other: key)
                _ = try reader.parser.parseValue()
            }
        }
        guard let status else { throw Self.surprise }
        return (text(from: start), status, version)
    }

    /// An entry's `fields`: an object (null is `{}`), as its text. Member names are compared as
    /// bytes, so a name written with an escape is left to the slow reader.
    private mutating func fieldsText() throws(ProtocolError) -> String {
        guard current == UInt8(ascii: "{") else {
            guard try parser.parseValue() == .null else { throw Self.surprise }
            return "{}"
        }
        let start = parser.position
        try parser.enter()
        defer { parser.depth -= 1 }
        var names: [Range<Int>] = []
        if current == UInt8(ascii: "}") {
            parser.position += 1
            return text(from: start)
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw Self.surprise }
            let name = try plainString()
            if parser.bytes[name].contains(UInt8(ascii: "\\")) { throw Self.surprise }
            for other in names where other.count == name.count {
                if parser.bytes[other].elementsEqual(parser.bytes[name]) { throw Self.surprise }
            }
            names.append(name)
            parser.skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw Self.surprise }
            parser.position += 1
            parser.skipWhitespace()
            if current == UInt8(ascii: "\"") {
                _ = try plainString()
            } else {
                _ = try parser.parseValue()
            }
            parser.skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                parser.position += 1
                parser.skipWhitespace()
            case UInt8(ascii: "}"):
                parser.position += 1
                return text(from: start)
            default: throw Self.surprise
            }
        }
    }

    /// A string of printable ASCII without escapes, checked without making it; returns the
    /// range of its contents. Anything else is a surprise.
    private mutating func plainString() throws(ProtocolError) -> Range<Int> {
        let start = parser.position + 1
        var position = start
        let bytes = parser.bytes
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                parser.position = position + 1
                return start..<position
            }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { break }
            position += 1
        }
        // Escapes, UTF-8 beyond ASCII, control characters: read as the parser reads them.
        _ = try parser.parseString()
        return start..<(parser.position - 1)
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

    /// An array of strings, or null.
    private mutating func optionalStrings() throws(ProtocolError) {
        switch try parser.parseValue() {
        case .null: return
        case let .array(items):
            for item in items {
                guard case .string = item else { throw Self.surprise }
            }
        default: throw Self.surprise
        }
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
