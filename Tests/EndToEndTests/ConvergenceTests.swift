import Foundation
import GRDB
import Synchronization
import TandemClient
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// The convergence property (SPEC §5): replicas editing offline within their permissions, syncing
/// at random moments through a transport that drops requests and answers, with a server restart
/// in the middle — once everyone has pushed and pulled, every replica equals the server's state
/// filtered by what its token may read (SPEC §6: records arrive and leave as exchanges change
/// host or go), every change is in the log exactly once, and no losing value is missing from the log.
/// The coordinator erases persons now and then (SPEC §8): afterwards no replica keeps a value of
/// an erased person, and the history still verifies.
///
/// `TANDEM_SEED=N` replays one seed; `TANDEM_CONVERGENCE_SEEDS=K` runs K seeds (default 50) on
/// the SQLite store, `TANDEM_CONVERGENCE_POSTGRES_SEEDS=K` K seeds (default 10) on PostgreSQL.
@Suite struct ConvergenceTests {
    @Test func replicasConvergeUnderRandomEditsSyncsFaultsAndARestart() async throws {
        let seeds = Self.seeds(count: "TANDEM_CONVERGENCE_SEEDS", default: 50)
        var hidden = 0
        for seed in seeds {
            print("convergence seed \(seed) (replay: TANDEM_SEED=\(seed) swift test --filter ConvergenceTests)")
            hidden += try await Scenario.run(seed: seed)
        }
        if seeds.count >= 10 {
            #expect(hidden > 0, "no record was ever hidden from a member: visibility was not exercised")
        }
    }

    /// The same property with the server's store in PostgreSQL (the test cluster).
    @Test func replicasConvergeOnAPostgreSQLStore() async throws {
        for seed in Self.seeds(count: "TANDEM_CONVERGENCE_POSTGRES_SEEDS", default: 10) {
            print(
                "convergence seed \(seed) on PostgreSQL (replay: TANDEM_SEED=\(seed) scripts/with-postgres.sh swift test --filter ConvergenceTests)"
            )
            try await Scenario.run(seed: seed, postgres: true)
        }
    }

    /// The seeds of a random test: `TANDEM_SEED` alone when set, else as many random ones as the
    /// environment variable `count` says (else `fallback`).
    static func seeds(count name: String, default fallback: Int) -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["TANDEM_SEED"], let seed = UInt64(text) { return [seed] }
        let count = environment[name].flatMap(Int.init) ?? fallback
        var generator = SeededGenerator(seed: UInt64.random(in: 0...UInt64.max))
        return (0..<count).map { _ in generator.next() }
    }
}

/// One random run.
struct Scenario {
    struct Actor {
        let name: String
        let organisation: String?
        let replica: Replica
        let engine: SyncEngine
        let faults: FaultInjectingTransport
    }

    /// A device clock's offset from the server's: right, a few seconds, minutes, or days off,
    /// ahead or behind.
    static func clockOffset(random: inout SeededGenerator) -> Int64 {
        let scale: [Int64] = [0, 10_000, 30 * 60_000, 5 * 86_400_000]
        let range = scale[Int(random.next() % UInt64(scale.count))]
        guard range > 0 else { return 0 }
        return Int64(random.next() % UInt64(2 * range + 1)) - range
    }

