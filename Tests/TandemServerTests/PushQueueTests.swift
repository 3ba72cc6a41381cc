import Foundation
import Synchronization
import TandemProtocol
import TandemServer
import Testing

/// Group commit (``PushQueue``): pushes that arrive while one merges are merged together, each
/// getting back its own results, and a group that fails is taken apart so that one push's refusal
/// is no other's. The merge here is a test seam that records what it was given; the store suite
/// (`StoreSuiteGroupCommitTests`) pushes concurrently into real stores.
@Suite struct PushQueueTests {
    /// A change whose record id names it (what the seam answers with).
    static func item(_ name: String) -> ReceivedChange {
        ReceivedChange(
            change: Change(
                changeID: name, table: "round", recordID: name, op: .insert, fields: [:], baseVersion: 0,
                hlc: "001790000000000.00001.d", device: "d"),
            author: Author(organisation: nil, role: .coordinator), isSigned: true)
    }

    /// The seam's merge: one result a change (its record id as change id and its place in the
    /// call as seq), the calls it received, and a refusal of any call holding a change named `refused`.
    final class Merger: Sendable {
        let calls = Mutex<[[String]]>([])
        /// Opened once the first call may finish (it holds the lead while others queue).
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let firstStarted = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let holdsFirst: Bool

        init(holdsFirst: Bool) { self.holdsFirst = holdsFirst }

        func merge(_ items: [ReceivedChange], now: Int64) async throws -> [PushResult] {
            let names = items.map(\.change.recordID)
            let isFirst = calls.withLock { calls in
                calls.append(names)
                return calls.count == 1
            }
            if isFirst, holdsFirst {
                firstStarted.withLock { $0?.resume() }
                await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } }
            }
            if names.contains("refused") { throw ServerError(.plainPersonalValue, "refused") }
            return names.enumerated().map { index, name in
                PushResult(changeID: name, status: .applied, seq: Int64(index + 1), version: 1, reason: nil)
            }
        }

        func release() {
            gate.withLock { gate in
                gate?.resume()
                gate = nil
            }
        }
    }

    /// Starts pushes `second` (each a list of change names) while `first` is merging, and
    /// returns each push's change ids or its error code, by push, and the merge's calls.
    func run(first: [String], then second: [[String]], limit: Int = PushQueue.groupLimit) async throws -> (
        answers: [[String]], calls: [[String]]
    ) {
        let queue = PushQueue()
        queue.limit = limit
        let merger = Merger(holdsFirst: true)
        return try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            await withCheckedContinuation { started in
                merger.firstStarted.withLock { $0 = started }
                group.addTask {
                    let results = try await queue.push(first.map(Self.item), now: 1) {
                        try await merger.merge($0, now: $1)
                    }
                    return (0, results.map(\.changeID))
                }
            }
            for (index, push) in second.enumerated() {
                group.addTask {
                    do {
                        let results = try await queue.push(push.map(Self.item), now: Int64(index + 2)) {
                            try await merger.merge($0, now: $1)
                        }
                        return (index + 1, results.map(\.changeID))
                    } catch let error as ServerError {
                        return (index + 1, ["error: \(error.code.rawValue)"])
                    }
                }
                // Queued in this order, behind the first one's merge, before the next is sent.
                while queue.waitingCount < index + 1 { await Task.yield() }
            }
            merger.release()
            var answers = [[String]](repeating: [], count: second.count + 1)
            for try await (index, answer) in group { answers[index] = answer }
            return (answers, merger.calls.withLock { $0 })
        }
    }

    @Test func pushesThatArriveDuringAMergeAreMergedTogetherEachGettingItsOwnResults() async throws {
        let (answers, calls) = try await run(first: ["a"], then: [["b1", "b2"], ["c"], ["d1", "d2", "d3"]])
        #expect(answers == [["a"], ["b1", "b2"], ["c"], ["d1", "d2", "d3"]])
        // The first alone (nothing waited when it started), then the three that waited, in one call, in order.
        #expect(calls == [["a"], ["b1", "b2", "c", "d1", "d2", "d3"]])
    }

    @Test func aGroupThatFailsIsTakenApartSoThatARefusalIsThatPushsAlone() async throws {
        let (answers, calls) = try await run(first: ["a"], then: [["b"], ["refused", "x"], ["c"]])
        #expect(answers == [["a"], ["b"], ["error: plain_personal_value"], ["c"]])
        #expect(calls == [["a"], ["b", "refused", "x", "c"], ["b"], ["refused", "x"], ["c"]])
    }

    @Test func aGroupHoldsAtMostTheLimitOfChangesButAPushLargerThanItGoesAlone() async throws {
        let big = (0..<(PushQueue.groupLimit + 1)).map { "big\($0)" }
        let half = (0..<(PushQueue.groupLimit / 2)).map { "h\($0)" }
        let (answers, calls) = try await run(first: ["a"], then: [big, half, half.map { $0 + "'" }, ["z"]])
        #expect(answers.map(\.count) == [1, big.count, half.count, half.count, 1])
        #expect(calls.map(\.count) == [1, big.count, half.count * 2, 1])
    }

    @Test func aLimitOfOneMergesEveryPushAloneAsBeforeGroupCommit() async throws {
        let (answers, calls) = try await run(first: ["a"], then: [["b"], ["c"], ["d"]], limit: 1)
        #expect(answers == [["a"], ["b"], ["c"], ["d"]])
        #expect(calls == [["a"], ["b"], ["c"], ["d"]])
    }

    @Test func aLonePushIsMergedAtOnceAndItsErrorIsItsOwn() async throws {
        let queue = PushQueue()
        let merger = Merger(holdsFirst: false)
        let results = try await queue.push([Self.item("a")], now: 1) { try await merger.merge($0, now: $1) }
        #expect(results.map(\.changeID) == ["a"])
        await #expect(throws: ServerError.self) {
            _ = try await queue.push([Self.item("refused")], now: 2) { try await merger.merge($0, now: $1) }
        }
        // The queue is free again after a failure.
        let after = try await queue.push([Self.item("b")], now: 3) { try await merger.merge($0, now: $1) }
        #expect(after.map(\.changeID) == ["b"])
        #expect(merger.calls.withLock { $0 } == [["a"], ["refused"], ["b"]])
    }
}
