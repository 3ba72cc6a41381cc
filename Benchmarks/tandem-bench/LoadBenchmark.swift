// Issue 10 §6, the load test: `--clients N` (2,000) clients on loopback, each with its own member
// token, each syncing once a second for `--seconds S` — a pull from its cursor (a no-op, or the
// few entries others pushed), and one client in ten also pushing one signed change first — against
// a real `tandem-server serve` process on SQLite, then on PostgreSQL. Reported: request latency
// p50/p99 as the clients saw it, the server's peak RSS (VmHWM), the server's CPU time (user +
// system, /proc) per request, and its own view from /metrics (its time in a request, its group
// commits). Then the same clients sync with nothing to send or receive (no one
// pushes): the server's CPU per no-op sync, the figure issue 10 §6 sets its target for.

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import TandemProtocol
import TandemServer
import TandemTesting

func runLoadBenchmark(options: Options, scratch: URL) async throws {
    say("")
    say(
        "§10.6 load: \(grouped(options.clients)) clients, each its own member token, each syncing once a second for "
            + "\(options.seconds) s (a pull from its cursor; one in ten also pushes a change first), against tandem-server serve"
    )
    say(
        "  " + padded("store", 12) + padded("requests", 10) + padded("p50", 10) + padded("p99", 10)
            + padded("errors", 8) + padded("server peak RSS", 17) + "server CPU / request")
    for postgres in [false, true] {
        let database = postgres ? try await TestPostgres.newDatabase() : nil
        let load = try await LoadRun(
            directory: scratch.appendingPathComponent(postgres ? "load-pg" : "load-sqlite").path,
            database: database, clients: options.clients)
        let outcome = try await load.run(seconds: options.seconds, pushing: true)
        // Every client catches up with what the last second brought, then syncs with nothing to do.
        _ = try await load.run(seconds: 1, pushing: false)
        let idle = try await load.run(seconds: max(2, options.seconds / 2), pushing: false)
        load.stop()
        let name = postgres ? "PostgreSQL" : "SQLite"
        say(
            "  " + padded(name, 12) + padded(grouped(outcome.requests), 10)
                + padded(String(format: "%.1f ms", outcome.p50), 10)
                + padded(String(format: "%.1f ms", outcome.p99), 10)
                + padded(grouped(outcome.errors), 8) + padded("\(grouped(outcome.peakRSS / 1024)) MiB", 17)
                + String(format: "%.3f ms", outcome.cpuPerRequest))
        say("  \(name) pushes alone: " + String(format: "p50 %.1f ms, p99 %.1f ms", outcome.pushP50, outcome.pushP99))
        say("  \(name) as the server saw it (/metrics): " + outcome.seen.description)
        say(
            "  \(name) no-op syncs alone (no one pushing, \(grouped(idle.requests)) pulls): "
                + String(
                    format: "p50 %.1f ms, p99 %.1f ms, server CPU %.3f ms a sync", idle.p50, idle.p99,
                    idle.cpuPerRequest))
        Targets.shared.judge(
            "§10.6 load on \(name): p99 latency",
            measured: String(format: "%.1f ms (p50 %.1f ms)", outcome.p99, outcome.p50),
            target: "<= 250 ms", passed: outcome.p99 <= 250 && outcome.errors == 0)
        Targets.shared.judge(
            "§10.6 load on \(name): server peak RSS", measured: "\(grouped(outcome.peakRSS / 1024)) MiB",
            target: "<= 200 MB", passed: Double(outcome.peakRSS) * 1024 <= 200_000_000)
        Targets.shared.judge(
            "§10.6 load on \(name): server CPU per no-op sync",
            measured: String(
                format: "%.3f ms (%d syncs; %.3f ms a request while one client in ten pushes)", idle.cpuPerRequest,
                idle.requests, outcome.cpuPerRequest),
            target: "<= 0.25 ms", passed: idle.cpuPerRequest <= 0.25 && idle.errors == 0)
    }
    say("  (requests: every pull and push; CPU: the server process's user + system time over the run / requests)")
}

/// One load run: a store with 20 organisations and `clients` member tokens, served by a real process.
final class LoadRun: @unchecked Sendable {
    struct Client {
        let token: String
        let organisation: String
        let device: String
        let key: SigningKey
    }

    struct Outcome {
        var requests: Int
        var errors: Int
        var p50: Double
        var p99: Double
        /// p50 and p99 of the pushes alone (the one client in ten that pushes, before its pull).
        var pushP50: Double
        var pushP99: Double
        /// KiB.
        var peakRSS: Int
        /// Milliseconds of server CPU per request.
        var cpuPerRequest: Double
        /// What the server's own `/metrics` counted over the run.
        var seen: ServerView
    }

