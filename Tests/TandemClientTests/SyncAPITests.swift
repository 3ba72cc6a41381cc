import Foundation
import GRDB
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// What the server's answers mean for the CLI, and creating a replica from a server.
@Suite struct SyncAPITests {
    private struct Canned: SyncTransport {
        let status: Int
        let body: String

        func send(_ request: TransportRequest) throws -> TransportResponse {
            TransportResponse(status: status, body: Array(body.utf8))
        }
    }

    private struct Unreachable: SyncTransport {
        func send(_ request: TransportRequest) throws -> TransportResponse {
            throw ReplicaError(.unavailable, "cannot reach http://nowhere: Connection refused")
        }
    }

    private func whoAmIError(_ status: Int, _ body: String = #"{"error":"x","message":"told you"}"#) -> ReplicaError? {
        do {
            _ = try SyncAPI(transport: Canned(status: status, body: body)).whoAmI()
            return nil
        } catch {
            return error
        }
    }

    @Test func httpAnswersMapToExitCodes() {
        #expect(whoAmIError(401)?.code == .notPermitted)
        #expect(whoAmIError(403)?.code == .notPermitted)
        #expect(whoAmIError(404)?.code == .notFound)
        #expect(whoAmIError(429)?.code == .temporary)
        #expect(whoAmIError(503)?.code == .temporary)
        #expect(whoAmIError(400)?.code == .invalidData)
        #expect(whoAmIError(200, "<html>")?.code == .internal)
        #expect(whoAmIError(200, #"{"organisation":null,"role":"auditor"}"#) == nil)
    }

    @Test func errorsCarryTheServersMessage() {
        #expect(whoAmIError(403)?.message.contains("told you (x)") == true)
        #expect(whoAmIError(400, "plain words\nmore")?.message.contains("plain words") == true)
    }

    @Test func aPushAnsweredWithTheWrongNumberOfResultsIsRefused() {
        let api = SyncAPI(transport: Canned(status: 200, body: #"{"results":[]}"#))
        let change = Change(
            changeID: "c", table: "round", recordID: "r", op: .delete, fields: [:], baseVersion: 1, hlc: "h",
            device: "d")
        #expect(throws: ReplicaError.self) { try api.push([change]) }
    }

    @Test func serverURLsAreNormalised() throws {
        #expect(try CurlTransport.normalize("http://127.0.0.1:8080/") == "http://127.0.0.1:8080")
        #expect(try CurlTransport.normalize("HTTPS://tandem.example.org") == "HTTPS://tandem.example.org")
        for bad in ["ftp://x", "127.0.0.1:8080", "http://", "http://a b"] {
            #expect(throws: ReplicaError.self) { try CurlTransport.normalize(bad) }
        }
    }

    @Test func answersAreAskedForCompressedExceptFromThisMachine() {
        for remote in [
            "https://tandem.example.org", "http://10.0.0.7:8080", "http://127.example.org", "http://[::2]:1",
        ] {
            #expect(CurlTransport.asksForCompressedAnswers(from: remote), "\(remote)")
        }
        for local in [
            "http://127.0.0.1:8080", "http://127.1.2.3", "http://LOCALHOST:1", "http://[::1]:80", "http://a.localhost",
        ] {
            #expect(!CurlTransport.asksForCompressedAnswers(from: local), "\(local)")
        }
    }

    @Test func curlReportsARefusedConnectionAsUnavailable() throws {
        let transport = try CurlTransport(server: "http://127.0.0.1:1", token: "t")
        do {
            _ = try transport.send(TransportRequest(method: .get, path: "/v1/whoami"))
            Issue.record("expected a failure")
        } catch let error as ReplicaError {
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix("cannot reach http://127.0.0.1:1"))
        }
    }

    @Test func initFromAServerCreatesTheReplicaAndPulls() throws {
        let server = FakeServer()
        let (source, engine) = try SyncWorld(server: server).replica()
        try source.editor.insert(into: "round", [.init("number", "5")])
        _ = try engine.sync()

        let folder = try TemporaryDirectory()
        let path = folder.path("replica.sqlite")
        let member = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member)
        let (replica, summary) = try SyncEngine.createReplica(
            at: path, remote: Remote(server: "http://fake", token: "secret"), transport: server.transport(as: member))
        #expect(summary.pulled == 1)
        #expect(try replica.records(in: "round").count == 1)
        let status = try replica.status()
        #expect(status.role == "member" && status.organisation == member.organisation)
        #expect(status.server == "http://fake" && status.lastSync != nil)
        #expect(try replica.remote.current()?.token == "secret")
        #expect(!status.json.serialized().contains("secret"))
    }

    @Test func initFromAnUnreachableServerCreatesNothing() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("replica.sqlite")
        #expect(throws: ReplicaError.self) {
            try SyncEngine.createReplica(
                at: path, remote: Remote(server: "http://nowhere", token: "t"), transport: Unreachable())
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aNewServerOrIdentityResetsTheCursor() throws {
        let replica = try Replica.create(in: try DatabaseQueue())
        let me = WhoAmI(organisation: nil, role: .coordinator)
        #expect(try replica.remote.set(Remote(server: "http://a", token: "1"), identity: me) == false)
        try replica.withDatabase { db in
            try db.execute(sql: "INSERT INTO tandem_meta(key, value) VALUES ('cursor', '42')")
        }
        #expect(try replica.remote.set(Remote(server: "http://a", token: "2"), identity: me) == false)
        #expect(try replica.cursor() == 42)
        #expect(try replica.remote.set(Remote(server: "http://b", token: "2"), identity: me) == true)
        #expect(try replica.cursor() == 0)
    }
}
