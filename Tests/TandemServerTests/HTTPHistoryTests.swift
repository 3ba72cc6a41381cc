import GRDB
import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// `GET /v1/history` and `GET /v1/checkpoint` (SPEC §4, §8): what an auditor pulls and checks.
@Suite struct HTTPHistoryTests {
    static let coordinatorPrincipal = Principal(tokenID: "history-test", organisation: nil, role: .coordinator)

    /// Pushes `count` rounds (numbers from `first`), in batches, as a coordinator's replica would.
    static func pushRounds(_ count: Int, from first: Int = 1, into fixture: ServerFixture) async throws {
        var maker = ChangeMaker(device: "bulk")
        var number = first
        while number < first + count {
            let batch = (number..<min(number + 650, first + count)).map {
                maker.insert("round", ["number": .int(Int64($0))])
            }
            let results = try await fixture.store.pushSigned(batch, by: coordinatorPrincipal, now: ServerFixture.now)
            #expect(results.allSatisfy { $0.status == .applied })
            number += batch.count
        }
    }

    /// The lines of an NDJSON body, each ending in a newline.
    static func lines(_ reply: Reply) -> [[UInt8]] {
        #expect(reply.body.isEmpty || reply.body.last == UInt8(ascii: "\n"), "every line ends in a newline")
        return reply.body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map(
            Array.init)
    }

    static func seqs(_ lines: [[UInt8]]) throws -> [Int64] {
        try lines.map { try LogEntry(json: JSONValue.parse(bytes: $0)).seq }
    }

