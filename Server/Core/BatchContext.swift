import TandemProtocol

/// What the merge knows about the store while it works through a batch: the facts fetched
/// before it (``Facts``) under what the batch's earlier changes did (records, references,
/// unique values, readers, grants). It answers the merge's questions (``MergeContext``) from
/// memory and never touches a store.
///
/// A question it cannot answer yet is noted in ``missing`` (and answered with a placeholder):
/// the core then fetches those facts and runs the change again. Nothing the batch did is ever
/// lost by that: changes are committed to the overlay only once every fact they need is known.
///
/// One batch owns it and is driven by one transaction at a time, hence `@unchecked Sendable`.
final class BatchContext: MergeContext, @unchecked Sendable {
    private(set) var facts = Facts()
    /// What the merge (or the commit of a change) asked for and `facts` did not hold.
    var missing = FactRequest()

    // The batch's committed changes, over `facts`.
    private var records: [String: RecordState] = [:]
    private var referenceDeltas: [String: Int] = [:]
    private var uniques: [UniqueKey: String?] = [:]
    private var groupMembers: [GroupKey: [String: Bool]] = [:]
    private(set) var readerOverlay: [String: Set<String>] = [:]
    private var grantOverlay: [String: [String: Int]] = [:]
    private var withdrawnOverlay: [String: Bool] = [:]
    /// The values of live records read by constraints, until the batch changes them.
    private var values: [String: [String: JSONValue]] = [:]

    func supply(_ more: Facts) { facts.formUnion(more) }

    // MARK: - Lookups (a miss is noted)

    /// The record as the batch has it: `.some(nil)` when there is none, nil when not known yet.
    func record(_ id: String) -> RecordState?? {
        if let changed = records[id] { return .some(changed) }
        if let known = facts.records[id] { return .some(known) }
        missing.records.insert(id)
        return nil
    }

    /// Who may read a restricted record now; nil when not known yet.
    func currentReaders(_ id: String) -> Set<String>? {
        if let changed = readerOverlay[id] { return changed }
        if let known = facts.readers[id] { return known }
        missing.readers.insert(id)
        return nil
    }

    /// The stored readers, before the batch (known once ``currentReaders(_:)`` was answered).
    func storedReaders(_ id: String) -> Set<String> { facts.readers[id] ?? [] }

    /// Per organisation, how many live records grant sight of a personal record; nil when not known yet.
    func grants(_ id: String) -> [String: Int]? {
        if let changed = grantOverlay[id] { return changed }
        if let known = facts.grants[id] { return known }
        missing.grants.insert(id)
        return nil
    }

    func isWithdrawn(_ id: String) -> Bool? {
        if let changed = withdrawnOverlay[id] { return changed }
        if let known = facts.withdrawn[id] { return known }
        missing.withdrawn.insert(id)
        return nil
    }

    /// The first result of a change id: in this batch, or logged before it; `.some(nil)` for a
    /// new change id, nil when not known yet.
    func loggedChange(_ changeID: String) -> HistoryLine?? {
        if let known = facts.changeIDs[changeID] { return .some(known) }
        missing.changeIDs.insert(changeID)
        return nil
    }

    private func members(of key: GroupKey) -> [(id: String, values: [String: JSONValue])]? {
        guard let stored = facts.groups[key] else {
            missing.groups.insert(key)
            return nil
        }
        var ids = Set(stored)
        for (id, isMember) in groupMembers[key] ?? [:] {
            if isMember { ids.insert(id) } else { ids.remove(id) }
        }
        var members: [(id: String, values: [String: JSONValue])] = []
        for id in ids.sorted() {
            guard let known = record(id) else { continue }
            if let state = known, !state.isDeleted { members.append((id, state.values)) }
        }
        return members
    }

    // MARK: - MergeContext

    func isLive(table: String, id: String) -> Bool {
        guard let known = record(id), let state = known else { return false }
        return state.table == table && !state.isDeleted
    }

    func readers(of id: String) -> Set<String> { currentReaders(id) ?? [] }

    func liveValues(table: String, id: String) -> [String: JSONValue]? {
        guard let known = record(id), let state = known, state.table == table, !state.isDeleted else { return nil }
        // A change's constraints may read one record several times (an exchange's round, for both
        // ends of both dates): its values are worked out once, until the batch changes it.
        if let values = values[id] { return values }
        let worked = state.values
        values[id] = worked
        return worked
    }

    func count(
        in table: String, field: String, refersTo group: String, meeting condition: Constraint.Condition?,
        excluding id: String
    ) -> Int {
        guard let members = members(of: GroupKey(table: table, field: field, target: group)) else { return 0 }
        return members.filter { member in
            member.id != id && condition.map { $0.values.contains(member.values[$0.field] ?? .null) } ?? true
        }.count
    }

    func referrers(in table: String, field: String, to id: String) -> [(id: String, values: [String: JSONValue])] {
        members(of: GroupKey(table: table, field: field, target: id)) ?? []
    }

    func isReferenced(table: String, id: String) -> Bool {
        guard let stored = facts.referenceCounts[id] else {
            missing.referenceCounts.insert(id)
            return true
        }
        return stored + (referenceDeltas[id] ?? 0) > 0
    }

    func holder(of value: JSONValue, table: String, field: String, excluding id: String) -> String? {
        let key = UniqueKey(table: table, field: field, value: value.serialized())
        let holder: String?
        if let changed = uniques[key] {
            holder = changed
        } else if let known = facts.uniques[key] {
            holder = known
        } else {
            missing.uniques.insert(key)
            return nil
        }
        return holder == id ? nil : holder
    }

    // MARK: - Committing a change

    /// Takes `state` as the record's state now, with the references and unique values it holds.
    func commit(_ state: RecordState, references: [ReferenceRow: Bool], uniques changed: [UniqueKey: String?]) {
        records[state.id] = state
        values[state.id] = nil
        for (row, holds) in references {
            referenceDeltas[row.target, default: 0] += holds ? 1 : -1
            groupMembers[GroupKey(table: state.table, field: row.field, target: row.target), default: [:]][row.source] =
                holds
        }
        for (key, holder) in changed { uniques.updateValue(holder, forKey: key) }
    }

    func setReaders(_ readers: Set<String>, of id: String) { readerOverlay[id] = readers }
    func setGrants(_ grants: [String: Int], of id: String) { grantOverlay[id] = grants }
    func setWithdrawn(_ isWithdrawn: Bool, of id: String) { withdrawnOverlay[id] = isWithdrawn }
}
