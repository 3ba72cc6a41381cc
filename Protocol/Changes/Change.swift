/// What a change does to its record. `erase` is the server's alone (`tandem erase`, SPEC §8):
/// the record's personal fields become null and stay so; a replica never pushes one.
public enum Operation: String, Hashable, Sendable, CaseIterable {
    case insert, update, delete, erase
}

/// A change, as a replica pushes it and the history keeps it (SPEC §5):
/// `{"change_id", "table", "record_id", "op", "fields", "base_version", "hlc", "device", "signature"}`.
///
/// The author (organisation and role) is never part of it: the server takes it from the token.
/// `fields` holds only the fields the change sets; `baseVersion` is the record's version the
/// edit was made on (0 for an insert).
public struct Change: Hashable, Sendable {
    public var changeID: String
    public var table: String
    public var recordID: String
    public var op: Operation
    public var fields: [String: JSONValue]
    public var baseVersion: Int64
    public var hlc: String
    public var device: String
    public var signature: String?

    public init(
        changeID: String, table: String, recordID: String, op: Operation, fields: [String: JSONValue],
        baseVersion: Int64, hlc: String, device: String, signature: String? = nil
    ) {
        self.changeID = changeID
        self.table = table
        self.recordID = recordID
        self.op = op
        self.fields = fields
        self.baseVersion = baseVersion
        self.hlc = hlc
        self.device = device
        self.signature = signature
    }
}

extension Change {
    /// Reads a change from its JSON. Members this version does not know (an `author` someone
    /// slipped in, say) are ignored: the server never takes them from the body.
    ///
    /// - Throws: ``ProtocolError`` (`invalidJSON`) naming the member that is missing or mistyped.
    public init(json: JSONValue, path: String = "change") throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: path) { ProtocolError(.invalidJSON, $0) }
        changeID = try object.string("change_id")
        table = try object.string("table")
        recordID = try object.string("record_id")
        op = try object.choice("op")
        guard case let .object(members) = try object.value("fields") else {
            throw ProtocolError(.invalidJSON, "\(path).fields: expected an object")
        }
        fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let base = try object.int("base_version")
        guard base >= 0, base <= WireProtocol.maximumSafeInteger else {
            throw ProtocolError(
                .invalidJSON, "\(path).base_version: must be from 0 to \(WireProtocol.maximumSafeInteger)")
        }
        baseVersion = Int64(base)
        hlc = try object.string("hlc")
        device = try object.string("device")
        signature = try object.optionalString("signature")
    }

    /// The change's JSON, members in a fixed order and `fields` sorted by name.
    public var json: JSONValue {
        var members = [
            JSONMember("change_id", .string(changeID)), JSONMember("table", .string(table)),
            JSONMember("record_id", .string(recordID)), JSONMember("op", .string(op.rawValue)),
            JSONMember("fields", .object(fields.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })),
            JSONMember("base_version", .int(baseVersion)), JSONMember("hlc", .string(hlc)),
            JSONMember("device", .string(device)),
        ]
        if let signature { members.append(JSONMember("signature", .string(signature))) }
        return .object(members)
    }
}
