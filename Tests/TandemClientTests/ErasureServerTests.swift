import Foundation
import TandemClient
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// The client's side of personal data against the real server (in this process, over HTTP and
/// libcurl): sealed pushes accepted, an erasure asked by a coordinator reaching a member's replica,
/// and neither replica's files keeping a byte of the values.
@Suite struct ErasureServerTests {
    static let name = "Zyxwvut Realserver"
    static let email = "zyxwvut@realserver.example"

    /// Runs blocking client calls (libcurl) off the cooperative pool, which the server uses.
    private func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    @Test func anErasureReachesAMembersReplicaAndLeavesNoByteOfTheValues() async throws {
        let server = try await TestServer.start()
        let folder = try TemporaryDirectory(prefix: "tandem-erasure")
        let ministry = try await server.store.addOrganisation(
            name: "Ministry", sector: "public", now: ServerClock.wall())
        func replica(_ file: String, token: String) async throws -> (Replica, SyncEngine) {
            let transport = try CurlTransport(server: server.url, token: token)
            let replica = try await offPool {
                try SyncEngine.createReplica(
                    at: folder.path(file), remote: Remote(server: server.url, token: token), transport: transport
                ).replica
            }
            return (replica, SyncEngine(replica: replica, transport: transport))
        }
        let (member, memberEngine) = try await replica("member.sqlite", token: ministry.token)
        let person = try member.editor.insert(
            into: "person",
            [.init("organisation", ministry.id), .init("full_name", Self.name), .init("email", Self.email)])
        #expect(try await offPool { try memberEngine.sync() }.rejected.isEmpty, "a sealed push is taken")
        try member.editor.update("person", id: person.id, [.init("title", "Zyxwvut Title")])
        #expect(try await offPool { try memberEngine.sync() }.rejected.isEmpty)

        let (coordinator, coordinatorEngine) = try await replica("coordinator.sqlite", token: server.coordinatorToken)
        #expect(try coordinator.record(in: "person", id: person.id)["full_name"] == .text(Self.name))
        #expect(try coordinator.history(of: "person", id: person.id).first?.fields["full_name"] == .string(Self.name))
        let prefix = String(person.id.prefix(8))
        let erasure = try await offPool { try coordinatorEngine.erase("person", id: prefix) }
        #expect(erasure.recordID == person.id)
        #expect(erasure.response?.erased == ["email", "full_name", "title"])
        #expect(erasure.response?.unerasable == 0)
        #expect(try await offPool { try coordinatorEngine.erase("person", id: prefix) }.response == nil)

        // An edit the member made before it knew: refused `erased`, kept without its values.
        try member.editor.update("person", id: person.id, [.init("phone", "Zyxwvut 555")])
        let summary = try await offPool { try memberEngine.sync() }
        #expect(summary.rejected.map(\.reason) == [.erased])
        let record = try member.record(in: "person", id: person.id)
        #expect(record["full_name"] == .null && record["organisation"] == .text(ministry.id))
        do {
            try member.editor.update("person", id: person.id, [.init("full_name", "Again")])
            Issue.record("an erased record was edited")
        } catch {
            #expect(error.code == .invalidData)
        }
        await server.stop()
        for file in ["member.sqlite", "coordinator.sqlite"] {
            for suffix in ["", "-wal", "-shm"] {
                let bytes = Array(FileManager.default.contents(atPath: folder.path(file + suffix)) ?? Data())
                #expect(!PersonalDataTests.contains("Zyxwvut", in: bytes), "a value is still in \(file + suffix)")
            }
        }
    }

    /// `tandem erase` as a person runs it: each exit status, its lines, and what the replicas
    /// and an audit store hold afterwards.
    @Test func theEraseCommandExitsAsDocumentedAndTheAuditStoreDropsTheValues() async throws {
        let server = try await TestServer.start()
        let folder = try TemporaryDirectory(prefix: "tandem-erase-cli")
        let ministry = try await server.store.addOrganisation(
            name: "Ministry", sector: "public", now: ServerClock.wall())
        func tandem(_ db: String, _ arguments: [String]) async throws -> ProcessResult {
            let path = folder.path(db)
            return try await offPool { try BinaryRunner.run("tandem", arguments + ["--db", path]) }
        }
        func ok(_ db: String, _ arguments: [String]) async throws -> String {
            let result = try await tandem(db, arguments)
            #expect(result.status == 0, "\(arguments): \(result)")
            return result.output
        }
        _ = try await ok("member.sqlite", ["init", "--server", server.url, "--token", ministry.token])
        _ = try await ok("coordinator.sqlite", ["init", "--server", server.url, "--token", server.coordinatorToken])
        let person = try await ok(
            "member.sqlite",
            ["add", "person", "organisation=\(ministry.id)", "full_name=\(Self.name)", "email=\(Self.email)"])
        _ = try await ok("member.sqlite", ["sync"])
        _ = try await ok("coordinator.sqlite", ["sync"])
        _ = try await ok("coordinator.sqlite", ["audit", "pull"])
        #expect(try await ok("coordinator.sqlite", ["get", "person", person, "--as-of", "100"]).contains(Self.name))
        let prefix = String(person.prefix(8))

        let organisation = try await tandem("coordinator.sqlite", ["erase", "organisation", ministry.id])
        #expect(organisation.status == 65 && organisation.stderr.split(separator: "\n").count == 1, "\(organisation)")
        let unknown = try await tandem(
            "coordinator.sqlite", ["erase", "person", "0196ffff-0000-7000-8000-000000000000"])
        #expect(unknown.status == 66, "\(unknown)")
        let member = try await tandem("member.sqlite", ["erase", "person", prefix])
        #expect(member.status == 77, "\(member)")

        let answer = try await ok("coordinator.sqlite", ["erase", "person", prefix, "--format", "json"])
        let response = try EraseResponse(json: JSONValue.parse(answer))
        #expect(response.erased == ["email", "full_name"] && response.unerasable == 0)
        let again = try await ok("coordinator.sqlite", ["erase", "person", prefix])
        #expect(again == "person \(person): its personal data was erased already")

        _ = try await ok("member.sqlite", ["sync"])
        let edit = try await tandem("member.sqlite", ["set", "person", prefix, "title=Back"])
        #expect(edit.status == 65 && edit.stderr.contains("erased"), "\(edit)")
        let history = try await ok("member.sqlite", ["history", "person", prefix, "--format", "json"])
        #expect(history.contains(#""op":"erase""#), "\(history)")

        _ = try await ok("coordinator.sqlite", ["audit", "pull"])
        #expect(try await ok("coordinator.sqlite", ["audit", "verify"]).hasPrefix("ok: "))
        await server.stop()
        let unreachable = try await tandem("coordinator.sqlite", ["erase", "person", prefix])
        #expect(unreachable.status == 69, "\(unreachable)")
        for file in ["member.sqlite", "coordinator.sqlite"] {
            for suffix in ["", "-wal", "-shm"] {
                let bytes = Array(FileManager.default.contents(atPath: folder.path(file + suffix)) ?? Data())
                #expect(!PersonalDataTests.contains("Zyxwvut", in: bytes), "a value is still in \(file + suffix)")
            }
        }
    }
}