    /// Returns how many (member, record) pairs the final check found hidden from the member.
    @discardableResult
    static func run(seed: UInt64, postgres: Bool = false) async throws -> Int {
        var random = SeededGenerator(seed: seed)
        let server = try await TestServer.start(postgres: postgres)
        let folder = try TemporaryDirectory(prefix: "tandem-convergence")
        let now = ServerClock.wall()
        let coordinator = Principal(tokenID: "", organisation: nil, role: .coordinator)
        var organisations: [(id: String, token: String)] = []
        for (name, sector) in [("Ministry", "public"), ("Kovina", "private")] {
            organisations.append(try await server.store.addOrganisation(name: name, sector: sector, now: now))
        }
        let recorder = RecordingTransport()
        var actors: [Actor] = []
        let identities =
            [("coordinator", nil as String?, server.coordinatorToken)]
            + organisations.enumerated().map {
                ("member\($0.offset)", Optional($0.element.id), $0.element.token)
            }
        // Each device's clock is off the server's by its own amount, derived from the seed (from
        // a few seconds to days, either way), and jumps once to another amount at a step of the
        // scenario (also from the seed; maybe past its end): no change may be refused for `clock`.
        var clockDice = SeededGenerator(seed: seed ^ 0xC10C)
        let offsets = identities.map { _ in Self.clockOffset(random: &clockDice) }
        let jumps = identities.map { _ in (step: Int(clockDice.next() % 120), to: Self.clockOffset(random: &clockDice))
        }
        let clocks = offsets.map(DeviceClock.init)
        for (index, (name, organisation, token)) in identities.enumerated() {
            let curl = try CurlTransport(server: server.url, token: token)
            let faults = FaultInjectingTransport(
                wrapping: recorder.wrapping(curl), seed: seed &+ UInt64(index), dropRequests: 0, dropResponses: 0)
            let clock = clocks[index].clock
            let (replica, _) = try await offPool {
                try SyncEngine.createReplica(
                    at: folder.path("\(name).sqlite"), remote: Remote(server: server.url, token: token),
                    transport: faults, clock: clock)
            }
            actors.append(
                Actor(
                    name: name, organisation: organisation, replica: replica,
                    engine: SyncEngine(replica: replica, transport: faults), faults: faults))
        }
        // The coordinator opens the round; each organisation sends one employee to the other;
        // everyone syncs, so that the random edits below meet on shared records.
        let coordinatorActor = actors[0]
        // Round 5's window (SPEC §2): exchanges must run inside it (the scenario's dates are in May and June).
        let round = try coordinatorActor.replica.editor.insert(
            into: "round",
            [
                Assignment("number", "5"), Assignment("status", "open"), Assignment("opens_on", "2026-04-15"),
                Assignment("closes_on", "2026-09-30"),
            ])
        _ = try await offPool { try coordinatorActor.engine.sync() }
        for (index, actor) in actors.dropFirst().enumerated() {
            _ = try await offPool { try actor.engine.sync() }
            let home = organisations[index].id
            let host = organisations[(index + 1) % organisations.count].id
            let person = try actor.replica.editor.insert(
                into: "person", [Assignment("organisation", home), Assignment("full_name", "Employee \(index)")])
            // Reference data publishes the employee's id to every member (docs/security.md).
            try actor.replica.editor.insert(
                into: "practice",
                [
                    Assignment("organisation", home), Assignment("title", "Practice \(index)"),
                    Assignment("contact", person.id),
                ])
            try actor.replica.editor.insert(
                into: "exchange",
                [
                    Assignment("round", round.id), Assignment("person", person.id), Assignment("home", home),
                    Assignment("host", host), Assignment("starts_on", "2026-05-04"),
                    Assignment("ends_on", "2026-06-30"),
                ])
            _ = try await offPool { try actor.engine.sync() }
        }
        for actor in actors { _ = try await offPool { try actor.engine.sync() } }
        // Four challenges selected already: the next selections, made offline by the coordinator
        // and the proposers, race for the fifth place (SPEC §2: at most five a round).
        if let mentor = try coordinatorActor.replica.records(in: "person").first {
            for index in 0..<4 {
                try coordinatorActor.replica.editor.insert(
                    into: "challenge",
                    [
                        Assignment("round", round.id), Assignment("title", "Selected \(index)"),
                        Assignment("proposer", organisations[index % organisations.count].id),
                        Assignment("status", "selected"), Assignment("mentor", mentor.id),
                    ])
            }
        }
        for actor in actors { _ = try await offPool { try actor.engine.sync() } }
        for actor in actors { actor.faults.setFaults(dropRequests: 0.15, dropResponses: 0.15) }

        var restarted = false
        var edits = 0
        var probes: Set<String> = []
        var refusedLocally: [String] = []
        var erasures = 0
        let steps = 60 + Int(random.next() % 60)
        for step in 0..<steps {
            for (index, jump) in jumps.enumerated() where jump.step == step { clocks[index].set(jump.to) }
            let actor = actors[Int(random.next() % UInt64(actors.count))]
            let roll = random.next() % 100
            do {
                switch roll {
                case 0..<12: edits += try addRecord(by: actor, organisations: organisations.map(\.id), random: &random)
                case 12..<61:
                    edits += try editRecord(by: actor, organisations: organisations.map(\.id), random: &random)
                case 61:
                    // The coordinator erases a person's personal data (through the faults: it may
                    // not reach the server, or its answer may be lost).
                    if let person = pick(try coordinatorActor.replica.records(in: "person"), &random) {
                        let id = person.id
                        _ = try? await offPool { try coordinatorActor.engine.erase("person", id: id) }
                        erasures += 1
                    }
                case 62..<70: edits += try removeRecord(by: actor, random: &random)
                default: break
                }
            } catch let error as ReplicaError {
                refusedLocally.append(error.message)  // e.g. rm of a record still referenced
            }
            if (66..<70).contains(roll), actor.organisation != nil {
                probes.formUnion(try await probe(by: actor, random: &random))
            }
            switch roll {
            case 0..<70: break
            case 70..<92: _ = try? await offPool { try actor.engine.sync() }
            default:
                if !restarted {
                    try await server.restart()
                    restarted = true
                }
            }
        }
        if !restarted { try await server.restart() }

        // Everyone pushes, then everyone pulls, with the faults gone.
        for actor in actors { actor.faults.setFaults(dropRequests: 0, dropResponses: 0) }
        for _ in 0..<3 {
            for actor in actors { _ = try await offPool { try actor.engine.sync() } }
        }
        let context = "seed \(seed)"
        #expect(edits > 5, "\(context): only \(edits) edits were made; the scenario tests nothing")
        // Local refusals are the replica's own checks: a record still referenced, a date order, the
        // programme's rules (a selected challenge without a mentor, a sixth selected challenge).
        #expect(
            refusedLocally.allSatisfy {
                $0.contains("still referenced") || $0.contains("is before") || $0.contains("is required when")
                    || $0.contains("at most 5") || $0.contains("(erased)")
            }, "\(context): \(refusedLocally)")
        for actor in actors {
            #expect(try actor.replica.status().pending == 0, "\(context): \(actor.name) still has pending changes")
        }

