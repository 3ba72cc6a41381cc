/// Who may write what (SPEC §6): coordinators (and the server itself) anything; auditors nothing;
/// a member only records its organisation owns, before and after the change — an exchange
/// through its home or host, an organisation's own record through its id.
public enum Access {
    /// Whether `author` owns a record of `table` with these values (or this id).
    public static func isOwner(_ author: Author, table: TableSchema, id: String, values: [String: JSONValue]) -> Bool {
        guard let organisation = author.organisation else { return false }
        return table.owners.contains { owner in
            owner == "id" ? id == organisation : values[owner] == .string(organisation)
        }
    }

    /// Whether `author` may make a change that turns `before` (nil: no record yet) into `after`
    /// (nil: deleted).
    public static func mayWrite(
        _ author: Author, table: TableSchema, id: String, before: [String: JSONValue]?, after: [String: JSONValue]?
    ) -> Bool {
        switch author.role {
        case .coordinator, .server: return true
        case .auditor: return false
        case .member:
            if let before, !isOwner(author, table: table, id: id, values: before) { return false }
            if let after, !isOwner(author, table: table, id: id, values: after) { return false }
            return before != nil || after != nil
        }
    }
}
