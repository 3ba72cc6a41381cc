import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Pushes sent at once (many replicas syncing together) are merged in groups (``PushQueue``):
/// whatever was grouped, the history is what the same pushes one after another would have made —
/// one gap-free run of seqs, each push answered for its own changes in its order, a change sent
/// twice applied once, the chain sound.
@Suite struct StoreSuiteGroupCommitTests {
    @Test(arguments: StoreKind.allCases)
    func pushesSentAtOnceMakeOneGapFreeHistoryAndEachGetsItsOwnResults(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let head = try await bench.store.headSeq()
        let organisations = [bench.ministry, bench.company, bench.town]
        // Each organisation's member pushes 6 batches of a person and an exchange of hers; the
        // coordinator pushes one change twice at once (a retry racing the first try).
        var pushes: [(principal: Principal, changes: [Change])] = []
        for organisation in organisations {
            for _ in 0..<6 {
                let person = bench.newID()
                pushes.append(
                    (
                        bench.member(organisation),
                        [
                            bench.insert("person", person, bench.personFields(organisation, "Someone")),
                            bench.insert(
                                "exchange", bench.newID(),
                                bench.exchangeFields(person: person, home: organisation, host: bench.company)),
                        ]
                    ))
            }
        }
        let twice = [bench.insert("round", bench.newID(), ["number": .int(7)])]
        pushes.append((bench.coordinator, twice))
        pushes.append((bench.coordinator, twice))
        var signed: [(Principal, [Change])] = []
        for (principal, changes) in pushes {
            signed.append(
                (principal, try await TestDevices.shared.sign(changes, for: principal, in: bench.store, now: bench.now))
            )
        }
        let store = bench.store
        let now = bench.now
        let answers = try await withThrowingTaskGroup(of: (Int, [PushResult]).self) { group in
            for (index, (principal, changes)) in signed.enumerated() {
                group.addTask { (index, try await store.push(changes, by: principal, now: now)) }
            }
            var answers = [[PushResult]](repeating: [], count: signed.count)
            for try await (index, results) in group { answers[index] = results }
            return answers
        }
        for ((_, changes), results) in zip(signed, answers) {
            #expect(results.map(\.changeID) == changes.map(\.changeID), "each push answered for its own changes")
        }
        for results in answers.dropLast(2) { #expect(results.map(\.status) == [.applied, .applied], "\(results)") }
        let raced = answers.suffix(2).map { $0[0] }
        #expect(Set(raced.map(\.status)) == [.applied, .duplicate], "\(raced)")
        #expect(raced[0].seq == raced[1].seq, "the duplicate names the seq that holds the change")
        let logged = answers.flatMap { $0 }.filter { $0.status != .duplicate }.compactMap(\.seq).sorted()
        #expect(logged == (0..<Int64(logged.count)).map { head + 1 + $0 }, "one gap-free run of seqs")
        #expect(try await bench.store.headSeq() == head + Int64(logged.count))
        #expect(try await bench.store.verify().failure == nil)
    }
}
