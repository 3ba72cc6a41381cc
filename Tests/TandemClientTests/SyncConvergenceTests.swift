import Foundation
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// Replicas editing at random and syncing over a transport that loses requests and answers end
/// equal to each other and to the server once everyone has synced without faults.
@Suite struct SyncConvergenceTests {
    @Test(arguments: 0..<4) func replicasConvergeDespiteLostMessages(run: Int) throws {
        let seed = SeededGenerator.seedFromEnvironment() &+ UInt64(run)
        print("SyncConvergenceTests seed \(seed) (TANDEM_SEED=\(seed) replays it)")
        var random = SeededGenerator(seed: seed)
        let world = SyncWorld()
        let replicas = try Self.faultyReplicas(in: world, seed: seed)
        var steps = StepTally(seed: seed)
        let wanted = ["insert": 3, "update": 3]
        var taken = 0
        // 60 steps, and on until enough inserts and updates went through: a seed whose first 60
        // drew few of them (TANDEM_SEED=15746828973638131448, run 2: two inserts) still tests them.
        while taken < 60 || (!steps.haveWorked(wanted) && taken < 600) {
            taken += 1
            let (replica, engine, _) = replicas[Int(random.next() % UInt64(replicas.count))]
            let rounds = try replica.records(in: "round")
            switch random.next() % 5 {
            case 0:
                let number = String(random.next() % 20)
                steps.run("insert", expecting: StepTally.takenNumber) {
                    _ = try replica.editor.insert(into: "round", [.init("number", number)])
                }
            case 1, 2:
                guard !rounds.isEmpty else { continue }
                let round = rounds[Int(random.next() % UInt64(rounds.count))]
                let field = ["title", "status", "opens_on"][Int(random.next() % 3)]
                let value =
                    switch field {
                    case "title": "t\(random.next() % 5)"
                    case "status": ["planned", "open", "closed"][Int(random.next() % 3)]
                    default: "2026-0\(1 + random.next() % 9)-1\(random.next() % 9)"
                    }
                steps.run("update") { _ = try replica.editor.update("round", id: round.id, [.init(field, value)]) }
            case 3:
                guard !rounds.isEmpty, random.next() % 3 == 0 else { continue }
                let id = rounds[Int(random.next() % UInt64(rounds.count))].id
                steps.run("delete") { _ = try replica.editor.delete(from: "round", id: id) }
            default:
                steps.run("sync", expecting: StepTally.lostMessage) { _ = try engine.sync() }
            }
        }
        steps.expectWorked(wanted)

        try Self.settle(replicas)
        let server = world.server.live("round")
        #expect(!server.isEmpty, "seed \(seed): no round reached the server")
        for (replica, _, _) in replicas {
            #expect(try replica.status().pending == 0, "seed \(seed)")
            let local = Dictionary(
                uniqueKeysWithValues: try replica.records(in: "round").map { ($0.id, $0.values.mapValues(\.json)) })
            #expect(local == server, "seed \(seed)")
        }
        // Seqs are gap-free and every change was logged once.
        #expect(
            world.server.log.map(\.seq)
                == Array(1...Int64(max(world.server.log.count, 1))).prefix(world.server.log.count).map { $0 })
        #expect(Set(world.server.log.map(\.change.changeID)).count == world.server.log.count, "seed \(seed)")
    }

    /// Persons edited, deleted and erased at random by replicas on lossy transports: once all
    /// have synced without faults they hold what the server holds, an erased person's personal
    /// fields are null everywhere, and no replica keeps an opening of an erased person's values.
    @Test(arguments: 0..<3) func replicasConvergeWithErasures(run: Int) throws {
        let seed = SeededGenerator.seedFromEnvironment() &+ UInt64(run)
        print("SyncConvergenceTests erasures seed \(seed) (TANDEM_SEED=\(seed) replays it)")
        var random = SeededGenerator(seed: seed)
        let world = SyncWorld()
        let replicas = try Self.faultyReplicas(in: world, seed: seed)
        var steps = StepTally(seed: seed)
        let organisation = try replicas[0].replica.editor.insert(
            into: "organisation", [.init("name", "Ministry"), .init("sector", "public")])
        for number in 0..<4 {
            try replicas[0].replica.editor.insert(
                into: "person", [.init("organisation", organisation.id), .init("full_name", "Employee \(number)")])
        }
        for replica in replicas { replica.faults.setFaults(dropRequests: 0, dropResponses: 0) }
        for replica in replicas { _ = try replica.engine.sync() }
        for replica in replicas { replica.faults.setFaults(dropRequests: 0.2, dropResponses: 0.2) }

        for step in 0..<80 {
            let (replica, engine, _) = replicas[Int(random.next() % UInt64(replicas.count))]
            let persons = try replica.records(in: "person")
            let person = persons.isEmpty ? nil : persons[Int(random.next() % UInt64(persons.count))]
            switch random.next() % 6 {
            case 0:
                steps.run("insert") {
                    _ = try replica.editor.insert(
                        into: "person", [.init("organisation", organisation.id), .init("full_name", "Person \(step)")])
                }
            case 1, 2:
                guard let person else { continue }
                let field = ["full_name", "title", "email", "phone"][Int(random.next() % 4)]
                steps.run("update", expecting: StepTally.erasedRecord) {
                    _ = try replica.editor.update("person", id: person.id, [.init(field, "\(field) \(step)")])
                }
            case 3:
                guard let person, random.next() % 4 == 0 else { continue }
                steps.run("delete", expecting: StepTally.erasedRecord) {
                    _ = try replica.editor.delete(from: "person", id: person.id)
                }
            case 4:
                guard let person else { continue }
                steps.run("erase", expecting: StepTally.refusedErasure) {
                    _ = try engine.erase("person", id: person.id)
                }
            default:
                steps.run("sync", expecting: StepTally.lostMessage) { _ = try engine.sync() }
            }
        }
        steps.expectWorked(["insert": 3, "update": 3])

        try Self.settle(replicas)
        let server = world.server.live("person")
        let erased = Set(
            world.server.log.filter { $0.change.op == .erase && $0.outcome.status == .applied }.map(\.change.recordID))
        #expect(!erased.isEmpty, "seed \(seed): no erasure took place")
        for (replica, _, _) in replicas {
            #expect(try replica.status().pending == 0, "seed \(seed)")
            let local = Dictionary(
                uniqueKeysWithValues: try replica.records(in: "person").map { ($0.id, $0.values.mapValues(\.json)) })
            #expect(local == server, "seed \(seed)")
            for id in erased {
                #expect(local[id].map { Set($0.keys) == ["organisation"] } ?? true, "seed \(seed): \(id)")
                let kept = try replica.count("SELECT count(*) FROM tandem_personal_value WHERE record_id = ?", [id])
                #expect(kept == 0, "seed \(seed): openings of erased \(id) kept")
            }
        }
    }

    typealias FaultyReplica = (replica: Replica, engine: SyncEngine, faults: FaultInjectingTransport)

    /// Three replicas of `world`, each over a transport that drops a fifth of requests and answers.
    static func faultyReplicas(in world: SyncWorld, seed: UInt64) throws -> [FaultyReplica] {
        var replicas: [FaultyReplica] = []
        for index in 0..<3 {
            var faulty: FaultInjectingTransport?
            let (replica, engine) = try world.replica { base in
                let transport = FaultInjectingTransport(
                    wrapping: base, seed: seed &+ UInt64(index), dropRequests: 0.2, dropResponses: 0.2)
                faulty = transport
                return transport
            }
            replicas.append((replica, engine, try #require(faulty)))
        }
        return replicas
    }

    /// Faults off, then every replica syncs twice in turn: all have what all pushed.
    static func settle(_ replicas: [FaultyReplica]) throws {
        for replica in replicas { replica.faults.setFaults(dropRequests: 0, dropResponses: 0) }
        for _ in 0..<2 {
            for replica in replicas { _ = try replica.engine.sync() }
        }
    }
}

/// The steps of a random script: how many of each kind went through, and every error matched.
/// The errors the script can cause (a lost request or answer, a number taken, an edit of a
/// person another replica erased) are named where a step runs; any other fails the test, and
/// so does a script whose edits did not go through, which could pass for a convergence.
struct StepTally {
    let seed: UInt64
    private(set) var worked: [String: Int] = [:]
    private(set) var refused: [String: Int] = [:]

    init(seed: UInt64) { self.seed = seed }

    /// A transport fault (FaultInjectingTransport): the server could not be reached.
    static func lostMessage(_ error: ReplicaError) -> Bool {
        error.code == .unavailable && error.message.contains("(fault injected, seed ")
    }

    /// A round number another round holds already (numbers are drawn from 0 to 19).
    static func takenNumber(_ error: ReplicaError) -> Bool {
        error.code == .invalidData && error.message.hasPrefix("round.number: ")
            && error.message.contains(" is already used by ")
    }

    /// An edit of a record whose personal data was erased (by this replica or another).
    static func erasedRecord(_ error: ReplicaError) -> Bool {
        error.code == .invalidData && error.message.hasSuffix("it can no longer be edited (erased)")
    }

    /// An erasure refused: lost on the way, or of a person the server does not hold yet (made
    /// here, not pushed), or holds deleted or erased already.
    static func refusedErasure(_ error: ReplicaError) -> Bool {
        let refused = "the server refused POST /v1/erase: "
        return lostMessage(error)
            || (error.code == .notFound && error.message.hasPrefix("POST /v1/erase: "))
            || (error.code == .invalidData && error.message.hasPrefix(refused)
                && (error.message.hasSuffix("(erased)") || error.message.hasSuffix("(deleted)")))
    }

    /// Runs step `kind`; an error `expected` matches is counted, any other is recorded as a failure.
    mutating func run(
        _ kind: String, expecting expected: (ReplicaError) -> Bool = { _ in false },
        sourceLocation: SourceLocation = #_sourceLocation, _ step: () throws -> Void
    ) {
        do {
            try step()
            worked[kind, default: 0] += 1
        } catch let error as ReplicaError where expected(error) {
            refused[kind, default: 0] += 1
        } catch {
            Issue.record("seed \(seed): \(kind) failed: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Whether at least `minimum[kind]` steps of each kind went through.
    func haveWorked(_ minimum: [String: Int]) -> Bool {
        minimum.allSatisfy { kind, count in worked[kind, default: 0] >= count }
    }

    /// At least `minimum[kind]` steps of each kind went through.
    func expectWorked(_ minimum: [String: Int], sourceLocation: SourceLocation = #_sourceLocation) {
        print(
            "seed \(seed): steps that worked \(worked.sorted { $0.key < $1.key }), refused \(refused.sorted { $0.key < $1.key })"
        )
        for (kind, count) in minimum {
            #expect(
                worked[kind, default: 0] >= count, "seed \(seed): \(kind): \(worked), refused \(refused)",
                sourceLocation: sourceLocation)
        }
    }
}