    /// The run as the server's `/metrics` counted it: its time in each request (from the request
    /// read to the answer written), and its group commits — beside the clients' latencies, where
    /// a request waited (for a CPU, a connection, the writer) shows.
    struct ServerView: CustomStringConvertible {
        static let pull = #"tandem_http_request_duration_seconds_%@{endpoint="/v1/pull",method="GET"}"#
        static let push = #"tandem_http_request_duration_seconds_%@{endpoint="/v1/push",method="POST"}"#
        static let commit = #"tandem_store_transaction_duration_seconds_%@{operation="push"}"#

        /// Each series' sum and count, after the run less before it.
        var series: [String: Double]

        func mean(_ name: String) -> (mean: Double, count: Double) {
            let count = series[String(format: name, "count")] ?? 0
            return (count > 0 ? (series[String(format: name, "sum")] ?? 0) / count * 1000 : 0, count)
        }

        var description: String {
            let (pull, push, commit) = (mean(Self.pull), mean(Self.push), mean(Self.commit))
            return String(
                format: "a pull %.1f ms, a push %.1f ms on average; %.0f group commits of %.1f pushes, %.1f ms each",
                pull.mean, push.mean, commit.count, commit.count > 0 ? push.count / commit.count : 0, commit.mean)
        }
    }

    let server: ServerProcess
    let clients: [Client]
    /// Reads `/metrics`.
    private let coordinator: String
    /// Each client's cursor, carried from one run to the next.
    private var cursors: [Int64]

    init(directory: String, database: String?, clients count: Int) async throws {
        let location: StoreLocation =
            if let database { .postgres(try PostgresURL(database), directory: nil) } else { .directory(directory) }
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        let (store, coordinatorToken) = try await location.create(now: wall)
        var clients: [Client] = []
        for index in 0..<20 {
            let (organisation, token) = try await store.addOrganisation(
                name: "Organisation \(index)", sector: "public", now: wall)
            guard let principal = try await store.authenticate(token: token) else { fail("no principal") }
            let key = SigningKey()
            let device = "load-device-\(index)"
            _ = try await store.registerDevice(device, publicKey: key.publicKey, by: principal, now: wall)
            for _ in 0..<(count / 20) {
                let token = try await store.issueToken(role: .member, organisation: organisation, now: wall)
                clients.append(Client(token: token, organisation: organisation, device: device, key: key))
            }
        }
        self.clients = clients
        coordinator = coordinatorToken
        cursors = Array(repeating: 0, count: clients.count)
        let unlimited = ["--push-rate", "0", "--pull-rate", "0"]
        server = try ServerProcess.serving(
            existing: directory, coordinatorToken: coordinatorToken,
            arguments: unlimited + (database.map { ["--database", $0] } ?? []))
    }

