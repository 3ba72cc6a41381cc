public import TandemProtocol

/// The history's head as a batch extends it: each entry takes the next seq (gap-free) and is
/// chained on the one before (SPEC §8); every ``ServerCore/checkpointInterval`` entries the head
/// is signed with the server's key and kept.
public struct LogChain: Sendable {
    public private(set) var head: LogHead
    let serverKey: SigningKey
    /// The salts of the server's own commitments (an outcome's personal values, SPEC §8).
    let salts: SaltKey

    public init(head: LogHead, serverKey: SigningKey) {
        self.head = head
        self.serverKey = serverKey
        salts = SaltKey(serverKey)
    }

    /// Logs `change` at `now` with its outcome into `writes` and returns its seq.
    ///
    /// - Parameter isSigned: false for a change whose signature did not verify (kept as
    ///   evidence; it does not hold its change id).
    /// - Parameter canonical: the change's RFC 8785 bytes when the caller has them (``ReceivedChange``).
    public mutating func append(
        _ change: Change, canonical: [UInt8]? = nil, by author: Author, outcome: Outcome, now: Int64,
        isSigned: Bool = true, to writes: inout BatchWrites
    ) -> Int64 {
        let seq = head.seq + 1
        let time = Timestamp.string(milliseconds: now)
        let (hash, line) = LogEntry.chainedLine(
            seq: seq, time: time, author: author, change: canonical ?? change.json.canonicalBytes(),
            outcome: outcome.json, prevHash: head.hash)
        writes.log.append(
            LogRow(
                seq: seq, changeID: change.changeID, time: time, table: change.table, recordID: change.recordID,
                line: line, prevHash: head.hash, hash: hash, isSigned: isSigned,
                item: PullItem.Entry(change, author: author, time: time, outcome: outcome).json.serialized()))
        head = LogHead(seq: seq, hash: hash)
        if seq % ServerCore.checkpointInterval == 0 {
            writes.checkpoints.append(Checkpoint(seq: seq, hash: hash, time: time, signedBy: serverKey))
        }
        return seq
    }
}
