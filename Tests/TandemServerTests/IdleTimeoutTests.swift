import Foundation
import HummingbirdTesting
import TandemServer
import Testing

/// Connections that go silent are cut after ``ServerConfiguration/idleTimeout``, over a raw
/// socket against a live server.
@Suite struct IdleTimeoutTests {
    static let timeout = 1.0

    func withServer(_ body: @escaping @Sendable (_ port: Int, _ fixture: ServerFixture) async throws -> Void)
        async throws
    {
        let fixture = try ServerFixture()
        var configuration = fixture.configuration
        configuration.idleTimeout = .seconds(Self.timeout)
        let app = buildApplication(
            configuration: configuration, store: fixture.store, logger: ServerFixture.quietLogger,
            clock: { ServerFixture.now })
        try await app.test(.live) { client in
            try await body(try #require(client.port), fixture)
        }
    }

    /// Connects, sends `bytes`, reads a response when `expectsResponse`, then returns the
    /// status read (0 if none) and the seconds until the server closed the connection (nil when
    /// it did not within 10 s).
    static func closing(port: Int, sending bytes: [UInt8], expectsResponse: Bool = false) async throws -> (
        status: Int, seconds: Double?
    ) {
        try await RawHTTPConnection.blocking {
            let connection = try RawHTTPConnection(port: port)
            connection.send(bytes)
            let status = expectsResponse ? connection.response().status : 0
            let start = ContinuousClock.now
            guard connection.waitForClose() else { return (status, nil) }
            let elapsed = ContinuousClock.now - start
            return (status, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }

    @Test(arguments: [
        ("nothing at all", ""),
        ("half a request line", "POST /v1/pu"),
        ("headers that never end", "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"),
        ("half a body", "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"changes\": ["),
    ])
    func silentConnectionIsClosedAfterTheIdleTimeout(_ name: String, _ sent: String) async throws {
        try await withServer { port, fixture in
            let seconds = try await Self.closing(port: port, sending: Array(sent.utf8)).seconds
            #expect(seconds != nil, "\(name): still open after 10 s")
            #expect((seconds ?? 0) >= Self.timeout * 0.5, "\(name): closed too early")
            #expect((seconds ?? 99) < Self.timeout * 4, "\(name): closed after \(seconds ?? 0) s")
            #expect(try await fixture.store.headSeq() == 1, "only entry 1, the server's key")
            let health = try await RawHTTPConnection.exchange(port: port, RawHTTPConnection.request("GET", "/healthz"))
            #expect(health.status == 200)
        }
    }

    @Test func keptAliveConnectionIsAnsweredThenClosedWhenIdle() async throws {
        try await withServer { port, _ in
            let kept = try await Self.closing(
                port: port, sending: RawHTTPConnection.request("GET", "/healthz"), expectsResponse: true)
            #expect(kept.status == 200)
            #expect(kept.seconds != nil)
        }
    }

    @Test func defaultIdleTimeoutIsThirtySeconds() {
        #expect(ServerConfiguration(dataDirectory: "/tmp/x").idleTimeout == .seconds(30))
    }
}
