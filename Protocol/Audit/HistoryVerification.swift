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
    /// Chunks of signatures being checked on other threads while the chain reads on, oldest first.
    private var inFlight: [Chunk] = []
    private var failure: AuditFailure?
    /// At most this many signatures wait or are checked at once (memory stays flat); they go to
    /// the cores in chunks of a sixteenth of it, so that every core stays busy without waiting
    /// for the slowest chunk of a batch.
    public var batchSize = 4096

    private var chunkSize: Int { max(1, batchSize / Self.chunksInFlight) }
    private static let chunksInFlight = 16

    public init() {}

    /// The server's key, from entry 1 (nil before it).
    public var serverKey: String? { verifier.serverKey }

    /// Takes in the next line. Returns false once something is wrong: the rest need not be read.
    public mutating func add(line: [UInt8]) -> Bool {
        guard failure == nil else { return false }
        do {
            if let check = try verifier.append(line: line) {
                pending.append(check)
                if pending.count >= chunkSize { launchPending() }
            }
        } catch {
            // A signature of an earlier entry may be bad too: the lowest seq is named.
            runPending()
            keep(error)
        }
        return failure == nil
    }

    /// The last entry taken in (nil before the first, or when the first was bad).
    public var last: LogEntry? { verifier.last }

    /// Records a problem the caller found in the entry just added (say, a store whose own
    /// columns disagree with the entry); the lowest seq is still the one reported.
    public mutating func fail(_ problem: AuditFailure) {
        runPending()
        keep(problem)
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

    /// Hands the collected signatures to a core, after waiting for the oldest chunk when
    /// ``chunksInFlight`` are out already (so memory stays flat).
    private mutating func launchPending() {
        if inFlight.count >= Self.chunksInFlight { collectOldest() }
        let chunk = Chunk(pending)
        pending = []
        pending.reserveCapacity(chunkSize)
        DispatchQueue.global().async(group: chunk.group) { chunk.run() }
        inFlight.append(chunk)
    }

    /// Waits for the oldest chunk out and keeps its failure.
    private mutating func collectOldest() {
        let chunk = inFlight.removeFirst()
        chunk.group.wait()
        if let found = chunk.failure { keep(found) }
    }

    /// Waits for every chunk out, then checks what is left on every core.
    private mutating func runPending() {
        while !inFlight.isEmpty { collectOldest() }
        guard !pending.isEmpty else { return }
        let checks = pending
        pending.removeAll(keepingCapacity: true)
        let parts = min(8, checks.count)
        let chunks = (0..<parts).map { part in
            Chunk(Array(checks[(part * checks.count / parts)..<((part + 1) * checks.count / parts)]))
        }
        DispatchQueue.concurrentPerform(iterations: parts) { chunks[$0].run() }
        for chunk in chunks { if let found = chunk.failure { keep(found) } }
    }

    private mutating func keep(_ found: AuditFailure) {
        if failure.map({ found.seq < $0.seq }) ?? true { failure = found }
    }
}

/// Signature checks run on another thread, in order, up to the first that fails; `failure` is
/// read after `group` is done (or `run` returned).
private final class Chunk: @unchecked Sendable {
    let group = DispatchGroup()
    private let checks: [SignatureCheck]
    private(set) var failure: AuditFailure?

    init(_ checks: [SignatureCheck]) { self.checks = checks }

    func run() {
        for check in checks {
            if let problem = check.run() {
                failure = problem
                return
            }
        }
    }
}
