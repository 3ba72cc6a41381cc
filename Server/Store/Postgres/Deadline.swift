import NIOCore
import NIOPosix
import Synchronization

/// A time limit on work that might otherwise wait for ever (a connection to a database that is
/// gone): whichever comes first answers — the work's result, or `expired()` once `limit` has
/// passed. Work past its deadline is cancelled and left to end on its own; its result is dropped.
enum Deadline {
    static func run<T: Sendable>(
        _ limit: Duration, expired: @escaping @Sendable () -> any Error,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        // On the caller's event loop when it runs on one (a request's: EventLoopPinnedChannel),
        // the work's task and the timer: no hop to another thread to start or to time it.
        let executor = EventLoopTaskExecutor.current
        let loop = executor?.loop ?? MultiThreadedEventLoopGroup.singleton.next()
        return try await withCheckedThrowingContinuation { continuation in
            race.waiting.withLock { $0 = continuation }
            let task = Task(executorPreference: executor) {
                let result: Result<T, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                race.timer.withLock { $0?.cancel() }
                race.waiting.withLock { $0.take() }?.resume(with: result)
            }
            let timer = loop.scheduleTask(in: .nanoseconds(Int64(limit / .nanoseconds(1)))) {
                guard let expiring = race.waiting.withLock({ $0.take() }) else { return }
                task.cancel()
                expiring.resume(throwing: expired())
            }
            race.timer.withLock { $0 = timer }
        }
    }

    /// Who answers first: the continuation is taken once.
    private final class Race<T: Sendable>: Sendable {
        let waiting = Mutex<CheckedContinuation<T, any Error>?>(nil)
        let timer = Mutex<Scheduled<Void>?>(nil)
    }
}
