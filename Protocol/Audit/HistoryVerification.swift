/// Verifies a whole history as it streams past (``ChainVerifier`` for the chain), then the
/// checkpoints. What `tandem audit verify` and `tandem-server verify` run; memory stays flat
/// however long the history.
///
/// It is pure: it runs no thread of its own. The signatures, most of the cost, are handed out in
/// chunks (``takeSignatureChecks()``) for the caller to check on every core while it reads on
/// (``SignatureCheck/firstFailure(in:)``), reporting what it finds with ``fail(_:)``; whatever
/// the caller leaves, ``add(line:)`` and ``finish(checkpoints:hashAt:)`` check on the calling thread.
///
/// ```swift
/// var verification = HistoryVerification()
/// for line in lines {
///     guard verification.add(line: line) else { break }
///     let checks = verification.takeSignatureChecks()
///     if !checks.isEmpty { checkElsewhere(checks) }  // later: verification.fail(found) for each found
/// }
/// let report = verification.finish(checkpoints: kept) { seq in hashes[seq] }
/// report.failure  // nil when sound, else the first bad seq and what is wrong
/// ```
public struct HistoryVerification: Sendable {
    public struct Report: Hashable, Sendable {
        /// Entries verified (up to the failure, if any).
        public var entries: Int64
        public var headSeq: Int64
        public var headHash: String
        public var checkpoints: Int
        /// The first thing wrong, at the lowest seq; nil when the history is sound.
        public var failure: AuditFailure?

        /// `ok: N entries, head seq S <hash>, K checkpoints verified`.
        public var summary: String {
            "ok: \(entries) entr\(entries == 1 ? "y" : "ies"), head seq \(headSeq) \(headHash), \(checkpoints) "
                + "checkpoint\(checkpoints == 1 ? "" : "s") verified"
        }
    }

    private var verifier = ChainVerifier()
    /// Signatures collected and not yet handed out or checked.
    private var pending: [SignatureCheck] = []
    private var failure: AuditFailure?
    /// At most this many signatures wait or are checked at once, so memory stays flat: they are
    /// handed out in chunks of a sixteenth of it (``chunksInFlight`` chunks out at once keep every
    /// core busy without waiting for the slowest chunk); more than this many waiting, because no
    /// one took them, are checked on the calling thread.
    public var batchSize = 4096

    /// How many signatures ``takeSignatureChecks()`` hands out at once.
    public var chunkSize: Int { max(1, batchSize / Self.chunksInFlight) }
    /// How many chunks a caller keeps out at once (waiting for the oldest before it hands out more).
    public static let chunksInFlight = 16

    public init() {}

    /// The server's key, from entry 1 (nil before it).
    public var serverKey: String? { verifier.serverKey }

    /// Takes in the next line. Returns false once something is wrong: the rest need not be read.
    public mutating func add(line: [UInt8]) -> Bool {
        guard failure == nil else { return false }
        do {
            if let check = try verifier.append(line: line) {
                pending.append(check)
                if pending.count > batchSize { checkPending() }
            }
        } catch {
            // A signature of an earlier entry may be bad too: the lowest seq is named.
            keep(error)
        }
        return failure == nil
    }

    /// The next ``chunkSize`` signature checks once that many are collected, else none: for the
    /// caller to run (``SignatureCheck/firstFailure(in:)``), wherever it likes, and report with
    /// ``fail(_:)`` before ``finish(checkpoints:hashAt:)``.
    public mutating func takeSignatureChecks() -> [SignatureCheck] {
        guard pending.count >= chunkSize else { return [] }
        let chunk = pending
        pending = []
        pending.reserveCapacity(chunkSize)
        return chunk
    }

    /// The last entry taken in (nil before the first, or when the first was bad).
    public var last: LogEntry? { verifier.last }

    /// Records a problem the caller found — a signature it checked, or in the entry just added
    /// (say, a store whose own columns disagree with the entry); the lowest seq is the one reported.
    public mutating func fail(_ problem: AuditFailure) {
        keep(problem)
    }

    /// Checks the signatures not handed out, then each checkpoint against the history (`hashAt`:
    /// an entry's hash by seq, nil when there is none). Signatures handed out must have been
    /// checked, and their failures reported, before.
    public mutating func finish(checkpoints: [Checkpoint], hashAt: (Int64) -> String?) -> Report {
        checkPending()
        if failure == nil {
            for checkpoint in checkpoints {
                if let problem = verifier.check(checkpoint, hashAt: hashAt) {
                    failure = problem
                    break
                }
            }
        }
        return Report(
            entries: verifier.seq, headSeq: verifier.seq, headHash: verifier.hash, checkpoints: checkpoints.count,
            failure: failure)
    }

    /// Checks the signatures not handed out, here.
    private mutating func checkPending() {
        if let found = SignatureCheck.firstFailure(in: pending) { keep(found) }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func keep(_ found: AuditFailure) {
        if failure.map({ found.seq < $0.seq }) ?? true { failure = found }
    }
}

extension SignatureCheck {
    /// The first of `checks` (they are in seq order) whose signature does not verify, nil when
    /// all do. Pure: callers run chunks of a history's checks on as many cores as they have.
    public static func firstFailure(in checks: some Sequence<SignatureCheck>) -> AuditFailure? {
        for check in checks {
            if let problem = check.run() { return problem }
        }
        return nil
    }
}
