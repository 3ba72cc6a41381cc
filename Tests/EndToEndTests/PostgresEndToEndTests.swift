import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Several `tandem-server serve` processes on one PostgreSQL database (the test cluster): one
/// history whichever instance a replica talks to, an instance killed mid-push and restarted,
/// and admin commands that take effect at once on every instance.
@Suite struct PostgresEndToEndTests {
    /// A replica of an organisation, syncing through one of the instances.
    struct Replica {
        let db: String
        let organisation: String
        var persons: [String: String] = [:]
    }

    @Test func threeInstancesOnOneDatabaseFormOneHistoryThroughAKill() async throws {
        let url = try await TestPostgres.newDatabase()
        let first = try ServerProcess.start(database: url)
        let instances = [
            first,
            try ServerProcess.serving(existing: first.data, coordinatorToken: first.coordinatorToken),
            try ServerProcess.serving(existing: first.data, coordinatorToken: first.coordinatorToken),
        ]
        let folder = try TemporaryDirectory(prefix: "tandem-pg-e2e")
        var replicas: [Replica] = []
        for index in 0..<3 {
            let (organisation, token) = try first.addOrganisation(name: "Org \(index)", sector: "public")
            for copy in 0..<2 {
                let db = folder.path("org\(index)-\(copy).sqlite")
                let instance = instances[(index + copy) % instances.count]
                let made = try BinaryRunner.run(
                    "tandem", ["init", "--server", instance.url, "--token", token, "--db", db])
                #expect(made.status == 0, "\(made)")
                replicas.append(Replica(db: db, organisation: organisation))
            }
        }

        // Offline edits, then every replica syncs at once while the second instance is killed.
        for index in replicas.indices {
            for number in 0..<12 { try add(&replicas[index], name: "P\(index)-\(number)") }
        }
        let killed = instances[1]
        let databases = replicas.map(\.db)
        async let syncs = syncAll(databases)
        try await Task.sleep(for: .milliseconds(150))
        killed.crash()
        _ = try await syncs
        try killed.restart()

        // More edits, of new records and of records another replica of the organisation made.
        for index in replicas.indices {
            for number in 12..<16 { try add(&replicas[index], name: "P\(index)-\(number)") }
        }
        for round in 0..<3 {
            let results = try await syncAll(replicas.map(\.db))
            if round > 0 { #expect(results.allSatisfy { $0.status == 0 }, "\(results)") }
        }
        for index in replicas.indices where index % 2 == 0 {
            let (id, _) = replicas[index + 1].persons.min { $0.key < $1.key }!
            let edited = try BinaryRunner.run(
                "tandem", ["set", "person", id, "full_name=Edited", "--db", replicas[index].db])
            #expect(edited.status == 0, "\(edited)")
            replicas[index].persons[id] = "Edited"
            replicas[index + 1].persons[id] = "Edited"
        }
        for _ in 0..<2 {
            let results = try await syncAll(replicas.map(\.db))
            #expect(results.allSatisfy { $0.status == 0 }, "\(results)")
        }

        // One history: gap-free seqs, each change applied once, sound.
        let store = try await StoreLocation.postgres(PostgresURL(url), directory: nil).open()
        let lines = try await store.history(since: 0, limit: 1_000_000)
        let head = try await store.headSeq()
        #expect(lines.map(\.seq) == Array(1...head), "seqs are gap-free")
        var inserts: [String: Int] = [:]
        for line in lines {
            let entry = try LogEntry(json: JSONValue.parse(line.line))
            if case .string("insert")? = entry.change["op"], case .string("applied")? = entry.outcome["status"],
                case let .string(id)? = entry.change["record_id"]
            {
                inserts[id, default: 0] += 1
            }
        }
        let created = replicas.reduce(into: Set<String>()) { $0.formUnion($1.persons.keys) }
        #expect(created.count == replicas.count * 16)
        #expect(created.allSatisfy { inserts[$0] == 1 }, "every insert applied exactly once")
        let verified = try first.admin(["verify"])
        #expect(verified.status == 0, "\(verified)")

        // Every replica holds exactly its organisation's persons, as the server has them.
        for replica in replicas {
            let listed = try BinaryRunner.run("tandem", ["list", "person", "--format", "json", "--db", replica.db])
            guard case let .array(rows) = try JSONValue.parse(listed.output) else {
                Issue.record("no JSON array: \(listed)")
                continue
            }
            var names: [String: String] = [:]
            for row in rows {
                if case let .string(id)? = row["id"], case let .string(name)? = row["full_name"] { names[id] = name }
            }
            let own = replicas.filter { $0.organisation == replica.organisation }
                .reduce(into: [String: String]()) { $0.merge($1.persons) { _, last in last } }
            #expect(names == own)
        }
    }

    @Test func aTokenRevokedByAnAdminCommandFailsAtOnceOnEveryInstance() async throws {
        let url = try await TestPostgres.newDatabase()
        let first = try ServerProcess.start(database: url)
        let second = try ServerProcess.serving(existing: first.data, coordinatorToken: first.coordinatorToken)
        let (_, token) = try first.addOrganisation(name: "Org", sector: "public")
        let folder = try TemporaryDirectory(prefix: "tandem-pg-e2e")
        let db = folder.path("replica.sqlite")
        let made = try BinaryRunner.run("tandem", ["init", "--server", second.url, "--token", token, "--db", db])
        #expect(made.status == 0, "\(made)")
        let revoked = try first.admin(["token", "revoke", "--token", token])
        #expect(revoked.status == 0, "\(revoked)")
        let refused = try BinaryRunner.run("tandem", ["sync", "--db", db])
        #expect(refused.status == 77, "\(refused)")
    }

    private func add(_ replica: inout Replica, name: String) throws {
        let added = try BinaryRunner.run(
            "tandem",
            ["add", "person", "organisation=\(replica.organisation)", "full_name=\(name)", "--db", replica.db])
        #expect(added.status == 0, "\(added)")
        replica.persons[added.output.trimmingCharacters(in: .whitespacesAndNewlines)] = name
    }

    /// `tandem sync` on every replica at once.
    private func syncAll(_ databases: [String]) async throws -> [ProcessResult] {
        try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for db in databases {
                group.addTask { try await offPool { try BinaryRunner.run("tandem", ["sync", "--db", db]) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }
}
