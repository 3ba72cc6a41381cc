extension TableSchema {
    /// The values of a new record: what was given, plus each unset field's default.
    public func applyingDefaults(to values: [String: FieldValue]) -> [String: FieldValue] {
        var result = values
        for field in fields where result[field.name] == nil || result[field.name] == .null {
            if let defaultValue = field.defaultValue,
                let value = try? FieldValue(parsing: defaultValue, for: field, in: name)
            {
                result[field.name] = value
            }
        }
        return result
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
        for field in fields {
            let value = record[field.name]
            if field.isRequired, value.isNull {
                throw ProtocolError(.missingField, table: name, field: field.name, "is required")
            }
            if field.type == .ref, let id = value.text, !Identifier.isUUID(id) {
                throw ProtocolError(.invalidValue, table: name, field: field.name, "\"\(id)\" is not a record id")
            }
            if let otherName = field.notBefore, let later = value.text, let earlier = record[otherName].text,
                field.type == .timestamp ? Timestamp.isEarlier(later, than: earlier) : later < earlier
            {
                throw ProtocolError(
                    .checkFailed, table: name, field: field.name, "\(later) is before \(otherName) \(earlier)")
            }
        }
    }
}
