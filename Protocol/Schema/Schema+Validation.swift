extension Schema {
    /// Decodes and validates a schema document.
    ///
    /// - Throws: ``ProtocolError`` with code `invalidSchema` naming the first problem found.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> Schema {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes: bytes)
        } catch {
            throw ProtocolError(.invalidSchema, "schema document: \(error.message)")
        }
        let schema = try Schema(json: json)
        try schema.validate()
        return schema
    }

    /// The schema as compact JSON bytes (what a replica stores and the server serves).
    public func encoded() -> [UInt8] { Array(json.serialized().utf8) }

    /// Checks that the schema is consistent: names, types, references, defaults, rules, owners.
    public func validate() throws(ProtocolError) {
        guard Self.isIdentifier(name) else {
            throw ProtocolError(.invalidSchema, "schema name \"\(name)\" is not an identifier ([a-z][a-z0-9_]*)")
        }
        guard version >= 1 else { throw ProtocolError(.invalidSchema, "schema version must be ≥ 1") }
        guard !tables.isEmpty else { throw ProtocolError(.invalidSchema, "schema has no tables") }
        var seen = Set<String>()
        for table in tables {
            guard Self.isIdentifier(table.name), !table.name.hasPrefix("tandem_"), !table.name.hasPrefix("sqlite_")
            else {
                throw ProtocolError(
                    .invalidSchema, "table name \"\(table.name)\" is not an identifier or is reserved")
            }
            guard seen.insert(table.name).inserted else {
                throw ProtocolError(.invalidSchema, table: table.name, "table declared twice")
            }
        }
        let identityTables = tables.filter { $0.owners == ["id"] }.map(\.name)
        guard identityTables.count <= 1 else {
            throw ProtocolError(
                .invalidSchema, "more than one table is owned by itself: \(identityTables.joined(separator: ", "))")
        }
        for table in tables {
            try validate(table, identityTable: identityTables.first)
        }
    }

    private func validate(_ table: TableSchema, identityTable: String?) throws(ProtocolError) {
        func fail(_ field: String?, _ reason: String) -> ProtocolError {
            ProtocolError(.invalidSchema, table: table.name, field: field, reason)
        }
        guard !table.fields.isEmpty else { throw fail(nil, "table has no fields") }
        var names = Set<String>()
        for field in table.fields {
            guard Self.isIdentifier(field.name), field.name != "id" else {
                throw fail(field.name, "field name is not an identifier or is reserved")
            }
            guard names.insert(field.name).inserted else { throw fail(field.name, "field declared twice") }
            switch field.type {
            case .enum:
                guard let values = field.values, !values.isEmpty, Set(values).count == values.count,
                    values.allSatisfy({ !$0.isEmpty })
                else { throw fail(field.name, "an enum needs distinct, non-empty values") }
            default:
                guard field.values == nil else { throw fail(field.name, "only an enum has values") }
            }
            if field.type == .ref {
                guard let target = field.references, tables.contains(where: { $0.name == target }) else {
                    throw fail(field.name, "a ref must name a table of this schema in \"references\"")
                }
            } else if field.references != nil {
                throw fail(field.name, "only a ref has \"references\"")
            }
            if let defaultValue = field.defaultValue {
                guard field.type != .ref else { throw fail(field.name, "a ref cannot have a default") }
                guard !defaultValue.isEmpty else { throw fail(field.name, "an empty default means none: leave it out") }
                do {
                    _ = try FieldValue(parsing: defaultValue, for: field, in: table.name)
                } catch {
                    throw fail(field.name, "default \"\(defaultValue)\" does not fit the field's type")
                }
            }
            try validateRule(of: field, fail: fail)
            if field.isUnique, field.type == .set || field.type == .bool {
                throw fail(field.name, "a \(field.type.rawValue) field cannot be unique")
            }
            if let other = field.notBefore {
                guard [.date, .timestamp].contains(field.type),
                    let earlier = table.fields.first(where: { $0.name == other }), earlier.type == field.type
                else { throw fail(field.name, "not_before must name a field of the same date or timestamp type") }
            }
        }
        for owner in table.owners where owner != "id" {
            guard let field = table.fields.first(where: { $0.name == owner }), field.type == .ref,
                field.references == identityTable
            else {
                throw fail(nil, "owner \"\(owner)\" must be \"id\" or a ref to the table owned by itself")
            }
        }
        if table.owners.contains("id"), table.owners != ["id"] {
            throw fail(nil, "a table owned by itself has no other owners")
        }
        if table.visibility == .owners, table.owners.isEmpty {
            throw fail(nil, "a table visible to its owners needs owners")
        }
        for constraint in table.constraints { try validate(constraint, of: table) }
    }

    private func validateRule(
        of field: FieldSchema, fail: (String?, String) -> ProtocolError
    ) throws(ProtocolError) {
        switch field.rule {
        case .union:
            guard field.type == .set else { throw fail(field.name, "union applies to sets only") }
        case .max, .min:
            guard [.int, .real, .date, .timestamp, .enum].contains(field.type) else {
                throw fail(field.name, "\(field.rule.rawValue) applies to ordered types only")
            }
        case .lww, .firstWins, .ownerWins, .coordinatorWins, .manual:
            break
        }
    }

    /// Whether `name` is `[a-z][a-z0-9_]*` and at most 63 characters: safe as an SQL identifier.
    public static func isIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), bytes.count <= 63
        else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}

extension Schema {
    /// The bundled default schema of the exchange programme (SPEC §2).
    public static let partnership: Schema = {
        do {
            return try Schema.decode(PackageResources.partnership_json)
        } catch {
            preconditionFailure("the bundled partnership schema is invalid: \(error)")
        }
    }()
}
