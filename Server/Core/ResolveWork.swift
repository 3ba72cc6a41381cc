public import TandemProtocol

/// Settling an open manual conflict (`POST /v1/conflicts/{id}/resolve`, docs/merge.md): the
/// decision is a change the server makes and signs for the resolver, merged like any other
/// (a ``PushBatch`` of one) in the same transaction that marks the conflict resolved.
///
/// Refused, with nothing written: a conflict that does not exist — or is on a record the caller
/// may not read, answered the same — `not_found`; one already settled `resolved`; one whose
/// record is deleted `deleted`; a caller that is neither a coordinator nor one of the record's
/// owners `forbidden`; a chosen value the merge refuses `rejected`.
public struct ResolveWork: StoreWork {
    let id: String
    let resolution: Resolution
    let principal: Principal
    let merge: Merge
    let now: Int64
    let serverKey: SigningKey
    private var head = LogHead.empty
    private var facts = Facts()
    private var decision: ServerMadeChange?
    public private(set) var writes = BatchWrites()
    /// The conflict as it stands once settled.
    public private(set) var resolved: ConflictInfo?

    public init(
        _ id: String, with resolution: Resolution, by principal: Principal, merge: Merge, now: Int64,
        serverKey: SigningKey
    ) {
        self.id = id
        self.resolution = resolution
        self.principal = principal
        self.merge = merge
        self.now = now
        self.serverKey = serverKey
    }

    public mutating func start(at head: LogHead) throws -> FactRequest? {
        self.head = head
        var request = FactRequest()
        request.conflicts.insert(id)
        return request
    }

    public mutating func advance(with more: Facts) throws -> FactRequest? {
        if var decision {
            let next = try decision.advance(with: more)
            self.decision = decision
            return try next ?? finish(decision.batch)
        }
        facts.formUnion(more)
        guard case let .some(.some(conflict)) = facts.conflicts[id] else {
            throw ServerError(.notFound, "no conflict \(id)")
        }
        guard case let .some(stored) = facts.records[conflict.recordID], let readers = facts.readers[conflict.recordID]
        else {
            var request = FactRequest()
            request.records.insert(conflict.recordID)
            request.readers.insert(conflict.recordID)
            return request
        }
        // A conflict on a record the caller may not read is answered as one that does not exist.
        if principal.role == .member, let table = try? merge.schema.table(named: conflict.table),
            Visibility.isRestricted(table), !readers.contains(principal.organisation ?? "")
        {
            throw ServerError(.notFound, "no conflict \(id)")
        }
        guard conflict.isOpen else { throw ServerError(.resolved, "conflict \(id) is already resolved") }
        guard let record = stored, !record.isDeleted, let table = try? merge.schema.table(named: conflict.table) else {
            throw ServerError(.deleted, "the record of conflict \(id) is deleted")
        }
        // The server makes the decision's change and signs it, as its own device, for the resolver.
        guard
            principal.role == .coordinator
                || Access.isOwner(
                    principal.author(device: DeviceRegistry.serverDevice), table: table, id: record.id,
                    values: record.values)
        else {
            throw ServerError(.forbidden, "only coordinators and the record's owners resolve conflicts")
        }
        let value: JSONValue
        switch resolution {
        case .keepCurrent: value = record[conflict.field]
        case .keepIncoming: value = conflict.incoming
        case let .value(chosen): value = chosen
        }
        var decision = ServerMadeChange(
            .update, fields: [conflict.field: value], of: record, in: table, for: principal, merge: merge, now: now,
            serverKey: serverKey)
        let first = try decision.start(at: head)
        self.decision = decision
        return try first ?? finish(decision.batch)
    }

    private mutating func finish(_ batch: PushBatch) throws -> FactRequest? {
        guard let result = batch.results.first, let seq = result.seq, result.status != .rejected,
            case let .some(.some(state)) = batch.states.first,
            case let .some(.some(conflict)) = facts.conflicts[id]
        else {
            throw ServerError(
                .rejected, "the chosen value is refused: \(batch.results.first?.reason?.rawValue ?? "rejected")")
        }
        writes = batch.writes
        writes.resolvedConflicts[id] = seq
        resolved = ConflictInfo(
            id: id, table: conflict.table, recordID: conflict.recordID, field: conflict.field,
            current: state[conflict.field], incoming: conflict.incoming, status: .resolved)
        return nil
    }
}
