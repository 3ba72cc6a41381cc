import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TandemServer

/// The table that tells 405 from 404 must list exactly the routes the router serves.
@Suite struct RouteTableTests {
    @Test func everyListedRouteAndMethodIsServed() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            for entry in RouteTable.entries {
                let path = "/" + entry.segments.map { $0.hasPrefix(":") ? "x" : $0 }.joined(separator: "/")
                for method in entry.methods {
                    let reply = try await client.call(method, path, token: fixture.coordinator, body: Array("{}".utf8))
                    let answer = "\(method) \(path): \(reply.status) \(reply.errorMessage ?? "")"
                    #expect(reply.status != .methodNotAllowed, "\(answer)")
                    // A handler answers, never the router's 404 ("no such endpoint"): on a parameterised
                    // path too (POST /v1/conflicts/x/resolve reads the body "{}" first and refuses it).
                    #expect(reply.status != .notFound, "\(answer)")
                }
            }
        }
    }

    @Test func pathsMatchSegmentBySegment() {
        #expect(RouteTable.methods(for: "/v1/push") == [.post])
        #expect(RouteTable.methods(for: "/v1/push/") == [.post])
        #expect(RouteTable.methods(for: "/v1/conflicts/abc/resolve") == [.post])
        #expect(RouteTable.methods(for: "/v1/conflicts/abc") == nil)
        #expect(RouteTable.methods(for: "/") == nil)
    }
}