    /// Every client syncs once a second for `seconds`, from its cursor; when `pushing`, one client
    /// in ten pushes a change first.
    func run(seconds: Int, pushing: Bool) async throws -> Outcome {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 4_000)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let base = server.url
        let seenBefore = await Self.metrics(http, base, token: coordinator)
        let cpuBefore = ProcessStats.cpuMilliseconds(of: server.processIdentifier)
        let start = now()
        let end = start + Double(seconds) * 1000
        let results = await withTaskGroup(
            of: (index: Int, latencies: [Double], pushes: [Double], errors: Int, cursor: Int64).self
        ) { group in
            for (index, client) in clients.enumerated() {
                let from = cursors[index]
                group.addTask {
                    var latencies: [Double] = []
                    var pushes: [Double] = []
                    var errors = 0
                    var cursor = from
                    var tick = start + Double(index % 1000)  // spread over the first second
                    var made = 0
                    while tick < end {
                        let wait = tick - now()
                        if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait))) }
                        if pushing, index % 10 == 0 {
                            made += 1
                            let (change, values) = Self.change(by: client, number: made, client: index)
                            let begun = now()
                            let status = await Self.send(
                                http, base + "/v1/push", token: client.token,
                                body: PushRequest(changes: [change], values: values).json.serialized())
                            latencies.append(now() - begun)
                            pushes.append(now() - begun)
                            if status.code != 200 { errors += 1 }
                        }
                        let begun = now()
                        let pulled = await Self.send(
                            http, base + "/v1/pull?since=\(cursor)&limit=1000", token: client.token, body: nil)
                        latencies.append(now() - begun)
                        if pulled.code == 200, let next = pulled.next { cursor = next } else { errors += 1 }
                        tick += 1000
                    }
                    return (index, latencies, pushes, errors, cursor)
                }
            }
            var all: (latencies: [Double], pushes: [Double], errors: Int, cursors: [Int: Int64]) = ([], [], 0, [:])
            for await result in group {
                all.latencies += result.latencies
                all.pushes += result.pushes
                all.errors += result.errors
                all.cursors[result.index] = result.cursor
            }
            return all
        }
        for (index, cursor) in results.cursors { cursors[index] = cursor }
        let cpu = ProcessStats.cpuMilliseconds(of: server.processIdentifier) - cpuBefore
        let peak = ProcessStats.peakRSSKiB(of: server.processIdentifier)
        let seen = await Self.metrics(http, base, token: coordinator).merging(
            seenBefore.mapValues { -$0 }, uniquingKeysWith: +)
        try await http.shutdown()
        let sorted = results.latencies.sorted()
        let pushes = results.pushes.sorted()
        func percentile(_ p: Double, of sorted: [Double]) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        return Outcome(
            requests: sorted.count, errors: results.errors, p50: percentile(0.5, of: sorted),
            p99: percentile(0.99, of: sorted), pushP50: percentile(0.5, of: pushes),
            pushP99: percentile(0.99, of: pushes),
            peakRSS: peak, cpuPerRequest: cpu / Double(max(sorted.count, 1)), seen: ServerView(series: seen))
    }

    func stop() { server.stop() }

    /// Every `_sum` and `_count` series of the server's `/metrics` (empty when it cannot be read).
    static func metrics(_ http: HTTPClient, _ base: String, token: String) async -> [String: Double] {
        var request = HTTPClientRequest(url: base + "/metrics")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        guard let response = try? await http.execute(request, timeout: .seconds(30)), response.status.code == 200,
            let body = try? await response.body.collect(upTo: 16 << 20)
        else { return [:] }
        var series: [String: Double] = [:]
        for line in String(buffer: body).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let name = String(line[..<space])
            if name.contains("_sum") || name.contains("_count") { series[name] = value }
        }
        return series
    }

    /// A new person of the client's organisation, its name committed to and signed by its
    /// organisation's device as a replica does (SPEC §8), with the name's opening.
    static func change(by client: Client, number: Int, client index: Int) -> (Change, Openings) {
        let clock = HLC(
            milliseconds: Int64(Date().timeIntervalSince1970 * 1000), counter: number % 100_000, device: client.device)
        let (change, openings) = Change(
            changeID: UUIDv7Generator.id(at: clock), table: "person", recordID: UUIDv7Generator.id(at: clock),
            op: .insert,
            fields: [
                "organisation": .string(client.organisation), "full_name": .string("Person \(index)-\(number)"),
            ], baseVersion: 0, hlc: clock.description, device: client.device
        ).sealed(personal: Schema.partnership.personalFields(of: "person"), salts: SaltKey(client.key))
        return (change.signed(with: client.key), Openings(openings))
    }

    /// The status of a request (0 when it failed) and, for a pull, its `next`.
    static func send(_ http: HTTPClient, _ url: String, token: String, body: String?) async
        -> (code: Int, next: Int64?)
    {
        var request = HTTPClientRequest(url: url)
        request.method = body == nil ? .GET : .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 16 << 20)
            guard response.status.code == 200 else { return (Int(response.status.code), nil) }
            guard body == nil else { return (200, nil) }
            return (200, bytes.withUnsafeReadableBytes { next(in: Array($0)) })
        } catch {
            return (0, nil)
        }
    }

    /// A pull page's `next`, found without parsing the page: the last `"next":` of its text is the
    /// page's own (items come before it, and nothing after it has that key), so the clients,
    /// which share the server's two cores on loopback, spend little on reading their answers.
    static func next(in bytes: [UInt8]) -> Int64? {
        let key = Array(#""next":"#.utf8)
        var start = bytes.count - key.count
        while start >= 0 {
            if bytes[start] == key[0], bytes[start..<(start + key.count)].elementsEqual(key) { break }
            start -= 1
        }
        guard start >= 0 else { return nil }
        var value: Int64 = 0
        var index = start + key.count
        var digits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            value = value * 10 + Int64(bytes[index] - 48)
            index += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

/// A process's CPU time and peak memory, from /proc.
enum ProcessStats {
    static func cpuMilliseconds(of pid: Int32?) -> Double {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func peakRSSKiB(of pid: Int32?) -> Int {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
