/// A record as the server holds it: its version, whether it is deleted, and per field the value
/// with the version, HLC, device and author of the change that last set it (SPEC §5).
public struct RecordState: Hashable, Sendable {
    public struct Field: Hashable, Sendable {
        /// The value in its wire form (normalised: sets sorted, timestamps ending in `Z`).
        public var value: JSONValue
        public var version: Int64
        public var changeID: String
        public var hlc: String
        public var author: Author

        public init(value: JSONValue, version: Int64, changeID: String, hlc: String, author: Author) {
            self.value = value
            self.version = version
            self.changeID = changeID
            self.hlc = hlc
            self.author = author
        }
    }

    public var table: String
    public var id: String
    public var version: Int64
    public var isDeleted: Bool
    /// Whether the record's personal data was erased (`tandem erase`): its personal fields are
    /// null, and no change may edit it any more.
    public var isErased: Bool
    public var fields: [String: Field]

    public init(
        table: String, id: String, version: Int64, isDeleted: Bool = false, isErased: Bool = false,
        fields: [String: Field]
    ) {
        self.table = table
        self.id = id
        self.version = version
        self.isDeleted = isDeleted
        self.isErased = isErased
        self.fields = fields
    }

    /// The value of a field (NULL when unset).
    public subscript(field: String) -> JSONValue { fields[field]?.value ?? .null }

    /// The record's values as wire JSON, unset fields left out.
    public var values: [String: JSONValue] {
        // `mapValues` keeps the dictionary's layout (no key hashed again); only a record with
        // unset fields needs the slower path.
        fields.values.contains { $0.value == .null }
            ? fields.compactMapValues { $0.value == .null ? nil : $0.value } : fields.mapValues(\.value)
    }
}

/// What the merge needs to know about other records: whether a referenced record is live, who
/// may read a restricted record, the values a constraint reads, whether live records refer to
/// this one, and who holds a unique value. The server's store answers from its tables; tests
/// answer from a dictionary.
public protocol MergeContext: ConstraintContext {
    func isLive(table: String, id: String) -> Bool
    /// The organisations whose members may read the record with this id now — for a record of a
    /// restricted table (``Visibility/isRestricted(_:)``), as ``Visibility/readers(of:id:values:granted:)``
    /// says with the grants the store holds; empty when there is no such record.
    func readers(of id: String) -> Set<String>
    func isReferenced(table: String, id: String) -> Bool
    /// The id of a live record of `table` other than `excluding` whose `field` equals `value`.
    func holder(of value: JSONValue, table: String, field: String, excluding id: String) -> String?
}