        // The server's state, from its own log read from the start.
        var items: [PullItem] = []
        var since: Int64 = 0
        while true {
            let page = try await server.store.pull(since: since, limit: 1000, for: coordinator)
            items += page.items
            since = page.next
            if !page.more { break }
        }
        let restricted = try expectReplicasHoldWhatTheyMayRead(
            actors.map { ($0.name, $0.organisation, $0.replica) }, server: items, schema: server.store.schema,
            context: context)
        // `tandem check` agrees: every replica's digests are the server's for its token.
        for actor in actors {
            let report = try await offPool { try actor.engine.check() }
            #expect(report.isInSync, "\(context): \(actor.name): tandem check says \(report.lines)")
        }

        // No reading by referring: every probe that reached the server was refused, and no member
        // holds a person who is neither its own nor on one of its exchanges from her employer.
        let probed = items.filter { probes.contains($0.entry?.changeID ?? "") }
        #expect(
            probed.allSatisfy { $0.entry?.outcome.status == .rejected },
            "\(context): a probe applied: \(probed.filter { $0.entry?.outcome.status != .rejected }.map(\.recordID))")
        for actor in actors {
            guard let organisation = actor.organisation else { continue }
            let exchanges = try actor.replica.records(in: "exchange")
            for person in try actor.replica.records(in: "person") {
                let employer = person["organisation"]
                let isOwn = employer == .text(organisation)
                let isGranted = exchanges.contains {
                    $0["person"] == .text(person.id) && $0["home"] == employer
                        && ($0["home"] == .text(organisation) || $0["host"] == .text(organisation))
                }
                #expect(isOwn || isGranted, "\(context): \(actor.name) holds a person SPEC §6 does not give it")
            }
        }
        let ruled = items.compactMap { $0.entry?.outcome.reason?.rawValue }.filter {
            $0.hasPrefix("limit:") || $0 == "check:mentor"
        }
        print(
            "  seed \(seed): \(probes.count) probes, \(probed.count) reached the server; programme rules refused \(ruled.count) at merge"
        )

        // An erased person's values are in no replica: not its row, not an opening, not a refused edit.
        let erased = Set(items.filter { $0.entry?.op == .erase }.map(\.recordID))
        for actor in actors where !erased.isEmpty {
            let path = folder.path("\(actor.name).sqlite")
            let ids = JSONValue.array(erased.map(JSONValue.string)).serialized()
            let kept = try await DatabaseQueue(path: path).read { db in
                try ["tandem_personal_value", "person", "tandem_rejected"].map { table in
                    let condition =
                        switch table {
                        case "person": "AND coalesce(full_name, title, email, phone) IS NOT NULL"
                        case "tandem_rejected":
                            """
                            AND coalesce(json_extract(change, '$.fields.full_name'), json_extract(change, '$.fields.title'),
                                json_extract(change, '$.fields.email'), json_extract(change, '$.fields.phone')) IS NOT NULL
                            """
                        default: ""
                        }
                    let idColumn = table == "person" ? "id" : "record_id"
                    let count =
                        try Int.fetchOne(
                            db,
                            sql:
                                "SELECT count(*) FROM \(table) WHERE \(idColumn) IN (SELECT value FROM json_each(?)) \(condition)",
                            arguments: [ids]) ?? 0
                    return count == 0 ? nil : "\(count) in \(table)"
                }.compactMap { $0 }
            }
            #expect(kept.isEmpty, "\(context): \(actor.name) keeps values of erased persons: \(kept)")
            if !kept.isEmpty, ProcessInfo.processInfo.environment["TANDEM_DEBUG"] != nil {
                for item in items where erased.contains(item.recordID) {
                    print(
                        "DEBUG seq \(item.seq) \(item.recordID.suffix(6)) \(item.entry?.op.rawValue ?? "-") \(item.entry?.outcome.status.rawValue ?? "-") \(item.entry?.outcome.reason ?? "") by \(item.entry?.author.role.rawValue ?? "") \(item.entry?.fields.keys.sorted() ?? [])"
                    )
                }
                for line in actor.faults.history { print("DEBUG fault \(line)") }
            }
        }
        print("  seed \(seed): \(erasures) erasures asked, \(erased.count) reached the server")

        // Every change sent is in the log exactly once.
        let logged = items.compactMap { $0.entry?.changeID }
        #expect(Set(logged).count == logged.count, "\(context): a change is logged twice")
        let sent = recorder.changeIDs()
        #expect(
            sent.isSubset(of: Set(logged)),
            "\(context): \(sent.subtracting(logged).count) sent changes are not in the log")

        // No value is silently lost: every field of every accepted update applied or is in a conflict.
        for item in items {
            guard let entry = item.entry, entry.op == .update, entry.outcome.status != .rejected else { continue }
            let accounted = Set(entry.outcome.applied).union(entry.outcome.conflicts.map(\.field))
            #expect(Set(entry.fields.keys).isSubset(of: accounted), "\(context): seq \(item.seq) dropped a field")
        }
        let manual = items.flatMap { item in
            (item.entry?.outcome.conflicts ?? []).filter { $0.rule == .manual }.map { (item.recordID, $0) }
        }
        let conflicts = try await server.store.conflicts(for: coordinator, includeResolved: true)
        for (recordID, conflict) in manual {
            #expect(
                conflicts.contains {
                    $0.recordID == recordID && $0.field == conflict.field && $0.incoming == conflict.lost
                },
                "\(context): a manual conflict kept no record of its incoming value")
        }
        // The history is sound (SPEC §8): chained, every change signed by its replica's registered
        // device, through drops, retries and a restart; and nothing was refused for its signature.
        let verified = try await server.store.verify()
        #expect(
            verified.failure == nil,
            "\(context): the history fails verification: \(verified.failure.map(String.init(describing:)) ?? "")")
        #expect(
            !items.contains { $0.entry?.outcome.reason == "signature" },
            "\(context): a replica's change was refused for its signature")
        #expect(
            !items.contains { $0.entry?.outcome.reason == "clock" },
            "\(context): a change was refused for its clock (device clocks off by \(offsets) ms, then \(jumps))")
        let faults = actors.flatMap(\.faults.history).filter { $0 != .delivered }.count
        let statuses = Dictionary(grouping: items.compactMap { $0.entry?.outcome.status.rawValue }, by: { $0 })
            .mapValues(\.count)
        print(
            "  seed \(seed): \(edits) edits, \(items.count) log entries \(statuses), \(faults) faults, \(manual.count) manual conflicts, \(restricted) records hidden from members, device clocks off by \(offsets) ms, jumping at \(jumps.map { "step \($0.step) to \($0.to)" })"
        )
        await server.stop()
        return restricted
    }

    /// Checks that each replica holds exactly what its token may read of the server's state
    /// (`server`: the server's whole log as a coordinator pulls it), worked out here with the pure
    /// rule, independently of the store's bookkeeping (SPEC §6).
    ///
    /// - Returns: how many (member, record) pairs were hidden from a member.
    static func expectReplicasHoldWhatTheyMayRead(
        _ actors: [(name: String, organisation: String?, replica: Replica)], server items: [PullItem], schema: Schema,
        context: String
    ) throws -> Int {
        var serverRecords: [String: (table: String, values: [String: JSONValue]?)] = [:]
        for item in items { serverRecords[item.recordID] = (item.table, item.record) }
        let readers = Self.readers(of: serverRecords, schema: schema)
        var restricted = 0
        for actor in actors {
            let viewer = Author(
                organisation: actor.organisation, role: actor.organisation == nil ? .coordinator : .member)
            for table in schema.tables {
                let local = Dictionary(
                    uniqueKeysWithValues: try actor.replica.records(in: table.name).map { ($0.id, $0.values) })
                var expected: [String: [String: FieldValue]] = [:]
                for (id, record) in serverRecords where record.table == table.name {
                    guard let values = record.values else { continue }
                    guard Visibility.mayRead(viewer, table: table, id: id, values: values, granted: readers[id] ?? [])
                    else {
                        restricted += 1
                        continue
                    }
                    var fields: [String: FieldValue] = [:]
                    for field in table.fields {
                        let value = try FieldValue(json: values[field.name] ?? .null, for: field, in: table.name)
                        if !value.isNull { fields[field.name] = value }
                    }
                    expected[id] = fields
                }
                #expect(local == expected, "\(context): \(actor.name)'s \(table.name) differs from the server's")
            }
        }

        return restricted
    }

    /// For each personal record, the organisations granted sight of it: the owners of the live
    /// records of owners-visibility tables that refer to it.
    static func readers(
        of records: [String: (table: String, values: [String: JSONValue]?)], schema: Schema
    ) -> [String: Set<String>] {
        var granted: [String: Set<String>] = [:]
        for (id, record) in records {
            guard let values = record.values, let table = try? schema.table(named: record.table) else { continue }
            for target in Visibility.grantedRecords(in: schema, table: table, values: values) {
                granted[target.id, default: []].formUnion(Visibility.owners(of: table, id: id, values: values))
            }
        }
        return granted
    }

    // MARK: - Random edits within each actor's permissions

    static func owned(by actor: Actor, _ table: String) throws -> [TandemProtocol.Record] {
        let records = try actor.replica.records(in: table)
        guard let organisation = actor.organisation else { return records }
        return records.filter { record in
            switch table {
            case "exchange": record["home"] == .text(organisation) || record["host"] == .text(organisation)
            case "person", "practice": record["organisation"] == .text(organisation)
            case "challenge": record["proposer"] == .text(organisation)
            default: false
            }
        }
    }

    static func pick<T>(_ items: [T], _ random: inout SeededGenerator) -> T? {
        items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))]
    }

    /// A day in May (now and then in June, so that concurrent edits can break `ends_on ≥ starts_on`).
    static func date(_ random: inout SeededGenerator, month: Int? = nil) -> String {
        let month = month ?? (random.next() % 4 == 0 ? 6 : 5)
        let day = 1 + Int(random.next() % 28)
        return "2026-0\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    static func addRecord(by actor: Actor, organisations: [String], random: inout SeededGenerator) throws -> Int {
        let home = actor.organisation ?? pick(organisations, &random)!
        switch random.next() % 4 {
        case 3:
            // A challenge of the round, now and then proposed as already selected (with a mentor, or
            // without one: the replica refuses that itself).
            guard let round = try actor.replica.records(in: "round").first else { return 0 }
            let mentor = pick(
                try actor.replica.records(in: "person", where: [Assignment("organisation", home)]), &random)
            var fields = [
                Assignment("round", round.id), Assignment("title", "C\(random.next() % 100)"),
                Assignment("proposer", home),
            ]
            if random.next() % 3 == 0 { fields.append(Assignment("status", "selected")) }
            if let mentor, random.next() % 4 != 0 { fields.append(Assignment("mentor", mentor.id)) }
            try actor.replica.editor.insert(into: "challenge", fields)
        case 0:
            try actor.replica.editor.insert(
                into: "person", [Assignment("organisation", home), Assignment("full_name", "P\(random.next() % 1000)")])
        case 1:
            guard let round = try actor.replica.records(in: "round").first,
                let person = pick(
                    try actor.replica.records(in: "person", where: [Assignment("organisation", home)]), &random)
            else { return 0 }
            let host = pick(organisations, &random)!
            let starts = date(&random)
            try actor.replica.editor.insert(
                into: "exchange",
                [
                    Assignment("round", round.id), Assignment("person", person.id), Assignment("home", home),
                    Assignment("host", host), Assignment("starts_on", starts), Assignment("ends_on", "2026-06-30"),
                ])
        default:
            let tags = ["climate", "digital", "health", "roads"].filter { _ in random.next() % 2 == 0 }
            try actor.replica.editor.insert(
                into: "practice",
                [
                    Assignment("organisation", home), Assignment("title", "T\(random.next() % 100)"),
                    Assignment("tags", tags.joined(separator: ";")),
                ])
        }
        return 1
    }

    static func editRecord(by actor: Actor, organisations: [String], random: inout SeededGenerator) throws -> Int {
        let table = pick(
            ["exchange", "exchange", "exchange", "person", "practice", "challenge", "challenge"], &random)!
        guard let record = pick(try owned(by: actor, table), &random) else { return 0 }
        let assignment: Assignment
        switch table {
        case "exchange":
            switch random.next() % 6 {
            case 5 where actor.organisation == nil || record["home"] == .text(actor.organisation!):
                // Another host (by the coordinator or the home): the exchange and its person leave
                // one organisation's replica and arrive at another's.
                assignment = Assignment("host", pick(organisations, &random)!)
            case 0:
                assignment = Assignment(
                    "status", pick(["draft", "proposed", "confirmed", "completed", "cancelled"], &random)!)
            case 1: assignment = Assignment("notes", "n\(random.next() % 1000)")
            case 2: assignment = Assignment("starts_on", date(&random))
            case 3: assignment = Assignment("ends_on", date(&random, month: 6))
            default: assignment = Assignment("goals", "g\(random.next() % 1000)")  // 4, and 5 for a host
            }
        case "person":
            assignment = Assignment(random.next() % 2 == 0 ? "title" : "email", "v\(random.next() % 1000)")
        case "challenge":
            // Selections race between the coordinator and the proposers: at most five a round, each
            // with a mentor (a concurrent sixth is refused `limit:round` at merge).
            let status = pick(["proposed", "selected", "selected", "in_progress", "rejected"], &random)!
            if ["selected", "in_progress"].contains(status), record["mentor"].isNull,
                let proposer = record["proposer"].text,
                let mentor = pick(
                    try actor.replica.records(in: "person", where: [Assignment("organisation", proposer)]), &random)
            {
                try actor.replica.editor.update("challenge", id: record.id, [Assignment("mentor", mentor.id)])
            }
            assignment = Assignment("status", status)
        default:
            assignment =
                random.next() % 2 == 0
                ? Assignment(
                    "tags", ["a", "b", "c", "d"].filter { _ in random.next() % 2 == 0 }.joined(separator: ";"))
                : Assignment("summary", "s\(random.next() % 1000)")
        }
        try actor.replica.editor.update(table, id: record.id, [assignment])
        return 1
    }

    /// A hostile member's probe, past its CLI: a signed push naming a person whose id it learned
    /// from reference data (a practice's contact), on a new exchange or on one it is home of. Returns the
    /// change id sent (none when there was nothing to probe with).
    static func probe(by actor: Actor, random: inout SeededGenerator) async throws -> [String] {
        guard let organisation = actor.organisation,
            let round = try actor.replica.records(in: "round").first,
            let learned = pick(
                try actor.replica.records(in: "practice").filter { $0["organisation"] != .text(organisation) }
                    .compactMap { $0["contact"].text }, &random)
        else { return [] }
        // Another organisation's employee: never rightly on an exchange from this one (it may
        // read her when it hosts her, but she does not work for its home).
        let homed = try owned(by: actor, "exchange").filter { $0["home"] == .text(organisation) }
        let clock = HLC(
            milliseconds: ServerClock.wall(), counter: Int(random.next() % 4096), device: actor.replica.device)
        let change: Change
        if random.next() % 2 == 0, let exchange = pick(homed, &random) {
            change = Change(
                changeID: UUIDv7Generator.id(at: clock), table: "exchange", recordID: exchange.id, op: .update,
                fields: ["person": .string(learned)], baseVersion: 1, hlc: clock.description,
                device: actor.replica.device)
        } else {
            change = Change(
                changeID: UUIDv7Generator.id(at: clock), table: "exchange", recordID: UUIDv7Generator.id(at: clock),
                op: .insert,
                fields: [
                    "round": .string(round.id), "person": .string(learned), "home": .string(organisation),
                    "host": .string(organisation), "starts_on": .string("2026-05-04"),
                    "ends_on": .string("2026-05-08"),
                ], baseVersion: 0, hlc: clock.description, device: actor.replica.device)
        }
        let signed = [change].signed(with: try actor.replica.deviceKey())
        _ = try? await offPool { try actor.engine.api.push(signed) }
        return [change.changeID]
    }

    static func removeRecord(by actor: Actor, random: inout SeededGenerator) throws -> Int {
        let table = pick(["exchange", "practice", "person"], &random)!
        guard let record = pick(try owned(by: actor, table), &random) else { return 0 }
        try actor.replica.editor.delete(from: table, id: record.id)
        return 1
    }
}