    @Test func historyIsNDJSONOfEntriesThatVerifyFromSeqOne() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        var maker = ChangeMaker(device: "ministry-laptop")
        let auditor = try await fixture.token(.auditor)
        let edit = maker.update("organisation", ministry.id, base: 1, ["web": .string("https://gov.example")])
        try await fixture.app().test(.router) { client in
            #expect(try await client.push([edit], token: ministry.token).status == .ok)
            let head = try await fixture.store.headSeq()
            for token in [auditor, fixture.coordinator] {
                let reply = try await client.call(.get, "/v1/history", token: token)
                #expect(reply.status == .ok)
                #expect(reply.headers[.contentType] == "application/x-ndjson")
                let lines = Self.lines(reply)
                #expect(lines.count == Int(head))
                var verification = HistoryVerification()
                for line in lines {
                    let entry = try LogEntry(json: JSONValue.parse(bytes: line))
                    // Each line is the entry's own RFC 8785 text: what is hashed is what is served.
                    #expect(entry.line == String(decoding: line, as: UTF8.self))
                    let isSound = verification.add(line: line)
                    #expect(isSound)
                }
                let report = verification.finish(checkpoints: []) { _ in nil }
                #expect(report.failure == nil && report.headSeq == head)
                #expect(try Self.seqs(lines) == Array(1...head))
            }
        }
    }

    @Test func sinceAndLimitAreHonoured() async throws {
        let fixture = try ServerFixture()
        try await Self.pushRounds(8, into: fixture)
        let head = try await fixture.store.headSeq()
        let expected: [(String, [Int64])] = [
            ("since=2&limit=3", [3, 4, 5]), ("since=0&limit=1", [1]), ("limit=2", [1, 2]),
            ("since=\(head - 2)", [head - 1, head]), ("since=\(head - 2)&limit=100", [head - 1, head]),
            ("since=\(head)", []), ("since=9223372036854775807", []),
        ]
        try await fixture.app().test(.router) { client in
            for (query, seqs) in expected {
                let reply = try await client.call(.get, "/v1/history?\(query)", token: fixture.coordinator)
                #expect(reply.status == .ok, "\(query)")
                #expect(try Self.seqs(Self.lines(reply)) == seqs, "\(query)")
            }
        }
    }

    @Test func aHistoryLongerThanAPageStreamsCompletely() async throws {
        let fixture = try ServerFixture()
        try await Self.pushRounds(2600, into: fixture)
        let head = try await fixture.store.headSeq()
        #expect(head > 2600)
        let auditor = try await fixture.token(.auditor)
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/history", token: auditor)
            #expect(reply.status == .ok)
            let lines = Self.lines(reply)
            #expect(lines.count == Int(head))
            var verification = HistoryVerification()
            var hashes: [Int64: String] = [:]
            for line in lines {
                let isSound = verification.add(line: line)
                #expect(isSound)
                let entry = try LogEntry(json: JSONValue.parse(bytes: line))
                hashes[entry.seq] = entry.hash
            }
            // The checkpoints the store kept on its own, every 1000 entries.
            let kept = try await fixture.store.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, hash, time, public_key, signature FROM checkpoint ORDER BY seq")
                    .map { row in
                        Checkpoint(
                            seq: row["seq"], hash: row["hash"], time: row["time"], publicKey: row["public_key"],
                            signature: row["signature"])
                    }
            }
            #expect(kept.map(\.seq) == [1000, 2000])
            #expect(kept.allSatisfy { $0.isSignatureValid && $0.hash == hashes[$0.seq] })
            let report = verification.finish(checkpoints: kept) { hashes[$0] }
            #expect(report.failure == nil)
            #expect(report.headSeq == head && report.checkpoints == 2)

            // Across page boundaries, with a limit that ends inside a page.
            let window = Self.lines(
                try await client.call(.get, "/v1/history?since=500&limit=1700", token: auditor))
            #expect(try Self.seqs(window) == Array(501...2200))
            let tail = Self.lines(try await client.call(.get, "/v1/history?since=1000", token: auditor))
            #expect(try Self.seqs(tail) == Array(1001...head))
        }
        let stored = try await fixture.store.verify()
        #expect(stored.failure == nil && stored.entries == head && stored.checkpoints == 2)
    }

    @Test func membersMayNotReadTheHistory() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/history", token: ministry.token)
            #expect(reply.status == .forbidden)
            #expect(reply.errorCode == "forbidden")
            #expect(try await client.call(.get, "/v1/history").status == .unauthorized)
        }
    }

    @Test(arguments: [
        "since=-1", "since=abc", "since=", "since=1e3", "limit=0", "limit=-1", "limit=1.5", "limit=abc",
        "since=99999999999999999999",
    ])
    func historyRefusesBadQueries(query: String) async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/history?\(query)", token: fixture.coordinator)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_query")
        }
    }

    @Test func pullNeverCarriesDeviceRegistrations() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        var maker = ChangeMaker(device: "ministry-laptop")
        var desk = ChangeMaker(device: "coordinator-desk")
        let edit = maker.update("organisation", ministry.id, base: 1, ["web": .string("https://gov.example")])
        let round = desk.insert("round", ["number": .int(1)])
        try await fixture.app().test(.router) { client in
            _ = try await client.push([edit], token: ministry.token)
            _ = try await client.push([round], token: fixture.coordinator)
            let head = try await fixture.store.headSeq()
            let registrations = try await fixture.store.history(since: 0, limit: 100).filter {
                try $0.isDeviceRegistration
            }
            #expect(registrations.count == 3, "the server's key and two devices")
            for token in [fixture.coordinator, ministry.token] {
                let page = try PullResponse(json: try await client.call(.get, "/v1/pull", token: token).json)
                #expect(!page.items.isEmpty)
                #expect(page.items.allSatisfy { $0.table != DeviceRegistry.table }, "\(page.items.map(\.table))")
                #expect(Set(page.items.map(\.seq)).isDisjoint(with: registrations.map(\.seq)))
                #expect(page.next == head && !page.more)
            }
        }
    }

    // MARK: - Checkpoint

    @Test func theCheckpointSignsTheHeadWithTheKeyOfEntryOne() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        var maker = ChangeMaker()
        let round = maker.insert("round", ["number": .int(1)])
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/checkpoint", token: ministry.token)
            #expect(reply.status == .ok)
            let body = try reply.json
            guard case let .object(members) = body else {
                Issue.record("not an object")
                return
            }
            #expect(Set(members.map(\.key)) == ["seq", "hash", "time", "public_key", "signature"])
            let checkpoint = try Checkpoint(json: body)
            #expect(checkpoint.isSignatureValid)
            #expect(
                Signature.isValid(
                    checkpoint.signature,
                    of: JSONValue.object([
                        JSONMember("time", .string(checkpoint.time)), JSONMember("seq", .int(checkpoint.seq)),
                        JSONMember("hash", .string(checkpoint.hash)),
                    ]).canonicalBytes(), publicKey: checkpoint.publicKey),
                "the signature is over the RFC 8785 bytes of {seq, hash, time}")
            #expect(Timestamp.normalize(checkpoint.time) == checkpoint.time)

            let history = try await fixture.store.history(since: 0, limit: 100)
            let head = try #require(try history.last?.entry)
            #expect(checkpoint.seq == head.seq && checkpoint.hash == head.hash)
            let first = try #require(try history.first?.entry)
            #expect(first.change["fields"]?["public_key"] == .string(checkpoint.publicKey))
            var verifier = ChainVerifier()
            var hashes: [Int64: String] = [:]
            for line in history {
                _ = try verifier.append(line: Array(line.line.utf8))
                hashes[line.seq] = verifier.hash
            }
            #expect(verifier.check(checkpoint) { hashes[$0] } == nil)

            // Asked again with nothing new: the same checkpoint. After a push: the new head.
            let again = try Checkpoint(json: try await client.call(.get, "/v1/checkpoint", token: ministry.token).json)
            #expect(again == checkpoint)
            _ = try await client.push([round], token: fixture.coordinator)
            let later = try Checkpoint(
                json: try await client.call(.get, "/v1/checkpoint", token: fixture.coordinator).json)
            #expect(later.seq == (try await fixture.store.headSeq()) && later.seq > checkpoint.seq)
            #expect(later.isSignatureValid && later.publicKey == checkpoint.publicKey)
            #expect(try await client.call(.get, "/v1/checkpoint").status == .unauthorized)
        }
        // Kept: the store's own verification checks them too.
        #expect(try await fixture.store.verify().checkpoints == 2)
    }
}

