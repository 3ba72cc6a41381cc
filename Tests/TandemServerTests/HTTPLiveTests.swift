import HTTPTypes
import HummingbirdTesting
import TandemCompression
import TandemProtocol
import TandemServer
import Testing

/// The same application over a real socket (`.live`): what `.router` cannot show.
@Suite struct HTTPLiveTests {
    @Test func liveServerAnswersHealthzAuthAndGzipPush() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let round = try await fixture.signed([maker.insert("round", ["number": .int(3)])], token: fixture.coordinator)
        let body = try Gzip.compress(Array(PushRequest(changes: round).json.serialized().utf8))
        try await fixture.app().test(.live) { client in
            #expect(client.port != nil)
            let health = try await client.call(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(try health.json["status"] == .string("ok"))
            #expect(try await client.call(.get, "/v1/whoami").status == .unauthorized)
            let pushed = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: body,
                headers: [.contentEncoding: "gzip", .acceptEncoding: "gzip"])
            #expect(pushed.status == .ok)
            #expect(pushed.headers[.contentEncoding] == "gzip")
            #expect(try PushResponse(json: pushed.json).results.map(\.status) == [.applied])
            let missing = try await client.call(.get, "/v1/missing", token: fixture.coordinator)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
        }
    }

    @Test func liveServerRefusesAnOversizedBody() async throws {
        let fixture = try ServerFixture(maximumBodySize: 1024)
        try await fixture.app().test(.live) { client in
            let reply = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: Array(repeating: UInt8(ascii: " "), count: 50_000))
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "too_large")
            #expect(try await client.call(.get, "/healthz").status == .ok)
        }
    }
}
