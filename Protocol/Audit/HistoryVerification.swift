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
    /// The batch being checked on other threads while the chain reads on.
    private var inFlight: Batch?
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
                if pending.count >= batchSize { launchPending() }
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

    /// Starts checking the collected signatures on other threads, after collecting the batch
    /// before (so at most one batch is in flight, and memory stays flat).
    private mutating func launchPending() {
        collectInFlight()
        let batch = Batch(pending)
        pending = []
        pending.reserveCapacity(batchSize)
        DispatchQueue.global().async(group: batch.group) { batch.run() }
        inFlight = batch
    }

    /// Waits for the batch in flight and keeps its failure.
    private mutating func collectInFlight() {
        guard let batch = inFlight else { return }
        inFlight = nil
        batch.group.wait()
        keep(batch.firstFailure)
    }

    /// Runs every collected signature check now (after the batch in flight).
    private mutating func runPending() {
        collectInFlight()
        guard !pending.isEmpty else { return }
        let batch = Batch(pending)
        pending.removeAll(keepingCapacity: true)
        batch.run()
        keep(batch.firstFailure)
    }

    private mutating func keep(_ found: AuditFailure?) {
        guard let found else { return }
        if failure.map({ found.seq < $0.seq }) ?? true { failure = found }
    }
}

/// Signature checks run on every core (`DispatchQueue.concurrentPerform`), each chunk writing
/// only its own slot; read after `group` is done (or `run` returned).
private final class Batch: @unchecked Sendable {
    let group = DispatchGroup()
    private let checks: [SignatureCheck]
    private let results: UnsafeMutableBufferPointer<AuditFailure?>

    init(_ checks: [SignatureCheck]) {
        self.checks = checks
        results = .allocate(capacity: min(8, max(1, checks.count)))
        results.initialize(repeating: nil)
    }

    deinit {
        _ = results.deinitialize()
        results.deallocate()
    }

    func run() {
        let chunks = results.count
        let checks = checks
        nonisolated(unsafe) let output = results
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

    /// The failure at the lowest seq; call once the batch has run.
    var firstFailure: AuditFailure? { results.compactMap { $0 }.min { $0.seq < $1.seq } }
}
