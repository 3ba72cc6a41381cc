import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import Testing

@testable import TandemServer

/// The routes the router serves are exactly the endpoints Protocol defines (``Endpoint/all``):
/// each answers at its method and path, with the roles it admits, and another method on a known
/// path is 405.
@Suite struct RouteTableTests {
    @Test func everyEndpointIsServedAtItsMethodAndPath() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            for endpoint in Endpoint.all {
                let path = endpoint.path(filling: ["id": "00000000-0000-7000-8000-000000000000"])
                let method = endpoint.method.http
                let reply = try await client.call(method, path, token: fixture.coordinator, body: Array("{}".utf8))
                // Served: the handler answers, whatever it makes of an empty body (a parameterised path
                // too: its handler reads the body before it looks the id up), never the router's 404.
                let answer = "\(method) \(path): \(reply.status) \(reply.errorMessage ?? "")"
                #expect(reply.status != .notFound && reply.status != .methodNotAllowed, "\(answer)")
                let other: HTTPRequest.Method = endpoint.method == .get ? .post : .get
                let refused = try await client.call(other, path, token: fixture.coordinator, body: Array("{}".utf8))
                #expect(refused.status == .methodNotAllowed, "\(other) \(path)")
                #expect(
                    refused.headers[.allow] == RouteTable.methods(for: path)?.map(\.rawValue).joined(separator: ", "))
            }
        }
    }

    @Test func aRoleAnEndpointDoesNotAdmitIsRefusedBeforeItsHandler() async throws {
        let fixture = try ServerFixture()
        let auditor = try await fixture.store.issueToken(role: .auditor, organisation: nil, now: ServerFixture.now)
        try await fixture.app().test(.router) { client in
            for endpoint in Endpoint.all where endpoint.callers != nil && !endpoint.admits(.auditor) {
                let path = endpoint.path(filling: ["id": "00000000-0000-7000-8000-000000000000"])
                let method = endpoint.method.http
                let reply = try await client.call(method, path, token: auditor, body: Array("{}".utf8))
                #expect(reply.status == .forbidden, "\(method) \(path)")
                #expect(reply.errorCode == ErrorCode.forbidden.rawValue, "\(method) \(path)")
            }
        }
    }

    @Test func pathsMatchSegmentBySegment() {
        #expect(RouteTable.methods(for: "/v1/push") == [.post])
        #expect(RouteTable.methods(for: "/v1/push/") == [.post])
        #expect(RouteTable.methods(for: "/v1/pull") == [.get, .head])
        #expect(RouteTable.methods(for: "/v1/conflicts/abc/resolve") == [.post])
        #expect(RouteTable.methods(for: "/v1/conflicts/abc") == nil)
        #expect(RouteTable.methods(for: "/") == nil)
        #expect(RouteTable.endpoint(.head, "/v1/history") == .history)
        #expect(RouteTable.endpoint(.post, "/v1/conflicts/abc/resolve") == .resolve)
        #expect(RouteTable.endpoint(.get, "/v1/push") == nil)
    }
}
