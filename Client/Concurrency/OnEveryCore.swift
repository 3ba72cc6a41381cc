import Dispatch
import Synchronization
package import TandemProtocol

/// Work spread over every core from the client's synchronous calls (a sync, a bundle, an audit
/// verify run on the caller's thread): Protocol stays pure of threads, the client fans out.
enum OnEveryCore {
    /// `transform` of every element, in order, worked out in `parts` runs of neighbours at once.
    static func map<Element: Sendable, Result: Sendable>(
        _ elements: [Element], parts: Int = 8, _ transform: @Sendable (Element) -> Result
    ) -> [Result] {
        let parts = max(1, min(parts, elements.count))
        let done = Mutex<[[Result]]>(Array(repeating: [], count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let range = (part * elements.count / parts)..<((part + 1) * elements.count / parts)
            let results = elements[range].map(transform)
            done.withLock { $0[part] = results }
        }
        return done.withLock { $0.flatMap { $0 } }
    }
}

extension Array where Element == Change {
    /// Every change signed by `key` (``Change/signed(with:)``), spread over the cores: signing
    /// is most of a client's cost of a large push. Ed25519 is deterministic, so signing the same
    /// frozen change again gives the same signature.
    package func signed(with key: SigningKey) -> [Change] {
        guard count > 64 else { return map { $0.signed(with: key) } }
        return OnEveryCore.map(self) { $0.signed(with: key) }
    }
}
