import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import TandemServer
import Testing

/// Who may call what: tokens, roles, the schema, and what unknown routes and methods get.
@Suite struct HTTPAccessTests {
    @Test func healthzNeedsNoToken() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/healthz")
            #expect(reply.status == .ok)
            #expect(try reply.json == .object([JSONMember("status", .string("ok"))]))
            #expect(reply.headers[.contentType] == "application/json")
        }
    }

    @Test func missingUnknownOrRevokedTokenIs401() async throws {
        let fixture = try ServerFixture()
        let revoked = try await fixture.token(.auditor)
        #expect(try await fixture.store.revoke(token: revoked, now: ServerFixture.now))
        try await fixture.app().test(.router) { client in
            let refused: [Reply] = [
                try await client.call(.get, "/v1/whoami"),
                try await client.call(.get, "/v1/whoami", token: "tdm_0000"),
                try await client.call(.get, "/v1/whoami", token: revoked),
                try await client.call(.get, "/v1/whoami", headers: [.authorization: "Basic \(fixture.coordinator)"]),
                try await client.call(.get, "/v1/pull", token: revoked),
                try await client.call(.post, "/v1/push", token: "nope", body: Array(#"{"changes": []}"#.utf8)),
            ]
            for reply in refused {
                #expect(reply.status == .unauthorized)
                #expect(reply.errorCode == "unauthorized")
                #expect(reply.headers[.wwwAuthenticate] == "Bearer")
            }
        }
    }

    @Test func aPullByATokenSeenBeforeIsStillRefusedOnceRevoked() async throws {
        // The second pull's token is checked in the pull's own read, not by the middleware.
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        try await fixture.app().test(.router) { client in
            #expect(try await client.call(.get, "/v1/pull?since=0", token: ministry.token).status == .ok)
            let again = try await client.call(.get, "/v1/pull?since=0", token: ministry.token)
            #expect(again.status == .ok)
            #expect(try PullResponse(json: again.json).checkpoint?.isSignatureValid == true)
            #expect(try await fixture.store.revoke(token: ministry.token, now: ServerFixture.now))
            for path in ["/v1/pull?since=0", "/v1/pull?since=-1", "/v1/pull?limit=0"] {
                let refused = try await client.call(.get, path, token: ministry.token)
                #expect(refused.status == .unauthorized, "\(path)")
                #expect(refused.errorCode == "unauthorized")
            }
            #expect(try await client.call(.get, "/v1/pull?since=-1", token: fixture.coordinator).status == .badRequest)
            #expect(try await client.call(.get, "/v1/pull?since=-1", token: fixture.coordinator).status == .badRequest)
        }
    }

    @Test func whoamiNamesEachRole() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let auditor = try await fixture.token(.auditor)
        let expected: [(String, WhoAmI)] = [
            (fixture.coordinator, WhoAmI(organisation: nil, role: .coordinator)),
            (ministry.token, WhoAmI(organisation: ministry.id, role: .member)),
            (auditor, WhoAmI(organisation: nil, role: .auditor)),
        ]
        try await fixture.app().test(.router) { client in
            for (token, who) in expected {
                let reply = try await client.call(.get, "/v1/whoami", token: token)
                #expect(reply.status == .ok)
                #expect(try WhoAmI(json: reply.json) == who)
            }
        }
    }

    @Test func everyTokenGetsTheDigestsOfWhatItMaySee() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let auditor = try await fixture.token(.auditor)
        try await fixture.app().test(.router) { client in
            for token in [fixture.coordinator, ministry.token, auditor] {
                let reply = try await client.call(.get, "/v1/digest", token: token)
                #expect(reply.status == .ok)
                let answer = try DigestResponse(json: reply.json)
                #expect(answer.tables.map(\.table) == Schema.partnership.tables.map(\.name))
                #expect(answer.tables.first { $0.table == "organisation" }?.records == 1)
            }
            #expect(try await client.call(.get, "/v1/digest").status == .unauthorized)
            #expect(try await client.call(.post, "/v1/digest", token: auditor).status == .methodNotAllowed)
        }
    }

    @Test func schemaIsTheStoresDocument() async throws {
        let fixture = try ServerFixture()
        let auditor = try await fixture.token(.auditor)
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/schema", token: auditor)
            #expect(reply.status == .ok)
            #expect(try Schema(json: reply.json) == fixture.store.schema)
            #expect(try reply.json["name"] == .string("partnership"))
        }
    }

    @Test func unknownRouteIs404AndWrongMethodIs405() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            for path in ["/nothing", "/v1/nothing", "/v1/conflicts/x/y", "/v2/pull"] {
                let reply = try await client.call(.get, path, token: fixture.coordinator)
                #expect(reply.status == .notFound, "\(path)")
                #expect(reply.errorCode == "not_found", "\(path)")
            }
            let wrong: [(HTTPRequest.Method, String, String)] = [
                (.post, "/v1/whoami", "GET, HEAD"), (.get, "/v1/push", "POST"), (.delete, "/healthz", "GET, HEAD"),
                (.get, "/v1/conflicts/abc/resolve", "POST"), (.put, "/v1/pull", "GET, HEAD"),
            ]
            for (method, path, allow) in wrong {
                let reply = try await client.call(method, path, token: fixture.coordinator)
                #expect(reply.status == .methodNotAllowed, "\(method) \(path)")
                #expect(reply.errorCode == "method_not_allowed", "\(method) \(path)")
                #expect(reply.headers[.allow] == allow)
            }
        }
    }

    @Test func headOfAGetRouteAnswersWithoutABody() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.head, "/healthz")
            #expect(reply.status == .ok)
            #expect(reply.body.isEmpty)
        }
    }

    @Test func storeFailureIs503WithoutDetails() async throws {
        let app = buildApplication(
            configuration: ServerConfiguration(dataDirectory: "/nonexistent"), store: FailingStore(),
            logger: ServerFixture.quietLogger)
        try await app.test(.router) { client in
            let replies = [
                try await client.call(.get, "/v1/pull", token: "ok"),
                try await client.call(.get, "/v1/conflicts", token: "ok"),
                try await client.call(.post, "/v1/push", token: "ok", body: Array(#"{"changes": []}"#.utf8)),
                try await client.registerDevice("laptop", token: "ok"),
                try await client.call(.get, "/v1/history", token: "ok"),
                try await client.call(.get, "/v1/checkpoint", token: "ok"),
                try await client.call(.get, "/metrics", token: "ok"),
            ]
            for reply in replies {
                #expect(reply.status == .serviceUnavailable)
                #expect(reply.errorCode == "unavailable")
                #expect(!String(decoding: reply.body, as: UTF8.self).contains("Broken"))
            }
            #expect(try await client.call(.get, "/v1/whoami", token: "ok").status == .ok)
        }
    }
}
