import Foundation
import HummingbirdTesting
import PostgresNIO
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// What only the PostgreSQL store has: a database that can go away under a serving instance.
@Suite struct PostgresStoreTests {
    @Test func aClusterThatStopsIsA503WithinTheDeadline() async throws {
        let cluster = try OwnCluster.start()
        let url = try await cluster.newDatabase()
        let (_, token) = try await PostgresServerStore.create(PostgresURL(url), now: ServerClock.wall())
        let store = try await PostgresServerStore.open(PostgresURL(url), deadline: .seconds(2))
        #expect(try await store.authenticate(token: token)?.role == .coordinator)
        cluster.stop()
        let started = ContinuousClock.now
        let refused = await #expect(throws: ServerError.self) { try await store.authenticate(token: token) }
        #expect(refused?.isInternal == true, "\(String(describing: refused))")
        #expect(ContinuousClock.now - started < .seconds(10), "answered within the deadline, not left waiting")
    }

    /// The same over a real socket: a request runs on its connection's event loop
    /// (`EventLoopPinnedChannel`), where the deadline is timed; a pull and a push both answer
    /// 503 with a JSON body in time, and the server still answers what needs no database.
    @Test func aClusterThatStopsAnswersRequestsOverHTTP503WithinTheDeadline() async throws {
        let cluster = try OwnCluster.start()
        let url = try await cluster.newDatabase()
        let (_, token) = try await PostgresServerStore.create(PostgresURL(url), now: ServerClock.wall())
        let store = try await PostgresServerStore.open(PostgresURL(url), deadline: .seconds(2))
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-pg-live-\(UUID().uuidString)")
        let app = buildApplication(
            configuration: ServerConfiguration(dataDirectory: data.path, port: 0), store: store,
            logger: ServerFixture.quietLogger)
        try await app.test(.live) { client in
            #expect(try await client.call(.get, "/v1/pull?since=0", token: token).status == .ok)
            cluster.stop()
            let started = ContinuousClock.now
            let pull = try await client.call(.get, "/v1/pull?since=0", token: token)
            let push = try await client.call(.post, "/v1/push", token: token, body: Array(#"{"changes": []}"#.utf8))
            for reply in [pull, push] {
                #expect(reply.status == .serviceUnavailable)
                #expect(reply.errorCode == "unavailable")
            }
            #expect(ContinuousClock.now - started < .seconds(15), "answered within the deadline, not left waiting")
            #expect(try await client.call(.get, "/healthz").status == .ok)
        }
    }

    @Test func aDatabaseClosedToConnectionsIsA503AndComesBack() async throws {
        let url = try await TestPostgres.newDatabase()
        let name = String(try #require(URLComponents(string: url)).path.dropFirst())
        let (created, token) = try await PostgresServerStore.create(PostgresURL(url), now: ServerClock.wall())
        _ = created
        let store = try await PostgresServerStore.open(PostgresURL(url), deadline: .seconds(2))
        let head = try await store.headSeq()
        let cluster = try TestPostgres.clusterURL()
        try await TestPostgres.execute(
            PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) ALLOW_CONNECTIONS false"), in: cluster)
        try await TestPostgres.execute(
            PostgresQuery(
                unsafeSQL: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)'"),
            in: cluster)
        let started = ContinuousClock.now
        let refused = await #expect(throws: ServerError.self) { try await store.authenticate(token: token) }
        #expect(refused?.isInternal == true, "\(String(describing: refused))")
        #expect(ContinuousClock.now - started < .seconds(10), "answered within the deadline, not left waiting")

        try await TestPostgres.execute(
            PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) ALLOW_CONNECTIONS true"), in: cluster)
        var back: Int64?
        for _ in 0..<30 where back == nil {
            back = try? await store.headSeq()
            if back == nil { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(back == head, "the store serves again once the database is back")
    }
}

/// A PostgreSQL cluster of this test's own (scripts/with-postgres.sh), which it may stop.
final class OwnCluster: Sendable {
    let process: ChildProcess
    let input: Pipe
    let url: String

    private init(process: ChildProcess, input: Pipe, url: String) {
        self.process = process
        self.input = input
        self.url = url
    }

    static func start() throws -> OwnCluster {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // The command prints the cluster's URL and waits for a line; then the script removes the cluster.
        process.arguments = [
            root.appendingPathComponent("scripts/with-postgres.sh").path, "bash", "-c",
            #"echo "URL=$TANDEM_TEST_POSTGRES"; read -r line"#,
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("URL=") || !text.hasSuffix("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("URL=") }) else {
            throw TestPostgres.Unavailable()
        }
        return OwnCluster(process: process, input: input, url: String(line.dropFirst(4)))
    }

    func newDatabase() async throws -> String {
        var components = try #require(URLComponents(string: url))
        let name = "stopping"
        try await TestPostgres.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), in: url)
        components.path = "/" + name
        return try #require(components.string)
    }

    /// Stops the cluster (at once, as a crash would) and waits until it is gone.
    func stop() {
        input.fileHandleForWriting.write(Data("stop\n".utf8))
        process.waitUntilExit()
    }

    deinit { if process.isRunning { stop() } }
}
