import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Keeps an instance's ``InstanceCache`` true: a connection of its own (named
/// ``applicationName`` in `pg_stat_activity`) that `LISTEN`s to ``InstanceCache/channel``,
/// applies every ``CacheEvent`` in the order PostgreSQL delivers them, and sends a heartbeat
/// through the same channel every ``InstanceCache/beat``, whose return renews the cache's lease.
/// A connection lost, or heartbeats that stop coming back, turn the cache off; the listener
/// connects again a second later.
struct CacheListener: Sendable {
    /// What the listener's connection is called in `pg_stat_activity`.
    static let applicationName = "tandem-cache"
    /// After this long without a heartbeat back, the connection is taken as lost.
    static let silence: Duration = .seconds(3)
    /// The thread the listeners of this process run on, their connections' and their tasks':
    /// on an event loop shared with requests, a notification waited behind every request of a
    /// busy instance, the heartbeats came back past the lease, and the cache turned itself off
    /// just when it saved most (docs/benchmarks.md).
    static let loop: any EventLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()

    let cache: InstanceCache
    /// A new connection to the database, named ``applicationName``.
    let connect: @Sendable () async throws -> PostgresConnection
    let logger: Logger
    /// This instance, in its heartbeats (the others' are ignored).
    let instance = UUID().uuidString.lowercased()

    private struct Lost: Error {}

    /// Listens until cancelled.
    func run() async {
        while !Task.isCancelled {
            do {
                let connection = try await connect()
                do {
                    try await listen(on: connection)
                } catch {
                    cache.lose()
                    try? await connection.close()
                    throw error
                }
            } catch {
                cache.lose()
                if !Task.isCancelled {
                    logger.debug("the cache's listener stopped: \(error); connecting again in 1 s")
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func listen(on connection: PostgresConnection) async throws {
        try await connection.listen(on: InstanceCache.channel) { notifications in
            // Whatever was read before the LISTEN took effect may have missed an event.
            cache.lose()
            let beats = Heartbeats()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    while true {
                        guard let number = beats.send() else { throw Lost() }
                        let payload = CacheEvent.beat(instance: instance, number: number).payload
                        try await connection.query(
                            "SELECT pg_notify(\(InstanceCache.channel), \(payload))", logger: logger)
                        try await Task.sleep(for: InstanceCache.beat)
                    }
                }
                group.addTask { [self] in
                    for try await notification in notifications {
                        switch CacheEvent(payload: notification.payload) {
                        case let .beat(from, number)? where from == instance:
                            if let sent = beats.back(number) { cache.confirm(sentAt: sent) }
                        case let event?: cache.apply(event)
                        case nil: cache.apply(.everything)
                        }
                    }
                    throw Lost()
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }
}

/// A listener's heartbeats in flight: when each was sent, and when the last came back.
private final class Heartbeats: Sendable {
    private struct State {
        var number: UInt64 = 0
        var sent: [UInt64: ContinuousClock.Instant] = [:]
        var lastBack = ContinuousClock.now
    }

    private let state = Mutex(State())

    /// The number of the next heartbeat, sent now; nil when none came back for ``CacheListener/silence``.
    func send() -> UInt64? {
        state.withLock { state in
            let now = ContinuousClock.now
            guard now - state.lastBack <= CacheListener.silence else { return nil }
            state.number += 1
            state.sent[state.number] = now
            return state.number
        }
    }

    /// Heartbeat `number` came back: when it was sent (nil for one not in flight).
    func back(_ number: UInt64) -> ContinuousClock.Instant? {
        state.withLock { state in
            guard let sent = state.sent[number] else { return nil }
            state.sent = state.sent.filter { $0.key > number }
            state.lastBack = .now
            return sent
        }
    }
}
