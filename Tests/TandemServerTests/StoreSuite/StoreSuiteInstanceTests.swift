import Synchronization
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Two instances on one store (SPEC §4: several `serve` processes on one database; admin commands
/// beside a running server): the same storage opened twice (``StoreUnderTest/another``). Whatever
/// instance a request reaches, there is one history, one set of tokens, one set of conflicts and
/// one schema.
@Suite struct StoreSuiteInstanceTests {
    @Test(arguments: StoreKind.allCases)
    func pushesThroughTwoInstancesAtOnceFormOneHistory(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        let head = try await bench.store.headSeq()
        let organisations = [bench.ministry, bench.company]
        let batches = try await withThrowingTaskGroup(of: [PushResult].self) { group in
            for (index, store) in [bench.store, other].enumerated() {
                let principal = bench.member(organisations[index])
                let changes = (0..<40).map { number in
                    bench.insert(
                        "person", bench.newID(), bench.personFields(organisations[index], "P\(index)-\(number)"))
                }
                group.addTask {
                    var results: [PushResult] = []
                    for first in stride(from: 0, to: changes.count, by: 5) {
                        results += try await store.pushSigned(
                            Array(changes[first..<(first + 5)]), by: principal, now: bench.now)
                    }
                    return results
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(batches.count == 80 && batches.allSatisfy { $0.status == .applied })
        #expect(Set(batches.compactMap(\.seq)) == Set((head + 1)...(head + 80)), "seqs gap-free, each once")
        let lines = try await other.history(since: 0, limit: 10_000)
        #expect(lines.map(\.seq) == Array(1...(head + 80)))
        #expect(try await bench.store.verify().failure == nil)
        #expect(try await other.verify().failure == nil)
        // Both instances answer a pull alike.
        let first = try await bench.store.pull(since: 0, limit: 1000, for: bench.coordinator)
        let second = try await other.pull(since: 0, limit: 1000, for: bench.coordinator)
        #expect(first.items == second.items && first.next == second.next)
    }

    @Test(arguments: StoreKind.allCases)
    func tokensIssuedOrRevokedThroughOneHoldOnTheOtherAtOnce(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        let token = try await bench.store.issueToken(role: .member, organisation: bench.town, now: bench.now)
        #expect(try await other.authenticate(token: token)?.organisation == bench.town)
        #expect(try await other.revoke(token: token, now: bench.now))
        #expect(try await bench.store.authenticate(token: token) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aConflictOpenedThroughOneIsResolvedThroughTheOther(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        let (exchange, opened) = try await bench.openConflict()
        let open = try await other.conflicts(for: bench.coordinator, includeResolved: false)
        let conflict = try #require(open.first)
        #expect(conflict.id == opened.id, "the other instance lists the conflict")
        let resolved = try await other.resolve(
            conflict: conflict.id, with: .keepIncoming, by: bench.coordinator, now: bench.now)
        #expect(resolved.status == .resolved)
        #expect(try await bench.conflicts().isEmpty)
        #expect(try await bench.record(exchange)?.record?["starts_on"] == .string("2026-05-06"))
    }

    @Test(arguments: StoreKind.allCases)
    func aSchemaInstalledThroughOneIsTakenUpByTheOther(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        var proposed = try await bench.store.currentSchema()
        proposed.tables.append(TableSchema(name: "visit", fields: [FieldSchema(name: "notes", type: .text)]))
        let (installed, _) = try await bench.store.applySchema(proposed, now: bench.now)
        // The other instance's next pull page tells replicas of it, before it writes anything.
        let page = try await other.pull(since: 0, limit: 10, for: bench.coordinator)
        #expect(page.schemaVersion == installed.version)
        #expect(try await other.currentSchema() == installed)
        let results = try await other.pushSigned(
            [bench.insert("visit", bench.newID(), ["notes": .string("first")])], by: bench.coordinator, now: bench.now)
        #expect(results.map(\.status) == [.applied], "\(results)")
    }
}

extension StoreSuiteInstanceTests {
    /// A pull that runs while pushes commit (through another instance) never skips an entry: its
    /// `next` may not pass an entry its page did not see.
    @Test(arguments: StoreKind.allCases)
    func aPullWhilePushesCommitNeverSkipsAnEntry(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        let member = bench.member(bench.ministry)
        let start = try await bench.store.headSeq()
        let done = Mutex(false)
        let pushing = Task {
            var seqs: [Int64] = []
            for number in 0..<60 {
                let results = try await bench.store.pushSigned(
                    [bench.insert("person", bench.newID(), bench.personFields(bench.ministry, "P\(number)"))],
                    by: member, now: bench.now)
                seqs += results.compactMap(\.seq)
            }
            done.withLock { $0 = true }
            return seqs
        }
        // Pull while the pushes go on (the cursor only ever moves on), then to the end.
        var pulled = Set<Int64>()
        var cursor = start
        while !done.withLock({ $0 }) {
            let page = try await other.pull(since: cursor, limit: 1000, for: member)
            pulled.formUnion(page.items.map(\.seq))
            cursor = page.next
        }
        let expected = Set(try await pushing.value)
        while true {
            let page = try await other.pull(since: cursor, limit: 1000, for: member)
            pulled.formUnion(page.items.map(\.seq))
            if page.next == cursor { break }
            cursor = page.next
        }
        #expect(expected.count == 60)
        #expect(expected.isSubset(of: pulled), "skipped: \(expected.subtracting(pulled).sorted())")
    }
}
