import Synchronization
public import TandemProtocol

/// Group commit: pushes that arrive while a push's write transaction runs wait, and are then
/// merged together in one transaction (one head read, one round of facts, one write a table,
/// one sync of the log) instead of one transaction each.
///
/// The group merges as the same pushes one after another would: ``PushBatch`` merges its items
/// in order, each judged as its own author, so a change sees the earlier pushes' changes exactly
/// as it would after their commits, and each push gets back the results of its own changes. A
/// group whose transaction fails is taken apart: each push then runs alone, so that one push's
/// refusal (a batch refused whole, `plain_personal_value`) is its own and no other's.
///
/// One push at a time leads: it runs the group waiting when it started (itself first), answers
/// every push of it, and hands the lead to the first push that arrived meanwhile. A push never
/// waits behind more than the group before it. One object for a store's lifetime (every
/// request a process serves shares it; instances sharing a database each have their own, their
/// transactions serialised by the store as before).
public final class PushQueue: Sendable {
    /// The most changes merged in one group by default (a push larger than this is a group alone).
    public static let groupLimit = 2000

    struct Waiting {
        var items: [ReceivedChange]
        var now: Int64
        var answer: CheckedContinuation<Turn, any Error>
    }

    enum Turn {
        /// The push was merged in another's group: its results.
        case done([PushResult])
        /// The push leads the next group.
        case lead
    }

    private struct State {
        var isLeading = false
        var waiting: [Waiting] = []
        var limit = PushQueue.groupLimit
    }

    private let state = Mutex(State())

    public init() {}

    /// The pushes waiting for a group (the one merging now not counted).
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// The most changes a group merges (``groupLimit`` unless set): 1 merges every push alone,
    /// one transaction each, as before group commit (the benchmark compares the two).
    public var limit: Int {
        get { state.withLock { $0.limit } }
        set { state.withLock { $0.limit = max(1, newValue) } }
    }

    /// The results of `items` (in order), merged by `merge` — one transaction for a group of
    /// pushes: their items in arrival order, with the latest of their times.
    public func push(
        _ items: [ReceivedChange], now: Int64,
        merge: @Sendable ([ReceivedChange], Int64) async throws -> [PushResult]
    ) async throws -> [PushResult] {
        let turn: Turn = try await withCheckedThrowingContinuation { continuation in
            let leads = state.withLock { state in
                state.waiting.append(Waiting(items: items, now: now, answer: continuation))
                defer { state.isLeading = true }
                return !state.isLeading
            }
            if leads { continuation.resume(returning: .lead) }
        }
        switch turn {
        case let .done(results): return results
        case .lead: break
        }
        let group = state.withLock { state in Self.takeGroup(from: &state.waiting, limit: state.limit) }
        let own = await run(group, merge: merge)
        // The lead passes to the first push that arrived meanwhile (nobody leads when none did).
        let next = state.withLock { state -> Waiting? in
            guard let first = state.waiting.first else {
                state.isLeading = false
                return nil
            }
            return first
        }
        next?.answer.resume(returning: .lead)
        return try own.get()
    }

    /// The pushes of the next group, in arrival order: the first whatever its size, then those
    /// that fit within `limit` changes.
    private static func takeGroup(from waiting: inout [Waiting], limit: Int) -> [Waiting] {
        var count = 0
        var taken = 0
        for push in waiting {
            guard taken == 0 || count + push.items.count <= limit else { break }
            count += push.items.count
            taken += 1
        }
        defer { waiting.removeFirst(taken) }
        return Array(waiting.prefix(taken))
    }

    /// Merges `group` in one transaction, or each push alone when that fails; answers every push
    /// of it but the first (the leader's, whose outcome it returns).
    private func run(
        _ group: [Waiting], merge: ([ReceivedChange], Int64) async throws -> [PushResult]
    ) async -> Result<[PushResult], any Error> {
        func attempt(_ items: [ReceivedChange], _ now: Int64) async -> Result<[PushResult], any Error> {
            do { return .success(try await merge(items, now)) } catch { return .failure(error) }
        }
        var outcomes: [Result<[PushResult], any Error>] = []
        let items = group.flatMap(\.items)
        if group.count > 1, case let .success(results) = await attempt(items, group.map(\.now).max() ?? 0) {
            // Committed: never merged again, whatever it answered.
            var rest = results[...]
            for push in group {
                let own = Array(rest.prefix(push.items.count))
                rest = rest.dropFirst(push.items.count)
                outcomes.append(
                    own.count == push.items.count
                        ? .success(own)
                        : .failure(
                            ServerError(
                                .storage, "the merge answered \(results.count) results for \(items.count) changes")))
            }
        } else {
            for push in group { outcomes.append(await attempt(push.items, push.now)) }
        }
        for (push, outcome) in zip(group, outcomes).dropFirst() {
            push.answer.resume(with: outcome.map(Turn.done))
        }
        return outcomes[0]
    }
}
