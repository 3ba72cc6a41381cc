public import TandemProtocol

/// Erasing a record's personal data (`POST /v1/erase`, `tandem erase`; SPEC §8, docs/audit.md
/// "Personal data"): an `erase` change the server makes and signs for the coordinator who asked,
/// merged like any other (a ``PushBatch`` of one): the record keeps its id and its references,
/// its personal fields become null, and no change may edit it again (`erased`). In the same
/// transaction every opening of the record's values goes, and its conflicts on personal fields
/// are closed with their values dropped. The history keeps only commitments, so every hash and
/// signature still verifies.
///
/// Refused, with nothing written: a record that does not exist `not_found`; a table without
/// personal data `no_personal_data`; a deleted record `deleted`; one erased already `erased`.
public struct EraseWork: StoreWork {
    let request: EraseRequest
    let principal: Principal
    let merge: Merge
    let now: Int64
    let serverKey: SigningKey
    private var head = LogHead.empty
    private var erasure: ServerMadeChange?
    private var personal: Set<String> = []
    public private(set) var writes = BatchWrites()
    /// The erasure's entry and what it erased, once done (``EraseResponse/unerasable`` is the caller's to fill).
    public private(set) var response: EraseResponse?

    public init(_ request: EraseRequest, by principal: Principal, merge: Merge, now: Int64, serverKey: SigningKey) {
        self.request = request
        self.principal = principal
        self.merge = merge
        self.now = now
        self.serverKey = serverKey
    }

    public mutating func start(at head: LogHead) throws -> FactRequest? {
        self.head = head
        guard let table = try? merge.schema.table(named: request.table) else {
            throw ServerError(.notFound, "no table \(request.table)")
        }
        personal = table.personalFields
        guard !personal.isEmpty else {
            throw ServerError(
                .noPersonalData, "table \(table.name) holds no personal data: nothing to erase")
        }
        var asked = FactRequest()
        asked.records.insert(request.recordID)
        return asked
    }

    public mutating func advance(with facts: Facts) throws -> FactRequest? {
        if var erasure {
            let next = try erasure.advance(with: facts)
            self.erasure = erasure
            return try next ?? finish(erasure.batch)
        }
        guard case let .some(.some(record)) = facts.records[request.recordID], record.table == request.table else {
            throw ServerError(.notFound, "no \(request.table) \(request.recordID)")
        }
        if record.isDeleted { throw ServerError(.deleted, "\(request.table) \(record.id) is deleted") }
        if record.isErased { throw ServerError(.erased, "\(request.table) \(record.id) is erased already") }
        guard let table = try? merge.schema.table(named: record.table) else {
            throw ServerError(.notFound, "no table \(record.table)")
        }
        var erasure = ServerMadeChange(
            .erase, of: record, in: table, for: principal, merge: merge, now: now, serverKey: serverKey)
        let first = try erasure.start(at: head)
        self.erasure = erasure
        return try first ?? finish(erasure.batch)
    }

    private mutating func finish(_ batch: PushBatch) throws -> FactRequest? {
        guard let result = batch.results.first, let seq = result.seq, let version = result.version,
            result.status == .applied, case let .some(.some(state)) = batch.states.first
        else {
            throw ServerError(
                .rejected, "the erasure was refused: \(batch.results.first?.reason?.rawValue ?? "rejected")")
        }
        writes = batch.writes
        writes.erasures.append(ErasureRow(recordID: state.id, seq: seq, fields: personal))
        // The fields that held a value: the erasure set them (null), and its stamp is theirs.
        let erased = personal.filter { state.fields[$0]?.changeID == result.changeID }.sorted()
        response = EraseResponse(seq: seq, version: version, erased: erased, unerasable: 0)
        return nil
    }
}
