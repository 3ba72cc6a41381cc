import Synchronization
public import TandemProtocol

/// The checkpoints a server signed in the last second, by seq, so that the pulls of one second
/// that reach the same entry (every no-op pull reaches the head) share one Ed25519 signature.
///
/// A kept checkpoint is served only for the seq *and hash* the caller has just read from the
/// history: it is then a true signed statement of an entry the history holds, whatever another
/// instance on the same database wrote meanwhile (a history that went back and grew again holds
/// another hash at that seq, and gets a new signature). Its `time` says when it was signed: at
/// most ``lifetime`` before the answer.
public final class SignedCheckpoints: Sendable {
    /// How long (milliseconds) a signature is served again.
    public static let lifetime: Int64 = 1000
    /// The most checkpoints kept: beyond it, the expired ones are dropped (all, if none is).
    static let capacity = 64

    private struct Signed {
        var checkpoint: Checkpoint
        var signedAt: Int64
    }

    private let kept = Mutex<[Int64: Signed]>([:])

    public init() {}

    /// The entry `seq` whose hash is `hash` (as just read from the history) signed by `key`: the
    /// signature made for it in the last ``lifetime`` when there is one, else a new one.
    public func checkpoint(seq: Int64, hash: String, now: Int64, signedBy key: SigningKey) -> Checkpoint {
        let found = kept.withLock { $0[seq] }
        if let found, found.checkpoint.hash == hash, found.checkpoint.publicKey == key.publicKey,
            found.signedAt <= now, now - found.signedAt < Self.lifetime
        {
            return found.checkpoint
        }
        let signed = Checkpoint(seq: seq, hash: hash, time: Timestamp.string(milliseconds: now), signedBy: key)
        kept.withLock { kept in
            if kept.count >= Self.capacity {
                kept = kept.filter { now - $0.value.signedAt < Self.lifetime }
                if kept.count >= Self.capacity { kept.removeAll(keepingCapacity: true) }
            }
            kept[seq] = Signed(checkpoint: signed, signedAt: now)
        }
        return signed
    }
}
