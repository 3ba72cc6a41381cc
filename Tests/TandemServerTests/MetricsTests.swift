import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TandemProtocol
import Testing

@testable import TandemServer

/// `GET /metrics`: who may read it, that what the server does moves the right series by the
/// right amounts, and that the text is Prometheus exposition.
@Suite struct MetricsTests {
    @Test func metricsAreForCoordinatorsAndAuditors() async throws {
        let fixture = try ServerFixture()
        let auditor = try await fixture.token(.auditor)
        let member = try await fixture.organisation("Ministry").token
        try await fixture.app().test(.router) { client in
            for token in [nil, "tdm_0000"] {
                let refused = try await client.call(.get, "/metrics", token: token)
                #expect(refused.status == .unauthorized)
                #expect(refused.errorCode == "unauthorized")
                #expect(refused.headers[.wwwAuthenticate] == "Bearer")
            }
            let forbidden = try await client.call(.get, "/metrics", token: member)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorCode == "forbidden")
            for token in [fixture.coordinator, auditor] {
                let reply = try await client.call(.get, "/metrics", token: token)
                #expect(reply.status == .ok)
                #expect(reply.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(String(decoding: reply.body, as: UTF8.self).contains("tandem_build_info{"))
            }
        }
    }

    @Test func aPushMovesTheCountersAndTheHead() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let changes = try await fixture.signed(
            [
                maker.insert("round", ["number": .int(5), "status": .string("open")]),
                maker.insert("round", ["number": .int(6), "status": .string("open")]),
                maker.insert("organisation", ["name": .string("Kovina"), "sector": .string("private")]),
            ], token: fixture.coordinator)
        try await fixture.app().test(.router) { client in
            let before = try await client.scrape(fixture.coordinator)
            let reply = try await client.pushUnsigned(changes, token: fixture.coordinator)
            #expect(reply.status == .ok)
            let after = try await client.scrape(fixture.coordinator)
            let applied = ["status": "applied", "reason": "none"]
            #expect(after.delta(from: before, "tandem_push_results_total", applied) == 3)
            #expect(after.delta(from: before, "tandem_changes_merged_total") == 3)
            #expect(after.delta(from: before, "tandem_log_head_seq") == 3)
            #expect(after.value("tandem_log_head_seq") == Double(try await fixture.store.headSeq()))
            let push = ["endpoint": "/v1/push", "method": "POST", "status": "200"]
            #expect(after.delta(from: before, "tandem_http_requests_total", push) == 1)
            let timed = ["endpoint": "/v1/push", "method": "POST"]
            #expect(after.delta(from: before, "tandem_http_request_duration_seconds_count", timed) == 1)
            let transaction = ["operation": "push"]
            #expect(after.delta(from: before, "tandem_store_transaction_duration_seconds_count", transaction) == 1)
            // Nothing else was pushed.
            #expect(after.delta(from: before, "tandem_push_results_total", ["status": "rejected"]) == 0)
        }
    }

    @Test func aRejectedChangeCountsItsReasonClass() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let unsigned = maker.insert("round", ["number": .int(5)])
        let unknownTable = try await fixture.signed(
            [maker.insert("secret_table", ["x": .int(1)])], token: fixture.coordinator)
        try await fixture.app().test(.router) { client in
            let before = try await client.scrape(fixture.coordinator)
            let reply = try await client.pushUnsigned([unsigned] + unknownTable, token: fixture.coordinator)
            #expect(try PushResponse(json: reply.json).results.map(\.reason) == ["signature", "schema:table"])
            let after = try await client.scrape(fixture.coordinator)
            #expect(
                after.delta(from: before, "tandem_push_results_total", ["status": "rejected", "reason": "signature"])
                    == 1)
            #expect(
                after.delta(from: before, "tandem_push_results_total", ["status": "rejected", "reason": "schema"]) == 1)
            #expect(after.delta(from: before, "tandem_push_results_total", ["status": "rejected"]) == 2)
            #expect(after.delta(from: before, "tandem_changes_merged_total") == 0)
            // The reason's class, never its text: no table or field name becomes a label value.
            #expect(!after.text.contains("secret_table"))
        }
    }

    @Test(arguments: [
        ("signature", "signature"), ("clock", "clock"), ("schema:type:number", "schema"),
        ("value_too_large", "size"), ("not_permitted", "permission"), ("deleted", "state"), ("exists", "state"),
        ("missing", "state"), ("updated", "state"), ("erased", "state"), ("reference:organisation", "reference"),
        ("referenced", "reference"), ("unique:email", "unique"), ("check:base_version", "constraint"),
        ("limit:budget", "constraint"), ("commitment:full_name", "commitment"), ("something_new", "other"),
    ])
    func everyRejectionIsCountedByItsBoundedFamily(_ reason: String, _ label: String) {
        let result = PushResult(
            changeID: "c", status: .rejected, seq: nil, version: nil, reason: RejectionReason(rawValue: reason))
        #expect(PushOutcomeClass(result).reason == label)
        #expect(
            PushOutcomeClass(PushResult(changeID: "c", status: .applied, seq: 1, version: 1, reason: nil)).reason
                == "none")
    }

    @Test func theTextIsPrometheusExposition() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let round = maker.insert("round", ["number": .int(5)])
        try await fixture.app().test(.router) { client in
            _ = try await client.push([round], token: fixture.coordinator)
            _ = try await client.call(.get, "/nowhere/at/all")
            _ = try await client.call(.get, "/metrics", token: fixture.coordinator)
            let scrape = try await client.scrape(fixture.coordinator)
            #expect(scrape.problems.isEmpty, "\(scrape.problems)")
            #expect(scrape.samples.count > 20)
            for sample in scrape.samples {
                #expect(sample.name.hasPrefix("tandem_"), "\(sample.name)")
                #expect(scrape.types[scrape.family(of: sample.name)] != nil, "\(sample.name) has no # TYPE line")
            }
            #expect(scrape.types["tandem_http_requests_total"] == "counter")
            #expect(scrape.types["tandem_http_request_duration_seconds"] == "histogram")
            #expect(scrape.types["tandem_store_transaction_duration_seconds"] == "histogram")
            #expect(scrape.types["tandem_log_head_seq"] == "gauge")
            #expect(scrape.value("tandem_build_info", ["version": ServerBuild.version]) == 1)
            // Histograms: cumulative buckets ending in +Inf, which is the count.
            let push = ["endpoint": "/v1/push", "method": "POST"]
            let buckets = scrape.samples.filter {
                $0.name == "tandem_http_request_duration_seconds_bucket" && $0.matches(push)
            }
            #expect(buckets.count > 5)
            #expect(buckets.map(\.value) == buckets.map(\.value).sorted())
            #expect(buckets.last?.labels["le"] == "+Inf")
            #expect(buckets.last?.value == scrape.value("tandem_http_request_duration_seconds_count", push))
        }
    }

    @Test func endpointsAreRouteTemplatesNeverRawPaths() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            for id in ["c-one", "c-two"] {
                let reply = try await client.call(
                    .post, "/v1/conflicts/\(id)/resolve", token: fixture.coordinator, json: .object([]))
                #expect(reply.status == .badRequest)
            }
            for path in ["/probe-1", "/probe-2/x"] {
                #expect(try await client.call(.get, path).status == .notFound)
            }
            let scrape = try await client.scrape(fixture.coordinator)
            let resolve = ["endpoint": "/v1/conflicts/{id}/resolve", "method": "POST", "status": "400"]
            #expect(scrape.value("tandem_http_requests_total", resolve) == 2)
            #expect(scrape.value("tandem_http_requests_total", ["endpoint": "unmatched", "status": "404"]) == 2)
            for text in ["c-one", "c-two", "probe"] { #expect(!scrape.text.contains(text)) }
        }
    }

    @Test func aRateLimitedRequestIsCounted() async throws {
        let fixture = try ServerFixture()
        var configuration = fixture.configuration
        configuration.pullRateLimit = ServerConfiguration.RateLimit(requestsPerSecond: 0.01, burst: 2)
        let app = buildApplication(
            configuration: configuration, store: fixture.store, logger: ServerFixture.quietLogger,
            clock: { ServerFixture.now })
        try await app.test(.router) { client in
            let before = try await client.scrape(fixture.coordinator)
            let statuses = try await (0..<3).asyncMap { _ in
                try await client.call(.get, "/v1/pull", token: fixture.coordinator).status
            }
            #expect(statuses == [.ok, .ok, .tooManyRequests])
            let after = try await client.scrape(fixture.coordinator)
            #expect(after.delta(from: before, "tandem_rate_limited_requests_total", ["limit": "pull"]) == 1)
            #expect(after.delta(from: before, "tandem_rate_limited_requests_total", ["limit": "push"]) == 0)
            let refused = ["endpoint": "/v1/pull", "status": "429"]
            #expect(after.delta(from: before, "tandem_http_requests_total", refused) == 1)
        }
    }

    @Test func openConflictsAreReadFromTheStoreAndResolvesAreTimed() async throws {
        let fixture = try ServerFixture()
        let scenario = try await ExchangeConflict(fixture)
        try await fixture.app().test(.router) { client in
            _ = try await client.push(scenario.setup, token: fixture.coordinator)
            let before = try await client.scrape(fixture.coordinator)
            #expect(before.value("tandem_open_conflicts") == 0)
            let pushed = try PushResponse(
                json: try await client.push([scenario.rival], token: scenario.home.token).json)
            #expect(pushed.results.map(\.status) == [.conflict])
            let opened = try await client.scrape(fixture.coordinator)
            #expect(opened.value("tandem_open_conflicts") == 1)
            #expect(opened.delta(from: before, "tandem_push_results_total", ["status": "conflict"]) == 1)
            #expect(opened.delta(from: before, "tandem_changes_merged_total") == 1)

            let conflict = try #require(try await fixture.store.conflictRows(includeResolved: false).first)
            let resolved = try await client.call(
                .post, "/v1/conflicts/\(conflict.id)/resolve", token: fixture.coordinator,
                json: Resolution.keepIncoming.json)
            #expect(resolved.status == .ok)
            let after = try await client.scrape(fixture.coordinator)
            #expect(after.value("tandem_open_conflicts") == 0)
            #expect(
                after.delta(from: opened, "tandem_store_transaction_duration_seconds_count", ["operation": "resolve"])
                    == 1)
        }
    }

    @Test func eachApplicationCountsInARegistryOfItsOwn() async throws {
        let first = try ServerFixture()
        let second = try ServerFixture()
        var maker = ChangeMaker()
        let round = maker.insert("round", ["number": .int(5)])
        try await first.app().test(.router) { client in
            _ = try await client.push([round], token: first.coordinator)
        }
        try await second.app().test(.router) { client in
            let scrape = try await client.scrape(second.coordinator)
            #expect(scrape.value("tandem_changes_merged_total") == 0)
            #expect(scrape.value("tandem_store_transaction_duration_seconds_count", ["operation": "push"]) == 0)
        }
    }

    @Test func connectedClientsAreTheOpenConnections() async throws {
        let fixture = try ServerFixture()
        let token = fixture.coordinator
        try await fixture.app().test(.live) { client in
            let port = try #require(client.port)
            // The scrape's own connection, and whatever the test client holds.
            let baseline = try #require(try await Self.connectedClients(port: port, token: token))
            #expect(baseline >= 1)
            var held = [try RawHTTPConnection(port: port), try RawHTTPConnection(port: port)]
            #expect(try await Self.connectedClients(port: port, token: token, until: baseline + 2) == baseline + 2)
            held.removeAll()
            #expect(held.isEmpty)
            #expect(try await Self.connectedClients(port: port, token: token, until: baseline) == baseline)
        }
    }

    /// `tandem_connected_clients` scraped over a connection of its own, again (for up to 5 s)
    /// until it reads `expected` when one is given: connections are counted as the server sets
    /// them up and closes them.
    static func connectedClients(port: Int, token: String, until expected: Double? = nil) async throws -> Double? {
        let request = RawHTTPConnection.request("GET", "/metrics", headers: [("Authorization", "Bearer \(token)")])
        var value: Double?
        for _ in 0..<50 {
            let reply = try await RawHTTPConnection.exchange(port: port, request)
            value = Exposition(String(decoding: reply.body, as: UTF8.self)).value("tandem_connected_clients")
            if expected == nil || value == expected { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return value
    }
}

extension TestClientProtocol {
    /// `GET /metrics` with `token`, parsed.
    func scrape(_ token: String) async throws -> Exposition {
        let reply = try await call(.get, "/metrics", token: token)
        guard reply.status == .ok else { throw FixtureError(description: "GET /metrics: \(reply.status)") }
        return Exposition(String(decoding: reply.body, as: UTF8.self))
    }
}

extension Sequence {
    /// `transform` of each element, one after the other.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
