import Foundation
import Hummingbird
import HummingbirdTesting
import TandemCompression
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// A corpus of hostile requests against a live server: each gets a 4xx with
/// `{"error", "message"}` (or, a well-formed push, 200 with a rejection per change), writes
/// nothing it should not, leaves the seeded data intact, and the server answers `/healthz` after.
@Suite struct HostileInputTests {
    @Test(arguments: HostileCase.corpus)
    func hostileRequestIsRefusedCleanly(_ hostile: HostileCase) async throws {
        let bench = try await HostileBench()
        try await bench.app().test(.live) { client in
            let port = try #require(client.port)
            let seen = try await bench.run(hostile, port: port)
            #expect(seen.status == hostile.status, "\(hostile)")
        }
    }

    /// The whole corpus in a row against one server (it must survive all of it), printed as a
    /// table of classes and statuses.
    @Test func corpusRunsInARowAgainstOneServer() async throws {
        let bench = try await HostileBench()
        let seen: [(kind: String, status: Int)] = try await bench.app().test(.live) { client in
            let port = try #require(client.port)
            var seen: [(kind: String, status: Int)] = []
            for hostile in HostileCase.corpus {
                let reply = try await bench.run(hostile, port: port)
                #expect(reply.status == hostile.status, "\(hostile)")
                seen.append((hostile.kind, reply.status))
            }
            return seen
        }
        var rows: [String: (count: Int, statuses: [Int: Int])] = [:]
        for (kind, status) in seen {
            rows[kind, default: (0, [:])].count += 1
            rows[kind, default: (0, [:])].statuses[status, default: 0] += 1
        }
        var table = "hostile-input corpus: \(HostileCase.corpus.count) requests\n"
        table += "| class | requests | statuses |\n|---|---|---|\n"
        for kind in HostileCase.kinds {
            guard let row = rows[kind] else { continue }
            let statuses = row.statuses.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            table += "| \(kind) | \(row.count) | \(statuses.joined(separator: ", ")) |\n"
        }
        print(table)
        #expect(HostileCase.corpus.count >= 50)
    }
}

/// A store seeded with one round, a member and an auditor, and the checks every case ends with.
struct HostileBench: Sendable {
    let fixture: ServerFixture
    let member: String
    let auditor: String
    let seed: Change
    /// The coordinator's registered device: what the corpus's well-formed changes are signed by,
    /// so that a case about the schema or the clock meets that check, not the signature's.
    let device: String

    init() async throws {
        fixture = try ServerFixture(maximumBodySize: HostileCase.bodyLimit)
        member = try await fixture.organisation("Kovina").token
        auditor = try await fixture.token(.auditor)
        var maker = ChangeMaker(device: "seed-device")
        seed = maker.insert("round", ["number": .int(1), "title": .string("seed")])
        _ = try await fixture.store.pushSigned(
            [seed], by: Principal(tokenID: "seed", organisation: nil, role: .coordinator), now: ServerFixture.now)
        device = try await fixture.registerDevice("device-1", token: fixture.coordinator)
    }

    /// `members` (a change's JSON) signed by the bench's device as it stands; left unsigned when
    /// it is not a change at all (the server refuses it before any signature matters).
    func sign(_ members: inout [JSONMember]) {
        members.removeAll { $0.key == "signature" }
        guard let change = try? Change(json: .object(members)) else { return }
        members.append(JSONMember("signature", .string(TestDevices.shared.key(for: device).sign(change.signingBytes))))
    }

    /// The live application, rate limits off: the corpus sends far more pushes a second than a
    /// sync would, and must meet the checks it is about rather than 429.
    func app() -> some ApplicationProtocol {
        var configuration = fixture.configuration
        configuration.pushRateLimit = .unlimited
        configuration.pullRateLimit = .unlimited
        return buildApplication(
            configuration: configuration, store: fixture.store, logger: ServerFixture.quietLogger,
            clock: { ServerFixture.now })
    }