/// Records the change ids of every push attempted through it.
final class RecordingTransport: @unchecked Sendable {
    private let lock = NSLock()
    private var ids = Set<String>()

    func changeIDs() -> Set<String> { lock.withLock { ids } }

    func wrapping(_ base: any SyncTransport) -> any SyncTransport { Recorder(base: base, owner: self) }

    fileprivate func note(_ request: TransportRequest) {
        guard request.path.hasSuffix("/push"), let push = try? PushRequest(json: JSONValue.parse(bytes: request.body))
        else { return }
        lock.withLock { ids.formUnion(push.changes.map(\.changeID)) }
    }

    private struct Recorder: SyncTransport {
        let base: any SyncTransport
        let owner: RecordingTransport

        func send(_ request: TransportRequest) throws -> TransportResponse {
            owner.note(request)
            return try base.send(request)
        }
    }
}

/// Runs blocking work (libcurl calls to the in-process server) on a thread of its own, so that
/// the server's handlers always find a free thread in the cooperative pool.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// A device's wall clock: the server's plus an offset that the scenario may change.
final class DeviceClock: Sendable {
    private let offset: Mutex<Int64>

    init(_ offset: Int64) { self.offset = Mutex(offset) }

    func set(_ value: Int64) { offset.withLock { $0 = value } }

    var clock: ReplicaClock { ReplicaClock { ServerClock.wall() + self.offset.withLock { $0 } } }
}
