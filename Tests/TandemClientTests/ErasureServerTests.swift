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
        let person = try member.insert(
            into: "person",
            [.init("organisation", ministry.id), .init("full_name", Self.name), .init("email", Self.email)])
        #expect(try await offPool { try memberEngine.sync() }.rejected.isEmpty, "a sealed push is taken")
        try member.update("person", id: person.id, [.init("title", "Zyxwvut Title")])
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
        try member.update("person", id: person.id, [.init("phone", "Zyxwvut 555")])
        let summary = try await offPool { try memberEngine.sync() }
        #expect(summary.rejected.map(\.reason) == ["erased"])
        let record = try member.record(in: "person", id: person.id)
        #expect(record["full_name"] == .null && record["organisation"] == .text(ministry.id))
        do {
            try member.update("person", id: person.id, [.init("full_name", "Again")])
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
}
