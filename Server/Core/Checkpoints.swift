public import TandemProtocol

extension StoreAdapter {
    /// The highest seq in the history (0 when empty).
    public func headSeq() async throws -> Int64 { try await logHead().seq }

    /// The signed head: the checkpoint kept at the head when there is one; else the head is
    /// signed now and kept.
    ///
    /// - Throws: ``ServerError`` `empty` when the history is.
    public func checkpoint(now: Int64) async throws -> Checkpoint {
        let head = try await logHead()
        guard head.seq > 0 else { throw ServerError(.empty, "the history is empty") }
        if let kept = try await keptCheckpoint(at: head.seq) { return kept }
        return try await keep(
            Checkpoint(seq: head.seq, hash: head.hash, time: Timestamp.string(milliseconds: now), signedBy: serverKey))
    }

    /// The entry `seq` signed by the server's key, or the head when the history ends before
    /// `seq`. When `presented` (a checkpoint of the caller's) is signed by the server's key but
    /// the history no longer holds it, a ``RollbackReport`` is kept (up to
    /// ``ServerCore/maximumRollbackReports``) and returned.
    ///
    /// - Throws: ``ServerError`` `empty` when the history is.
    public func checkpoint(at seq: Int64, presenting presented: Checkpoint?, by principal: Principal, now: Int64)
        async throws -> (checkpoint: Checkpoint, report: RollbackReport?)
    {
        let time = Timestamp.string(milliseconds: now)
        // One read when the history holds `seq` (a pull's page always reaches an entry it holds);
        // the head only when it ends before.
        var hashes = try await hashes(at: Set([seq] + (presented.map { [$0.seq] } ?? [])))
        var target = seq
        var head: Int64?
        if hashes[seq] == nil {
            let current = try await logHead()
            (target, head) = (current.seq, current.seq)
            if current.seq > 0 { hashes[current.seq] = current.hash }
        }
        guard let hash = hashes[target] else { throw ServerError(.empty, "the history is empty") }
        let checkpoint = signedCheckpoints.checkpoint(seq: target, hash: hash, now: now, signedBy: serverKey)
        let held = presented.flatMap { hashes[$0.seq] }
        guard var presented, held != presented.hash else { return (checkpoint, nil) }
        // Only a checkpoint this server signed is evidence; anything else is a claim, and ignored.
        presented.publicKey = serverKey.publicKey
        guard presented.isSignatureValid else { return (checkpoint, nil) }
        let headSeq: Int64
        if let head { headSeq = head } else { headSeq = try await logHead().seq }
        let report = RollbackReport(
            presented: presented, headSeq: headSeq, storeHash: held, role: principal.role, tokenID: principal.tokenID,
            time: time)
        try await keep(report, upTo: ServerCore.maximumRollbackReports)
        return (checkpoint, report)
    }

    /// The store's head and every rollback report kept, oldest first (for `tandem-server verify`
    /// and the start-up check).
    public func rollbackReports() async throws -> (head: Int64, reports: [RollbackReport]) {
        let head = try await logHead().seq
        let publicKey = serverKey.publicKey
        let reports = try await keptRollbackReports().map { report in
            var report = report
            report.presented.publicKey = publicKey
            return report
        }
        return (head, reports)
    }
}
