import Crypto

extension FieldValue {
    /// The RFC 8785 bytes of the value's JSON (``json``), written without building it (strings
    /// as ``JSONValue/writeString(_:to:)`` escapes them, which is RFC 8785's escaping).
    func writeCanonical(to output: inout [UInt8]) {
        switch self {
        case let .text(text): JSONValue.writeString(text, to: &output)
        case let .int(value) where value.magnitude <= 1 << 53: JSONValue.writeInteger(value, to: &output)
        case let .set(members):
            output.append(UInt8(ascii: "["))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .null, .int, .real, .bool: json.writeCanonical(to: &output)
        }
    }
}

/// What one table holds, in 64 hex characters and a count: the digest `tandem check` compares
/// with `GET /v1/digest` (docs/sync.md, "Am I in sync?").
///
/// A record's hash is the SHA-256 of the RFC 8785 bytes of `[id, version, values]`, where
/// `values` is the object of its fields that are set (not NULL), each as a record's JSON has it
/// (SPEC §3: sets as sorted arrays, bools as booleans, refs as ids). The table's digest is the
/// XOR of its live records' hashes, so it does not depend on the order records are read in (and
/// could be kept up to date by XOR-ing a record's old hash out and its new one in); an empty
/// table's is 64 zeros. Both sides compute it through this type, the server from its store and
/// the replica from its tables, so the two agree byte for byte when they hold the same records.
///
/// ```swift
/// var digest = TableDigest(table: "round")
/// digest.add(id: "0193…", version: 2, values: ["number": .int(1), "status": .text("open")])
/// digest.records  // 1
/// digest.hex      // "5c1f…"
/// ```
public struct TableDigest: Hashable, Sendable {
    public var table: String
    /// How many records it covers.
    public var records: Int
    /// The XOR of the records' hashes, as four words read from their 32 bytes in order.
    private var accumulator = SIMD4<UInt64>()

    /// The digest of no records.
    public init(table: String) {
        self.table = table
        records = 0
    }

    /// A digest as the server sent it.
    ///
    /// - Throws: ``ProtocolError`` (`invalidJSON`) unless `hex` is 64 lowercase hex characters.
    public init(table: String, records: Int, hex: String) throws(ProtocolError) {
        guard hex.utf8.count == 64, let bytes = Digest.bytes(hex: hex) else {
            throw ProtocolError(.invalidJSON, "\(table).digest: expected 64 lowercase hex characters")
        }
        self.table = table
        self.records = records
        accumulator = bytes.withUnsafeBytes { $0.loadUnaligned(as: SIMD4<UInt64>.self) }
    }

    /// The XOR of the records' hashes, in lowercase hex.
    public var hex: String { withUnsafeBytes(of: accumulator) { Digest.hex($0) } }

    /// Takes in a live record: its id, its server version and its values (NULLs are left out).
    public mutating func add(id: String, version: Int64, values: [String: FieldValue]) {
        add(
            id: id, version: version,
            sortedValues: values.filter { !$0.value.isNull }.sorted { Self.precedes($0.key, $1.key) }.map {
                (name: $0.key, value: $0.value)
            })
    }

    /// ``add(id:version:values:)`` with the values already in RFC 8785 order (by name, as
    /// ``precedes(_:_:)`` sorts), NULLs left out: what a caller that reads many records of one
    /// table passes, having sorted the field names once.
    public mutating func add(id: String, version: Int64, sortedValues: [(name: String, value: FieldValue)]) {
        take(SHA256.hash(data: Self.canonicalBytes(id: id, version: version, sortedValues: sortedValues)))
    }

    /// XORs in one record's hash.
    mutating func take(_ hash: SHA256.Digest) {
        accumulator ^= hash.withUnsafeBytes { $0.loadUnaligned(as: SIMD4<UInt64>.self) }
        records += 1
    }

    /// Whether field `name` comes before `other` in RFC 8785 order (by UTF-16 code units).
    public static func precedes(_ name: String, _ other: String) -> Bool {
        name.utf16.lexicographicallyPrecedes(other.utf16)
    }

    /// The bytes a record's hash is taken over: RFC 8785 of `[id, version, {field: value, …}]`.
    public static func canonicalBytes(id: String, version: Int64, values: [String: FieldValue]) -> [UInt8] {
        canonicalBytes(
            id: id, version: version,
            sortedValues: values.filter { !$0.value.isNull }.sorted { precedes($0.key, $1.key) }.map {
                (name: $0.key, value: $0.value)
            })
    }

    static func canonicalBytes(id: String, version: Int64, sortedValues: [(name: String, value: FieldValue)])
        -> [UInt8]
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + 48 * sortedValues.count)
        bytes.append(UInt8(ascii: "["))
        JSONValue.writeString(id, to: &bytes)
        bytes.append(UInt8(ascii: ","))
        FieldValue.int(version).writeCanonical(to: &bytes)
        bytes.append(UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "{"))
        for (index, field) in sortedValues.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONValue.writeString(field.name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            field.value.writeCanonical(to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }

    /// `{"table", "records", "digest"}`.
    public var json: JSONValue {
        .object([
            JSONMember("table", .string(table)), JSONMember("records", .int(Int64(records))),
            JSONMember("digest", .string(hex)),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        let table = try object.string("table")
        let records = try object.int("records")
        guard records >= 0 else { throw ProtocolError(.invalidJSON, "\(table).records: expected 0 or more") }
        try self.init(table: table, records: records, hex: try object.string("digest"))
    }
}

/// `GET /v1/digest` (SPEC §4): `{"tables": [{"table", "records", "digest"}, …]}`, one a schema
/// table, in the schema's order, over the live records the caller's token may see — what its
/// pulls have brought (``TableDigest``).
public struct DigestResponse: Hashable, Sendable {
    public var tables: [TableDigest]

    public init(tables: [TableDigest]) { self.tables = tables }

    public var json: JSONValue { .object([JSONMember("tables", .array(tables.map(\.json)))]) }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        var tables: [TableDigest] = []
        for item in try object.array("tables") { tables.append(try TableDigest(json: item)) }
        self.tables = tables
    }
}
