import Foundation
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// The rollback property (issue 17): replicas editing and syncing at random moments while the
/// operator copies the real server's data directory now and then and restores a random earlier
/// copy at random moments, a tenth of the requests and answers dropped — once everyone has synced,
/// every change the server had ever acknowledged is in its history, every replica holds what its
/// token may read of the server's state, and the history verifies.
///
/// `TANDEM_SEED=N` replays one seed; `TANDEM_ROLLBACK_SEEDS=K` runs K seeds (default 5).
@Suite struct RollbackPropertyTests {
    @Test func nothingAcknowledgedIsLostAndReplicasConvergeWhenTheServerIsRolledBack() async throws {
        let seeds = ConvergenceTests.seeds(count: "TANDEM_ROLLBACK_SEEDS", default: 5)
        var noticed = 0
        for seed in seeds {
            print("rollback seed \(seed) (replay: TANDEM_SEED=\(seed) swift test --filter RollbackPropertyTests)")
            noticed += try RollbackScenario.run(seed: seed)
        }
        if seeds.count >= 3 {
            #expect(noticed > 0, "no replica ever noticed a rollback: the repair was not exercised")
        }
    }
}

/// One random run against a real `tandem-server` process.
enum RollbackScenario {
    /// Returns how many syncs noticed a rollback.
    @discardableResult
    static func run(seed: UInt64) throws -> Int {
        var random = SeededGenerator(seed: seed)
        let server = try ServerProcess.start()
        let folder = try TemporaryDirectory(prefix: "tandem-rollback")
        let organisations = [
            try server.addOrganisation(name: "Ministry", sector: "public"),
            try server.addOrganisation(name: "Kovina", sector: "private"),
        ]
        let recorder = AcknowledgementRecorder()
        var actors: [Scenario.Actor] = []
        let identities =
            [("coordinator", nil as String?, server.coordinatorToken)]
            + organisations.enumerated().map { ("member\($0.offset)", Optional($0.element.id), $0.element.token) }
        for (index, (name, organisation, token)) in identities.enumerated() {
            let faults = FaultInjectingTransport(
                wrapping: recorder.wrapping(try CurlTransport(server: server.url, token: token)),
                seed: seed &+ UInt64(index), dropRequests: 0, dropResponses: 0)
            let (replica, _) = try SyncEngine.createReplica(
                at: folder.path("\(name).sqlite"), remote: Remote(server: server.url, token: token), transport: faults)
            actors.append(
                Scenario.Actor(
                    name: name, organisation: organisation, replica: replica,
                    engine: SyncEngine(replica: replica, transport: faults), faults: faults))
        }
        // A round, and one exchange from each organisation to the other, seen by everyone.
        let round = try actors[0].replica.editor.insert(
            into: "round", [Assignment("number", "5"), Assignment("status", "open")])
        _ = try actors[0].engine.sync()
        for (index, actor) in actors.dropFirst().enumerated() {
            _ = try actor.engine.sync()
            let home = organisations[index].id
            let person = try actor.replica.editor.insert(
                into: "person", [Assignment("organisation", home), Assignment("full_name", "Employee \(index)")])
            try actor.replica.editor.insert(
                into: "exchange",
                [
                    Assignment("round", round.id), Assignment("person", person.id), Assignment("home", home),
                    Assignment("host", organisations[(index + 1) % organisations.count].id),
                    Assignment("starts_on", "2026-05-04"), Assignment("ends_on", "2026-06-30"),
                ])
            _ = try actor.engine.sync()
        }
        for actor in actors { _ = try actor.engine.sync() }

        var backups: [String] = []
        func backUp() throws {
            server.stop()
            let copy = folder.path("backup\(backups.count)")
            try server.copyData(to: copy)
            backups.append(copy)
            try server.restart()
        }
        func rollBack(_ random: inout SeededGenerator) throws {
            server.stop()
            try server.restoreData(from: backups[Int(random.next() % UInt64(backups.count))])
            try server.restart()
        }
        try backUp()
        for actor in actors { actor.faults.setFaults(dropRequests: 0.1, dropResponses: 0.1) }
        var rollbacks = 0
        var edits = 0
        var noticed = 0
        let steps = 80 + Int(random.next() % 60)
        for _ in 0..<steps {
            let actor = actors[Int(random.next() % UInt64(actors.count))]
            let roll = random.next() % 100
            let ids = organisations.map(\.id)
            switch roll {
            case 0..<50:
                do {
                    switch roll {
                    case 0..<12: edits += try Scenario.addRecord(by: actor, organisations: ids, random: &random)
                    case 12..<42: edits += try Scenario.editRecord(by: actor, organisations: ids, random: &random)
                    default: edits += try Scenario.removeRecord(by: actor, random: &random)
                    }
                } catch is ReplicaError {
                    // A record still referenced, a date order: the replica's own checks.
                }
            case 50..<84:
                if let summary = try? actor.engine.sync(), summary.rollback != nil { noticed += 1 }
            case 84..<92: try backUp()
            default:
                if rollbacks < 4 {
                    try rollBack(&random)
                    rollbacks += 1
                }
            }
        }
        if rollbacks == 0 { try rollBack(&random) }

        // Everyone syncs, with the faults gone: the first round hands back and moves back, the
        // others bring what others handed back.
        for actor in actors { actor.faults.setFaults(dropRequests: 0, dropResponses: 0) }
        for _ in 0..<3 {
            for actor in actors {
                if try actor.engine.sync().rollback != nil { noticed += 1 }
            }
        }
        let context = "seed \(seed)"
        for actor in actors {
            #expect(try actor.replica.status().pending == 0, "\(context): \(actor.name) still has pending changes")
            #expect(try actor.replica.rollbackState() == nil, "\(context): \(actor.name)'s repair is not finished")
        }

        // The server's state, read from its log from the start by a coordinator.
        let api = SyncAPI(transport: try CurlTransport(server: server.url, token: server.coordinatorToken))
        var items: [PullItem] = []
        var since: Int64 = 0
        while true {
            let page = try api.pull(since: since, limit: 1000)
            items += page.items
            since = page.next
            if !page.more { break }
        }
        let hidden = try Scenario.expectReplicasHoldWhatTheyMayRead(
            actors.map { ($0.name, $0.organisation, $0.replica) }, server: items, schema: actors[0].replica.schema,
            context: context)
        // Nothing acknowledged is lost, and duplicates stay duplicates: every change the server
        // ever accepted is in its history, once (changes refused for their signature do not
        // hold their ids).
        let logged = items.compactMap { item in
            item.entry.flatMap { $0.outcome.reason == "signature" ? nil : $0.changeID }
        }
        #expect(Set(logged).count == logged.count, "\(context): a change is logged twice")
        let acknowledged = recorder.acknowledged()
        let lost = acknowledged.subtracting(logged)
        #expect(lost.isEmpty, "\(context): \(lost.count) of \(acknowledged.count) acknowledged changes are lost")
        // The history verifies (changes handed back by a coordinator are their organisation's).
        let verify = try server.admin(["verify"])
        #expect(verify.status == 0, "\(context): \(verify)")
        print(
            "  seed \(seed): \(edits) edits, \(backups.count) backups, \(rollbacks) rollbacks, \(noticed) noticed, "
                + "\(acknowledged.count) acknowledged, \(items.count) log items, \(hidden) hidden from members")
        server.stop()
        return noticed
    }
}

/// Records the ids of every change a push answer accepted (applied, merged, conflict, or a
/// duplicate without a reason): what the server acknowledged.
final class AcknowledgementRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var ids = Set<String>()

    func acknowledged() -> Set<String> { lock.withLock { ids } }

    func wrapping(_ base: any SyncTransport) -> any SyncTransport { Recorder(base: base, owner: self) }

    fileprivate func note(_ response: TransportResponse, to request: TransportRequest) {
        guard request.path == "/v1/push", response.status == 200,
            let results = try? PushResponse(json: JSONValue.parse(bytes: response.body)).results
        else { return }
        let accepted = results.filter { result in
            switch result.status {
            case .applied, .merged, .conflict: true
            case .duplicate: result.reason == nil
            case .rejected: false
            }
        }
        lock.withLock { ids.formUnion(accepted.map(\.changeID)) }
    }

    private struct Recorder: SyncTransport {
        let base: any SyncTransport
        let owner: AcknowledgementRecorder

        func send(_ request: TransportRequest) throws -> TransportResponse {
            let response = try base.send(request)
            owner.note(response, to: request)
            return response
        }
    }
}
