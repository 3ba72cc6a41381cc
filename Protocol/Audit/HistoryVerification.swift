import Dispatch

/// Verifies a whole history as it streams past (``ChainVerifier`` for the chain), checking the
/// signatures in batches on every core, then the checkpoints. What `tandem audit verify` and
/// `tandem-server verify` run; memory stays flat however long the history.
///
/// ```swift
/// var verification = HistoryVerification()
/// for line in lines where !verification.add(line: line) { break }
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
    private var pending: [SignatureCheck] = []
    private var failure: AuditFailure?
    /// Signatures collected before they are checked together.
    public var batchSize = 4096

    public init() {}

    /// The server's key, from entry 1 (nil before it).
    public var serverKey: String? { verifier.serverKey }

    /// Takes in the next line. Returns false once something is wrong: the rest need not be read.
    public mutating func add(line: [UInt8]) -> Bool {
        guard failure == nil else { return false }
        do {
            if let check = try verifier.append(line: line) {
                pending.append(check)
                if pending.count >= batchSize { runPending() }
            }
        } catch {
            // A signature of an earlier entry may be bad too: the lowest seq is named.
            runPending()
            failure = failure ?? error
        }
        return failure == nil
    }

    /// The last entry taken in (nil before the first, or when the first was bad).
    public var last: LogEntry? { verifier.last }

    /// Records a problem the caller found in the entry just added (say, a store whose own
    /// columns disagree with the entry); the lowest seq is still the one reported.
    public mutating func fail(_ problem: AuditFailure) {
        runPending()
        if failure.map({ problem.seq < $0.seq }) ?? true { failure = problem }
    }

    /// Checks what is left, then each checkpoint against the history (`hashAt`: an entry's hash
    /// by seq, nil when there is none).
    public mutating func finish(checkpoints: [Checkpoint], hashAt: (Int64) -> String?) -> Report {
        runPending()
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

    /// Runs the collected signature checks on every core; keeps the failure at the lowest seq.
    private mutating func runPending() {
        let checks = pending
        pending.removeAll(keepingCapacity: true)
        guard !checks.isEmpty else { return }
        let chunks = min(8, checks.count)
        var results = [AuditFailure?](repeating: nil, count: chunks)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let lower = chunk * checks.count / chunks
                let upper = (chunk + 1) * checks.count / chunks
                for index in lower..<upper {
                    if let problem = checks[index].run() {
                        output[chunk] = problem
                        return
                    }
                }
            }
        }
        if let first = results.compactMap({ $0 }).min(by: { $0.seq < $1.seq }) {
            if failure.map({ first.seq < $0.seq }) ?? true { failure = first }
        }
    }
}
