/// The merge's small rules (SPEC §5), stated once: ``Merge`` applies them to a change, and a
/// client that replays a record's history (`tandem get --as-of`) applies them to what the
/// history's outcomes leave unsaid.
extension Merge {
    /// The values an insert leaves in a new record: the change's values, the schema's default
    /// for every field the change leaves unset, and no NULLs.
    ///
    /// ```swift
    /// Merge.insertedValues(["number": .int(5)], in: round)  // ["number": 5, "status": "planned"]
    /// ```
    package static func insertedValues(_ incoming: [String: JSONValue], in table: TableSchema) -> [String: JSONValue] {
        var values = incoming
        for (field, value) in zip(table.fields, table.defaultValues)
        where !value.isNull && (values[field.name] ?? .null) == .null {
            values[field.name] = value.json
        }
        return values.filter { $0.value != .null }
    }

    /// Whether a change meets a concurrent edit of a field: the field was last set after the
    /// change's base version, by another author.
    ///
    /// - Parameters:
    ///   - version: the version at which the field was last set.
    ///   - setter: who set it.
    ///   - base: the change's `base_version`.
    ///   - author: who made the change.
    package static func isConcurrent(
        fieldSetAt version: Int64, by setter: Author, base: Int64, changeBy author: Author
    ) -> Bool {
        version > base && setter != author
    }

    /// Whether a field that a concurrent change sets to the value it already holds keeps its
    /// stamp: the stamp its rule ranks first stays (the higher HLC; the lower for first-wins), so
    /// that a third edit is settled the same whatever order the three arrive in.
    package static func keepsExistingStamp(rule: ConflictRule, existing: String, incoming: String) -> Bool {
        rule == .firstWins ? existing <= incoming : existing >= incoming
    }

    /// The `union` rule: every member of either set, sorted; NULL when both are empty.
    package static func union(_ lhs: JSONValue, _ rhs: JSONValue) -> JSONValue {
        var members = Set<String>()
        for value in [lhs, rhs] {
            if case let .array(items) = value {
                for case let .string(member) in items { members.insert(member) }
            }
        }
        return members.isEmpty ? .null : .array(members.sorted().map(JSONValue.string))
    }
}
