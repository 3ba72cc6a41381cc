extension TableSchema {
    /// The values of a new record: what was given, plus each unset field's default.
    public func applyingDefaults(to values: [String: FieldValue]) -> [String: FieldValue] {
        var result = values
        for (field, defaultValue) in zip(fields, defaultValues) where !defaultValue.isNull {
            if (result[field.name] ?? .null).isNull { result[field.name] = defaultValue }
        }
        return result
    }

    /// Each field's default by position (NULL where it has none).
    public var defaultValues: [FieldValue] {
        fields.map { field in
            field.defaultValue.flatMap { try? FieldValue(parsing: $0, for: field, in: name) } ?? .null
        }
    }

    /// The position of each field by name.
    public var fieldPositions: [String: Int] {
        Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($0.element.name, $0.offset) })
    }

    /// Checks what a record must satisfy on its own: only known fields, ids shaped as ids,
    /// every required field set, every `not_before` order kept.
    ///
    /// References and unique fields need the other records; the replica and the server check them.
    ///
    /// - Throws: ``ProtocolError`` naming table and field.
    public func validate(_ record: Record) throws(ProtocolError) {
        for key in record.values.keys where !fields.contains(where: { $0.name == key }) {
            throw ProtocolError(.unknownField, table: name, "no field named \"\(key)\"")
        }
        try validate(fieldValues: fields.map { record[$0.name] })
    }

    /// ``validate(_:)`` for values given by field position, the bulk path.
    public func validate(fieldValues values: [FieldValue]) throws(ProtocolError) {
        precondition(values.count == fields.count, "one value per field")
        for (position, field) in fields.enumerated() {
            let value = values[position]
            if field.isRequired, value.isNull {
                throw ProtocolError(.missingField, table: name, field: field.name, "is required")
            }
            if field.type == .ref, let id = value.text, !Identifier.isUUID(id) {
                throw ProtocolError(.invalidValue, table: name, field: field.name, "\"\(id)\" is not a record id")
            }
            if let otherName = field.notBefore, let later = value.text,
                let other = fields.firstIndex(where: { $0.name == otherName }), let earlier = values[other].text,
                field.type == .timestamp ? Timestamp.isEarlier(later, than: earlier) : later < earlier
            {
                throw ProtocolError(
                    .checkFailed, table: name, field: field.name, "\(later) is before \(otherName) \(earlier)")
            }
        }
    }
}
