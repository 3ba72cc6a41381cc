public import TandemProtocol

extension StoreAdapter {
    /// Conflicts on records `principal` may read (docs/visibility.md), in the order they were
    /// opened: every one for coordinators and auditors; for a member, those on records of tables
    /// every token reads and on records its organisation may read now. Each with its field's
    /// value as the record now stands.
    public func conflicts(for principal: Principal, includeResolved: Bool) async throws -> [ConflictInfo] {
        let rows = try await conflictRows(includeResolved: includeResolved)
        guard !rows.isEmpty else { return [] }
        let schema = try await currentSchema()
        var request = FactRequest()
        request.records = Set(rows.map(\.recordID))
        if principal.role == .member { request.readers = request.records }
        let facts = try await facts(for: request)
        return rows.compactMap { row in
            let isReadByAll = (try? schema.table(named: row.table)).map { !Visibility.isRestricted($0) } ?? false
            if principal.role == .member, !isReadByAll,
                !(facts.readers[row.recordID] ?? []).contains(principal.organisation ?? "")
            {
                return nil
            }
            let record = facts.records[row.recordID] ?? nil
            return ConflictInfo(
                id: row.id, table: row.table, recordID: row.recordID, field: row.field,
                current: record?[row.field] ?? .null, incoming: row.incoming, status: row.isOpen ? .open : .resolved)
        }
    }
}

extension ServerStore where Self: StoreAdapter {
    /// Counts the open conflict rows; a store that can count without reading them says so itself.
    public func openConflictCount() async throws -> Int {
        try await conflictRows(includeResolved: false).count
    }
}
