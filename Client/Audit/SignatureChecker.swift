import Dispatch
import Synchronization
import TandemProtocol

/// Checks a history's signatures on other cores while the caller reads on: the chunks
/// ``HistoryVerification`` hands out go to Dispatch's pool, at most
/// ``HistoryVerification/chunksInFlight`` at once (so memory stays flat), and the lowest seq
/// that fails is kept. For a synchronous caller (`verifyAudit` reads inside a database read).
final class SignatureChecker: Sendable {
    private let group = DispatchGroup()
    private let slots = DispatchSemaphore(value: HistoryVerification.chunksInFlight)
    private let lowest = Mutex<AuditFailure?>(nil)

    /// Starts checking `checks` on another core, after waiting for a free slot.
    func check(_ checks: [SignatureCheck]) {
        guard !checks.isEmpty else { return }
        slots.wait()
        DispatchQueue.global().async(group: group) { [self] in
            defer { slots.signal() }
            guard let found = SignatureCheck.firstFailure(in: checks) else { return }
            lowest.withLock { failure in
                if failure.map({ found.seq < $0.seq }) ?? true { failure = found }
            }
        }
    }

    /// The lowest failure found so far (chunks may still be out).
    var failure: AuditFailure? { lowest.withLock { $0 } }

    /// Waits for every chunk handed out; the lowest failure among them.
    func wait() -> AuditFailure? {
        group.wait()
        return failure
    }
}
