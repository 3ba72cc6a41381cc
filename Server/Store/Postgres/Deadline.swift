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
        return try await withCheckedThrowingContinuation { continuation in
            race.waiting.withLock { $0 = continuation }
            let task = Task {
                let result: Result<T, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                race.timer.withLock { $0?.cancel() }
                race.waiting.withLock { $0.take() }?.resume(with: result)
            }
            let timer = Task {
                do { try await Task.sleep(for: limit) } catch { return }
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
        let timer = Mutex<Task<Void, Never>?>(nil)
    }
}
