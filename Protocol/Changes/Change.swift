/// What a change does to its record.
public enum Operation: String, Hashable, Sendable, Codable, CaseIterable {
    case insert, update, delete
}

/// A change, as a replica pushes it and the history keeps it (SPEC §5).
///
/// The author (organisation and role) is never part of it: the server takes it from the token.
/// `fields` holds only the fields the change sets; `baseVersion` is the record's version the
/// edit was made on (0 for an insert).
public struct Change: Hashable, Sendable, Codable {
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

    enum CodingKeys: String, CodingKey {
        case changeID = "change_id"
        case table
        case recordID = "record_id"
        case op, fields
        case baseVersion = "base_version"
        case hlc, device, signature
    }
}
