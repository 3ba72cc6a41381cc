import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TandemProtocol
import Testing

@testable import TandemServer

/// Push and pull are limited per token (a token bucket each); revocation is immediate.
@Suite struct RateLimitTests {
    /// The app on `fixture`'s store with these limits.
    private func app(
        _ fixture: ServerFixture, push: ServerConfiguration.RateLimit = .unlimited,
        pull: ServerConfiguration.RateLimit = .unlimited
    ) -> some ApplicationProtocol {
        var configuration = fixture.configuration
        configuration.pushRateLimit = push
        configuration.pullRateLimit = pull
        return buildApplication(
            configuration: configuration, store: fixture.store, logger: ServerFixture.quietLogger,
            clock: { ServerFixture.now })
    }

    // A rate so slow that no request of the test is refilled.
    private let tiny = ServerConfiguration.RateLimit(requestsPerSecond: 0.01, burst: 2)

    @Test func theRequestAfterTheBurstGets429WithRetryAfter() async throws {
        let fixture = try ServerFixture()
        let other = try await fixture.token(.auditor)
        try await app(fixture, pull: tiny).test(.router) { client throws in
            for _ in 0..<2 {
                #expect(try await client.call(.get, "/v1/pull?since=0", token: fixture.coordinator).status == .ok)
            }
            let refused = try await client.call(.get, "/v1/pull?since=0", token: fixture.coordinator)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorCode == "rate_limited")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...100).contains(retryAfter))
            // Another token has its own bucket; other endpoints and push are not touched.
            #expect(try await client.call(.get, "/v1/pull?since=0", token: other).status == .ok)
            #expect(try await client.call(.get, "/v1/whoami", token: fixture.coordinator).status == .ok)
            let push = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: Array(#"{"changes": []}"#.utf8))
            #expect(push.status == .ok)
        }
    }

    @Test func pushHasItsOwnLimit() async throws {
        let fixture = try ServerFixture()
        try await app(fixture, push: tiny).test(.router) { client throws in
            let body = Array(#"{"changes": []}"#.utf8)
            for _ in 0..<2 {
                #expect(try await client.call(.post, "/v1/push", token: fixture.coordinator, body: body).status == .ok)
            }
            let refused = try await client.call(.post, "/v1/push", token: fixture.coordinator, body: body)
            #expect(refused.status == .tooManyRequests && refused.errorCode == "rate_limited")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(try await client.call(.get, "/v1/pull?since=0", token: fixture.coordinator).status == .ok)
        }
    }

    @Test func aBadTokenIs401AndSpendsNothing() async throws {
        let fixture = try ServerFixture()
        try await app(fixture, pull: tiny).test(.router) { client throws in
            for _ in 0..<5 {
                #expect(try await client.call(.get, "/v1/pull?since=0", token: "tdm_0000").status == .unauthorized)
            }
            #expect(try await client.call(.get, "/v1/pull?since=0", token: fixture.coordinator).status == .ok)
        }
    }

    @Test func aZeroRateTurnsTheLimitOff() async throws {
        let fixture = try ServerFixture()
        let off = ServerConfiguration.RateLimit(requestsPerSecond: 0, burst: 1)
        try await app(fixture, pull: off).test(.router) { client throws in
            for _ in 0..<5 {
                #expect(try await client.call(.get, "/v1/pull?since=0", token: fixture.coordinator).status == .ok)
            }
        }
    }

    @Test func theDefaultsAreGenerousAndDocumented() {
        let configuration = ServerConfiguration(dataDirectory: "/tmp/data")
        #expect(configuration.pushRateLimit == .init(requestsPerSecond: 20, burst: 40))
        #expect(configuration.pullRateLimit == .init(requestsPerSecond: 50, burst: 100))
        #expect(configuration.tls == nil && configuration.scheme == "http")
    }

    @Test func aBucketRefillsAtItsRate() {
        let limit = ServerConfiguration.RateLimit(requestsPerSecond: 2, burst: 3)
        var bucket = TokenBucket(limit: limit, now: 100)
        #expect((0..<3).map { _ in bucket.take(now: 100) } == [.allowed, .allowed, .allowed])
        #expect(bucket.take(now: 100) == .refused(retryAfter: 1))
        #expect(bucket.take(now: 100.5) == .allowed)
        #expect(bucket.take(now: 100.5) == .refused(retryAfter: 1))
        #expect(!bucket.isFull(now: 101) && bucket.isFull(now: 102))
        let slow = ServerConfiguration.RateLimit(requestsPerSecond: 0.25, burst: 1)
        var waiting = TokenBucket(limit: slow, now: 0)
        #expect(waiting.take(now: 0) == .allowed)
        #expect(waiting.take(now: 1) == .refused(retryAfter: 3))
        // A clock going back refills nothing.
        #expect(waiting.take(now: 0.5) == .refused(retryAfter: 3))
    }

    @Test func aRevokedTokenIsRefusedFromTheNextRequest() async throws {
        let fixture = try ServerFixture()
        let token = try await fixture.token(.auditor)
        try await app(fixture).test(.router) { client throws in
            #expect(try await client.call(.get, "/v1/whoami", token: token).status == .ok)
            #expect(try await fixture.store.revoke(token: token, now: ServerFixture.now))
            #expect(try await client.call(.get, "/v1/whoami", token: token).status == .unauthorized)
            #expect(try await client.call(.get, "/v1/pull?since=0", token: token).status == .unauthorized)
        }
    }
}