    /// Sends the case, checks everything but the status, and returns what came back.
    func run(_ hostile: HostileCase, port: Int) async throws -> RawHTTPConnection.Response {
        let before = try await fixture.store.headSeq()
        let reply = try await RawHTTPConnection.exchange(port: port, hostile.request(self))
        let after = try await fixture.store.headSeq()
        #expect(reply.status >= 200 && reply.status < 500, "\(hostile): \(reply.status)")
        if reply.status >= 400 {
            let body = try? JSONValue.parse(bytes: reply.body)
            #expect(
                body.flatMap { $0["error"] }.map { if case .string = $0 { true } else { false } } == true, "\(hostile)")
            #expect(
                body.flatMap { $0["message"] }.map { if case .string = $0 { true } else { false } } == true,
                "\(hostile)")
            if let code = hostile.code { #expect(body?["error"] == .string(code), "\(hostile)") }
            #expect(after == before, "\(hostile) wrote to the log")
        } else if let outcomes = hostile.outcomes {
            let results = try PushResponse(json: JSONValue.parse(bytes: reply.body)).results
            #expect(results.map(\.status.rawValue) == outcomes.map(\.status), "\(hostile)")
            for (result, outcome) in zip(results, outcomes) {
                #expect(
                    (result.reason?.rawValue ?? "").hasPrefix(outcome.reason),
                    "\(hostile): \(result.reason?.rawValue ?? "nil")")
            }
            #expect(after == before + Int64(outcomes.count), "\(hostile): one log entry a change")
            // A rejected change leaves no record behind.
            let page = try await fixture.store.pull(
                since: before, limit: 100, for: Principal(tokenID: "check", organisation: nil, role: .coordinator))
            let written = page.items.filter { $0.record != nil }.count
            #expect(written == outcomes.filter { $0.status != "rejected" }.count, "\(hostile)")
        }
        // The seeded data is intact and the server still serves.
        let all = try await fixture.store.pull(
            since: 0, limit: 1000, for: Principal(tokenID: "check", organisation: nil, role: .coordinator))
        let seeded = all.items.first { $0.recordID == seed.recordID }?.record
        #expect(seeded?["title"] == .string("seed") && seeded?["number"] == .int(1), "\(hostile)")
        let health = try await RawHTTPConnection.exchange(port: port, RawHTTPConnection.request("GET", "/healthz"))
        #expect(health.status == 200, "\(hostile): /healthz after")
        return reply
    }
}

/// One hostile request: its class, what it sends, and what it must get.
struct HostileCase: Sendable, CustomTestStringConvertible {
    struct Expected: Sendable {
        var status: String
        var reason: String
    }

    let kind: String
    let name: String
    let status: Int
    /// The `error` code a 4xx must carry (nil: any).
    let code: String?
    /// A 200 push: each change's status and reason prefix.
    let outcomes: [Expected]?
    let request: @Sendable (HostileBench) -> [UInt8]

    var testDescription: String { "\(kind): \(name)" }
    var description: String { testDescription }

    static let bodyLimit = 1 << 20
}

extension HostileCase {
    /// The classes in the order the summary lists them.
    static let kinds = [
        "body limit", "gzip", "malformed JSON", "wrong shape or type", "unknown table or field", "invalid UTF-8",
        "SQL injection", "cursor and limit", "oversized value", "too many changes", "deep nesting", "duplicate keys",
        "NUL byte", "clock", "Content-Encoding", "Content-Type", "huge header", "path traversal",
        "method not allowed", "authentication", "signature",
    ]

    static let corpus: [HostileCase] =
        bodyAndEncoding + malformed + shapes + schemaAndInjection + queries + sizes + protocolLevel + signatures

    // MARK: Builders

    /// A coordinator's push of `body` as it is.
    static func push(
        _ kind: String, _ name: String, _ body: [UInt8], status: Int, code: String? = nil,
        outcomes: [Expected]? = nil, headers: [(String, String)] = []
    ) -> HostileCase {
        HostileCase(kind: kind, name: name, status: status, code: code, outcomes: outcomes) { bench in
            RawHTTPConnection.request(
                "POST", "/v1/push", headers: [("Authorization", "Bearer \(bench.fixture.coordinator)")] + headers,
                body: body)
        }
    }

    static func push(_ kind: String, _ name: String, _ body: String, status: Int, code: String? = nil) -> HostileCase {
        push(kind, name, Array(body.utf8), status: status, code: code)
    }

    /// A push of one change made from a good insert of a round from the bench's device, with
    /// `edit` applied to its JSON, then signed by that device, then `afterSigning` applied.
    static func change(
        _ kind: String, _ name: String, status: Int, code: String? = nil, outcome: Expected? = nil,
        afterSigning: @escaping @Sendable (inout [JSONMember]) -> Void = { _ in },
        _ edit: @escaping @Sendable (inout [JSONMember]) -> Void
    ) -> HostileCase {
        HostileCase(kind: kind, name: name, status: status, code: code, outcomes: outcome.map { [$0] }) { bench in
            var maker = ChangeMaker()
            guard case var .object(members) = maker.insert("round", ["number": .int(2)]).json else { return [] }
            set("device", .string(bench.device))(&members)
            edit(&members)
            bench.sign(&members)
            afterSigning(&members)
            let body = JSONValue.object([JSONMember("changes", .array([.object(members)]))])
            return RawHTTPConnection.request(
                "POST", "/v1/push", headers: [("Authorization", "Bearer \(bench.fixture.coordinator)")],
                body: Array(body.serialized().utf8))
        }
    }

    static func set(_ key: String, _ value: JSONValue) -> @Sendable (inout [JSONMember]) -> Void {
        { members in
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].value = value
            } else {
                members.append(JSONMember(key, value))
            }
        }
    }

    static func get(_ kind: String, _ target: String, status: Int, code: String? = nil, method: String = "GET")
        -> HostileCase
    {
        HostileCase(kind: kind, name: "\(method) \(target)", status: status, code: code, outcomes: nil) { bench in
            RawHTTPConnection.request(
                method, target, headers: [("Authorization", "Bearer \(bench.fixture.coordinator)")])
        }
    }

    static func rejected(_ reason: String) -> Expected { Expected(status: "rejected", reason: reason) }
}
