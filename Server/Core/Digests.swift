public import TandemProtocol

/// A live record as ``StoreAdapter/visibleRecords(after:limit:viewer:)`` reads it: its table,
/// id, version and values — the JSON object text `{field: value}` of its set fields, as a pull
/// sends the record. Text in canonical form (members in name order, no whitespace, as the merge
/// normalised the values) is hashed as it is; any other JSON object is parsed first
/// (``TableDigest/add(id:version:storedValues:)``).
public struct VisibleRecord: Hashable, Sendable {
    public var table: String
    public var id: String
    public var version: Int64
    public var values: String

    public init(table: String, id: String, version: Int64, values: String) {
        self.table = table
        self.id = id
        self.version = version
        self.values = values
    }
}

extension Principal {
    /// Whose sight a read is filtered by: nil for coordinators and auditors (everything), a
    /// member's organisation otherwise (none: the empty string, which owns nothing).
    var viewer: String? {
        switch role {
        case .coordinator, .auditor, .server: nil
        case .member: organisation ?? ""
        }
    }
}

extension StoreAdapter {
    /// `GET /v1/digest`: a ``TableDigest`` of every schema table, in the schema's order, over the
    /// live records `principal` may read (visibility exactly as its pulls apply it), read in pages
    /// so that memory does not grow with the store.
    ///
    /// The pages are separate reads: a write between two of them may make the answer mix two
    /// states (then the replica finds a difference that a second `tandem check` does not).
    public func digests(for principal: Principal) async throws -> DigestResponse {
        try await digests(for: principal, page: ServerCore.digestPage)
    }

    /// ``digests(for:)`` reading `page` records at a time.
    public func digests(for principal: Principal, page: Int) async throws -> DigestResponse {
        let schema = try await currentSchema()
        var digests = schema.tables.map { TableDigest(table: $0.name) }
        var positions: [String: Int] = [:]
        for (position, table) in schema.tables.enumerated() { positions[table.name] = position }
        let fields = schema.tables.map { table in
            Dictionary(table.fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
        var after: String?
        while true {
            let records = try await visibleRecords(after: after, limit: page, viewer: principal.viewer)
            for record in records {
                guard let position = positions[record.table] else { continue }
                let table = schema.tables[position]
                // A token that does not receive personal values pulls records without them.
                let hidden = principal.seesPersonalValues ? [] : table.personalFields
                // Values the store kept in canonical form (as a pull sends them) need no parsing.
                if hidden.isEmpty,
                    digests[position].add(id: record.id, version: record.version, storedValues: record.values)
                {
                    continue
                }
                let values = try Self.values(record, in: table.name, fields: fields[position])
                    .filter { !hidden.contains($0.name) }
                digests[position].add(id: record.id, version: record.version, sortedValues: values)
            }
            guard records.count >= page, let last = records.last else { break }
            after = last.id
        }
        return DigestResponse(tables: digests)
    }

    /// A record's values, read as the schema's field types read JSON (what a replica's columns
    /// give back): the fields the table has, NULLs left out, in RFC 8785 order (the store's own
    /// order when it keeps them so, as it should).
    private static func values(_ record: VisibleRecord, in table: String, fields: [String: FieldSchema]) throws
        -> [(name: String, value: FieldValue)]
    {
        guard case let .object(members) = try JSONValue.parse(bytes: Array(record.values.utf8)) else {
            throw ServerError(.storage, "record \(record.id): its values are not a JSON object")
        }
        var values: [(name: String, value: FieldValue)] = []
        values.reserveCapacity(members.count)
        var isSorted = true
        for member in members {
            guard let field = fields[member.key],
                let value = try? FieldValue(json: member.value, for: field, in: table),
                !value.isNull
            else { continue }
            if let last = values.last, !TableDigest.precedes(last.name, member.key) { isSorted = false }
            values.append((member.key, value))
        }
        if !isSorted { values.sort { TableDigest.precedes($0.name, $1.name) } }
        return values
    }
}