/// Personal values beside the history lines (SPEC §8): only when asked for, only to a token that
/// receives them; the lines themselves are always the hashed entries.
@Suite struct HTTPHistoryValuesTests {
    @Test func valuesComeBesideTheLinesOnlyWhenAskedForAndToWhoMaySeeThem() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        var maker = ChangeMaker(device: "ministry-laptop")
        let person = maker.insert(
            "person", ["organisation": .string(ministry.id), "full_name": .string("Valentina Besideline")])
        let auditor = try await fixture.token(.auditor)
        try await fixture.app().test(.router) { client in
            #expect(try await client.push([person], token: ministry.token).status == .ok)
            let plain = try await client.call(.get, "/v1/history", token: fixture.coordinator)
            let asked = try await client.call(.get, "/v1/history?values=true", token: fixture.coordinator)
            let audited = try await client.call(.get, "/v1/history?values=true", token: auditor)
            let text = { (reply: Reply) in String(decoding: reply.body, as: UTF8.self) }
            #expect(!text(plain).contains("Besideline") && !text(plain).contains(#""values""#))
            #expect(text(asked).contains("Besideline"), "a coordinator asked for the values")
            #expect(!text(audited).contains("Besideline"), "an auditor without --personal gets none")
            // With or without the values, every line verifies and the entries are the same.
            for reply in [plain, asked, audited] {
                var verification = HistoryVerification()
                for line in HTTPHistoryTests.lines(reply) {
                    let isSound = verification.add(line: line)
                    #expect(isSound)
                }
            }
            let entries = { (reply: Reply) in
                try HTTPHistoryTests.lines(reply).map { try LogEntry(json: JSONValue.parse(bytes: $0)) }
            }
            #expect(try entries(plain) == entries(asked))
            let bad = try await client.call(.get, "/v1/history?values=maybe", token: fixture.coordinator)
            #expect(bad.status == .badRequest)
        }
    }
}
