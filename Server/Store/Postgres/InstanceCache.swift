import Synchronization
import TandemProtocol

/// What one `serve` instance keeps in memory of a PostgreSQL store, so that the commonest
/// request — a no-op sync: a token pulling from the head — asks the database nothing: the
/// tokens it has seen that stand for a principal, and the head (a pull behind it reads only its page).
///
/// It is kept true by what every write tells every instance (``CacheEvent``, a `NOTIFY` sent when
/// the write commits) and trusted only under a lease: the instance's own ``CacheListener`` sends
/// a heartbeat through the same channel every ``beat``, and the cache is used only while its last
/// heartbeat came back less than ``lease`` after it was sent. PostgreSQL delivers notifications in
/// commit order, so a heartbeat that came back was preceded by every event committed before it
/// was sent. Hence:
///
/// - a token revoked (``PostgresServerStore/revokeToken(hash:at:)``, which waits ``lease`` and a
///   beat after its commit before it returns) is refused by every instance once the revocation returns;
/// - a change committed through another instance is seen within the notification's delivery,
///   and never later than ``lease``; through this instance, at once (``committed(_:)``);
/// - a lost listener, or one whose heartbeats stop, turns the cache off until it is listening
///   again; everything is then read from the database, as without a cache.
///
/// A fill from a database read is kept only when no event that may contradict it (a token's, a
/// schema's, a loss) arrived since the read began (``ReadMark``).
///
/// Heads only move on — unless the database was restored from an older copy behind the
/// instances' backs, which no event tells. So the head is used only while a read of the
/// database confirmed it less than ``headAge`` ago, and a read that began after the head was
/// learnt and finds a lower one empties the cache: the replicas' own check of a restore
/// (docs/operations.md) then sees the database's true head within ``headAge``.
final class InstanceCache: Sendable {
    /// How long after a heartbeat was sent its return lets the cache be used.
    static let lease: Duration = .milliseconds(500)
    /// How often the listener sends a heartbeat.
    static let beat: Duration = .milliseconds(100)
    /// The channel of ``CacheEvent``s.
    static let channel = "tandem_cache"
    /// Tokens kept at most (a programme's are thousands); past it, the cache starts again.
    static let maximumTokens = 100_000
    /// How long a read's confirmation of the head lasts (one read a second an instance at most).
    static let headAge: Duration = .seconds(1)

    /// When a read began, and the cache's epoch then: a number that changes whenever an event
    /// that may contradict the read arrives (its fill is kept only if it did not change).
    struct ReadMark {
        var epoch: UInt64
        var began: ContinuousClock.Instant
    }

    private struct State {
        var trustedUntil: ContinuousClock.Instant?
        /// How many times the cache was turned off (``lose()``).
        var losses = 0
        var epoch: UInt64 = 0
        var tokens: [String: TokenLookup] = [:]
        /// The head, once a read (since the last schema event or loss) has given it: events and
        /// this instance's commits move it on, never back.
        var head: LogHead?
        /// When ``head`` was learnt (a read, an event, a commit of this instance).
        var learnt = ContinuousClock.now
        /// When the last read that found the head at or past ``head`` began.
        var confirmed: ContinuousClock.Instant?

        mutating func move(to head: LogHead, at now: ContinuousClock.Instant) {
            guard let known = self.head, head.seq > known.seq else { return }
            self.head = head
            learnt = now
        }

        mutating func forget() {
            epoch &+= 1
            tokens = [:]
            head = nil
            confirmed = nil
        }

        /// Whether the lease of the last heartbeat still runs at `now`.
        func isTrusted(at now: ContinuousClock.Instant) -> Bool { trustedUntil.map { now < $0 } ?? false }
    }

    private let state = Mutex(State())

    /// Marks the beginning of a read whose findings may fill the cache.
    func mark(now: ContinuousClock.Instant = .now) -> ReadMark {
        state.withLock { ReadMark(epoch: $0.epoch, began: now) }
    }

    /// The token whose hash is `hash` and the head, for a pull from `since`: only when the cache
    /// is trusted, knows the token, and `since` is not past the head (at the head, a no-op pull
    /// that reads nothing; behind it, a pull that reads its page up to this head).
    func pull(hash: String, since: Int64, now: ContinuousClock.Instant = .now) -> (TokenLookup, LogHead)? {
        state.withLock { state in
            guard state.isTrusted(at: now), let head = state.head, since <= head.seq,
                let confirmed = state.confirmed, now - confirmed < Self.headAge, let token = state.tokens[hash]
            else { return nil }
            return (token, head)
        }
    }

    /// Whether the cache may be used now (its lease holds).
    func isTrusted(now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in state.isTrusted(at: now) }
    }

    /// The token whose hash is `hash`, when the cache is trusted and knows it.
    func token(hash: String, now: ContinuousClock.Instant = .now) -> TokenLookup? {
        state.withLock { state in
            guard state.isTrusted(at: now) else { return nil }
            return state.tokens[hash]
        }
    }

    /// Keeps what the read `read` found: the token (when it stands for a principal) and the
    /// head (a later one is kept, and confirmed). A lower head found by a read that began after
    /// the cached one was learnt means the history went back (a restore): nothing is kept.
    func fill(hash: String, token: TokenLookup?, head: LogHead?, read: ReadMark, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.epoch == read.epoch else { return }
            if let head {
                if let known = state.head, head.seq < known.seq {
                    if read.began > state.learnt { state.forget() }
                    return
                }
                if state.head == nil {
                    state.head = head
                    state.learnt = now
                } else {
                    state.move(to: head, at: now)
                }
                state.confirmed = max(state.confirmed ?? read.began, read.began)
            }
            if let token, token.principal != nil {
                if state.tokens.count >= Self.maximumTokens { state.tokens = [:] }
                state.tokens[hash] = token
            }
        }
    }

    /// This instance committed up to `head` (it answers its own writers at once).
    func committed(_ head: LogHead, now: ContinuousClock.Instant = .now) {
        state.withLock { $0.move(to: head, at: now) }
    }

    /// Takes `event` into account.
    func apply(_ event: CacheEvent) {
        state.withLock { state in
            switch event {
            case let .head(head):
                state.move(to: head, at: .now)
            case let .revoked(hash):
                state.epoch &+= 1
                state.tokens[hash] = nil
            case let .deleted(records):
                state.epoch &+= 1
                let gone = Set(records)
                state.tokens = state.tokens.filter { entry in
                    entry.value.row.organisation.map { !gone.contains($0) } ?? true
                }
            case .everything, .schema:
                state.forget()
            case .beat:
                break
            }
        }
    }

    /// The listener's heartbeat sent at `sent` came back: trusted until ``lease`` after it.
    func confirm(sentAt sent: ContinuousClock.Instant) {
        state.withLock { state in
            let until = sent.advanced(by: Self.lease)
            if until > state.trustedUntil ?? sent { state.trustedUntil = until }
        }
    }

    /// The listener is gone: nothing is trusted or kept until it listens again.
    func lose() {
        state.withLock { state in
            state.forget()
            state.trustedUntil = nil
            state.losses += 1
        }
    }

    /// How many times the cache was turned off: a listener that connects, loses its connection
    /// or stops hearing its heartbeats.
    var losses: Int { state.withLock { $0.losses } }

    /// Whether the cache is trusted now, and its losses.
    var status: InstanceCacheStatus {
        let now = ContinuousClock.now
        return state.withLock { state in
            InstanceCacheStatus(isTrusted: state.isTrusted(at: now), losses: state.losses)
        }
    }
}
