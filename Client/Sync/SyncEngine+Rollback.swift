import TandemProtocol

extension SyncEngine {
    /// The most kept checkpoints asked about while looking for the newest seq at which the
    /// server's history and this replica's still agree; beyond it, from the start.
    static let forkSearchLimit = 16

    /// Checks, at the start of a sync, that the server's history still holds what this replica
    /// has seen, and repairs when it does not (docs/operations.md):
    ///
    /// - the newest checkpoint its pulls kept is presented to the server; when the server's
    ///   history ends before it (went back) or holds another entry there (forked), the replica
    ///   looks for the newest kept checkpoint the server still holds, hands back every change
    ///   seen after it that it may carry, and moves its cursor back;
    /// - its own changes acknowledged after that checkpoint (their pull did not follow) are
    ///   handed back: the server answers `duplicate` for those it still holds; any other answer
    ///   means it had lost them (went back and moved on past their seqs), which is said too.
    ///
    /// A repair interrupted before is resumed, from where both still agree.
    ///
    /// - Returns: the rollback found (or being repaired); nil when the history holds.
    func checkServerHistory() throws(ReplicaError) -> RollbackState? {
        let held = try replica.heldHistory()
        guard var state = try replica.rollbackState() else { return try check(held) }
        guard !state.isRewound else {
            // Only the pull was left; but the server may have gone back again since.
            return try check(held) ?? state
        }
        // The server may have gone back further since: resume from where both still agree.
        state.forkSeq = try forkSeq(among: held.checkpoints, below: state.forkSeq + 1)
        try replica.beginRollbackRepair(state)
        return try repair(state)
    }

    /// The check itself, with no repair pending.
    private func check(_ held: (checkpoints: [Checkpoint], acknowledged: Int64?)) throws(ReplicaError)
        -> RollbackState?
    {
        // A server that sends no checkpoints (older than this tandem) cannot be checked.
        guard let newest = held.checkpoints.first else { return nil }
        let answer = try api.checkpoint(CheckpointQuery(presenting: newest))
        let kind: RollbackState.Kind
        let serverSeq: Int64
        switch SyncRules.check(seq: newest.seq, hash: newest.hash, answer: answer) {
        case .holds: return try handBackUnconfirmed(after: newest.seq, held)
        case let .wentBack(head): (kind, serverSeq) = (.wentBack, head)
        case .forked: (kind, serverSeq) = (.forked, newest.seq)
        }
        let state = RollbackState(
            kind: kind, heldSeq: newest.seq, serverSeq: serverSeq,
            forkSeq: try forkSeq(among: held.checkpoints, below: kind == .wentBack ? serverSeq + 1 : newest.seq),
            detectedAt: Replica.timestamp(replica.clock.now()))
        try replica.beginRollbackRepair(state)
        return try repair(state)
    }

    /// Hands back this replica's own changes acknowledged after `seq` (the newest checkpoint it
    /// pulled, which the server still holds). Nil when the server still had them all.
    private func handBackUnconfirmed(
        after seq: Int64, _ held: (checkpoints: [Checkpoint], acknowledged: Int64?)
    ) throws(ReplicaError) -> RollbackState? {
        guard let acknowledged = held.acknowledged, acknowledged > seq else { return nil }
        let changes = try replica.changesToHandBack(after: seq).filter(\.isOwn)
        let handedBack = try handBack(changes, after: seq).handedBack
        guard handedBack > 0 else { return nil }
        // Nothing this replica pulled is affected (it had pulled no further than `seq`): only the
        // pull that follows is left.
        let state = RollbackState(
            kind: .lost, heldSeq: acknowledged, serverSeq: seq, forkSeq: seq,
            detectedAt: Replica.timestamp(replica.clock.now()), handedBack: handedBack, isRewound: true,
            pulledFrom: try replica.cursor())
        try replica.saveRollbackState(state)
        return state
    }

    /// The newest kept checkpoint below `bound` that the server still holds (0 when none is found).
    private func forkSeq(among checkpoints: [Checkpoint], below bound: Int64) throws(ReplicaError) -> Int64 {
        for checkpoint in checkpoints.filter({ $0.seq < bound }).prefix(Self.forkSearchLimit) {
            let answer = try api.checkpoint(CheckpointQuery(seq: checkpoint.seq))
            if SyncRules.check(seq: checkpoint.seq, hash: checkpoint.hash, answer: answer) == .holds {
                return checkpoint.seq
            }
        }
        return 0
    }

    /// Hands back what the server may have lost (after `state.forkSeq`), then moves the
    /// replica back.
    private func repair(_ state: RollbackState) throws(ReplicaError) -> RollbackState {
        let changes = try replica.changesToHandBack(after: state.forkSeq)
        let (handedBack, covered) = try handBack(changes, after: state.forkSeq)
        var repaired = state
        repaired.handedBack = handedBack
        return try replica.rewind(repaired, covered: covered)
    }

    /// Pushes `changes` again, in batches, and records the answers. The device key is registered
    /// again first: the server may have lost its registration too.
    ///
    /// - Returns: how many the server took as new (not `duplicate`), and the records whose
    ///   changes it logged after `fork` (the next pull brings them as they now stand).
    private func handBack(_ changes: [Replica.HandBack], after fork: Int64) throws(ReplicaError) -> (
        handedBack: Int, covered: Set<String>
    ) {
        guard !changes.isEmpty else { return (0, []) }
        let changes = try sealedForHandBack(changes)
        try replica.remote.forgetDeviceRegistration()
        try registerDevice()
        var covered = Set<String>()
        var handedBack = 0
        var start = changes.startIndex
        while start < changes.endIndex {
            let batch = Array(changes[start..<min(start + batchSize, changes.endIndex)])
            let changes = batch.map(\.change)
            let results = try api.push(changes, values: try replica.openings(for: changes))
            try replica.recordHandedBack(results, for: batch)
            for (item, result) in zip(batch, results) {
                if let seq = result.seq, seq > fork { covered.insert(item.change.recordID) }
                if result.status != .duplicate { handedBack += 1 }
            }
            start += batch.count
        }
        return (handedBack, covered)
    }

    /// `changes` as a server that commits to personal values takes them: this replica's own
    /// changes signed before it committed to them (a personal value in plain) sealed and signed
    /// again — the same change, under its id; others' such changes, which only their devices can
    /// sign again, left out (the server would refuse the whole push).
    private func sealedForHandBack(_ changes: [Replica.HandBack]) throws(ReplicaError) -> [Replica.HandBack] {
        guard changes.contains(where: { replica.holdsPlainPersonalValue($0.change) }) else { return changes }
        let key = try replica.deviceKey()
        var sealed: [Replica.HandBack] = []
        for var item in changes {
            guard replica.holdsPlainPersonalValue(item.change) else {
                sealed.append(item)
                continue
            }
            guard item.isOwn else { continue }
            var change = item.change
            change.signature = nil
            let result = change.sealed(personal: replica.schema.personalFields(of: change.table), salts: SaltKey(key))
            try replica.keepOpenings(result.openings, of: change)
            item.change = result.change.signed(with: key)
            sealed.append(item)
        }
        return sealed
    }
}
