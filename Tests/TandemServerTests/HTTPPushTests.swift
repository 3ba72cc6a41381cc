import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TandemCompression
import TandemProtocol
import TandemServer
import Testing

/// `POST /v1/push`: results in order, refusals as JSON errors, body limits and gzip.
@Suite struct HTTPPushTests {
    @Test func pushAnswersOneResultPerChangeInOrder() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let round = maker.insert("round", ["number": .int(5), "status": .string("open")])
        let company = maker.insert("organisation", ["name": .string("Kovina"), "sector": .string("private")])
        let person = maker.insert(
            "person", ["organisation": .string(company.recordID), "full_name": .string("Ana Novak")])
        let changes = [round, company, person]
        try await fixture.app().test(.router) { client in
            let reply = try await client.push(changes, token: fixture.coordinator)
            #expect(reply.status == .ok)
            let results = try PushResponse(json: reply.json).results
            #expect(results.map(\.changeID) == changes.map(\.changeID))
            #expect(results.map(\.status) == [.applied, .applied, .applied])
            #expect(results.map(\.version) == [1, 1, 1])
            let seqs = results.compactMap(\.seq)
            #expect(seqs.count == 3 && seqs == seqs.sorted() && Set(seqs).count == 3)

            let again = try PushResponse(json: try await client.push([round], token: fixture.coordinator).json)
            #expect(again.results.map(\.status) == [.duplicate])
        }
    }

    @Test func anOversizedValueIsRefusedForItsChangeAloneAndLogged() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let big = maker.insert(
            "round",
            ["number": .int(5), "title": .string(String(repeating: "x", count: WireProtocol.maximumValueSize))])
        let small = maker.insert("round", ["number": .int(6), "title": .string("Spring")])
        let seqs = try await fixture.app().test(.router) { client in
            let reply = try await client.push([big, small], token: fixture.coordinator)
            #expect(reply.status == .ok)
            let results = try PushResponse(json: reply.json).results
            #expect(results.map(\.status) == [.rejected, .applied])
            #expect(results.first?.reason == "value_too_large")
            return results.compactMap(\.seq)
        }
        // The refusal is logged like any other: one entry a change.
        #expect(seqs.count == 2 && seqs[1] == seqs[0] + 1)
        #expect(try await fixture.store.headSeq() == seqs.last)
    }

    @Test func everyAnswerCarriesTheServersTime() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let name = try #require(HTTPField.Name(WireProtocol.serverTimeHeader))
            for (uri, token) in [("/healthz", nil), ("/v1/whoami", fixture.coordinator), ("/v1/whoami", "tdm_bad")] {
                let reply = try await client.call(.get, uri, token: token)
                #expect(reply.headers[name] == String(ServerFixture.now), "\(uri) \(reply.status)")
            }
        }
    }

    @Test func pushIs200EvenWhenEveryChangeIsRejected() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let changes = [
            maker.insert("meeting", ["title": .string("x")]), maker.insert("round", ["number": .string("five")]),
        ]
        try await fixture.app().test(.router) { client in
            let reply = try await client.push(changes, token: fixture.coordinator)
            #expect(reply.status == .ok)
            let results = try PushResponse(json: reply.json).results
            #expect(results.map(\.changeID) == changes.map(\.changeID))
            #expect(results.allSatisfy { $0.status == .rejected && $0.reason?.family == .schema })
        }
    }

    @Test(arguments: [
        "", "{", "[]", "null", #"{"changes": "x"}"#, #"{"changes": [1]}"#, #"{"change": []}"#,
        "{\"changes\": []}\u{0}", #"{"changes": [{"change_id": "a"}]}"#,
        // A base version RFC 8785 cannot keep exactly (beyond 2^53 - 1).
        #"{"changes": [{"change_id": "0193a1b2-0000-7000-8000-000000000001", "table": "round", "record_id": "0193a1b2-0000-7000-8000-000000000002", "op": "update", "fields": {}, "base_version": 9223372036854775807, "hlc": "001763812345678.00000.d", "device": "d"}]}"#,
    ])
    func malformedPushIs400AndWritesNothing(body: String) async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let good = maker.insert("round", ["number": .int(7)])
        let before = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.post, "/v1/push", token: fixture.coordinator, body: Array(body.utf8))
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_json")
            // A good change next to a malformed one: the whole push is refused.
            let mixed = #"{"changes": [\#(good.json.serialized()), {"op": "insert"}]}"#
            let mixedReply = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: Array(mixed.utf8))
            #expect(mixedReply.status == .badRequest)
            let pull = try PullResponse(
                json: try await client.call(.get, "/v1/pull?since=\(before)", token: fixture.coordinator).json)
            #expect(pull.items.isEmpty)
        }
        #expect(try await fixture.store.headSeq() == before)
    }

    @Test func tooManyChangesIs413() async throws {
        let fixture = try ServerFixture()
        let items = Array(repeating: "{}", count: WireProtocol.maximumChangesPerPush + 1).joined(separator: ",")
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: Array(#"{"changes": [\#(items)]}"#.utf8))
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "too_many_changes")
        }
    }

    @Test func bodyOverTheLimitIs413PlainOrGzipped() async throws {
        let fixture = try ServerFixture(maximumBodySize: 4096)
        let before = try await fixture.store.headSeq()
        let padding = String(repeating: " ", count: 100_000)
        let large = Array(#"{"changes": [\#(padding)]}"#.utf8)
        let bomb = try Gzip.compress(large)
        #expect(bomb.count < 4096)
        try await fixture.app().test(.router) { client in
            let plain = try await client.call(.post, "/v1/push", token: fixture.coordinator, body: large)
            #expect(plain.status == .contentTooLarge)
            #expect(plain.errorCode == "too_large")
            let zipped = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: bomb, headers: [.contentEncoding: "gzip"])
            #expect(zipped.status == .contentTooLarge)
            #expect(zipped.errorCode == "too_large")
        }
        #expect(try await fixture.store.headSeq() == before)
    }

    @Test func gzipRequestAndGzipResponse() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let round = try await fixture.signed([maker.insert("round", ["number": .int(9)])], token: fixture.coordinator)
        let body = try Gzip.compress(Array(PushRequest(changes: round).json.serialized().utf8))
        try await fixture.app().test(.router) { client in
            let reply = try await client.execute(
                uri: "/v1/push", method: .post,
                headers: [
                    .authorization: "Bearer \(fixture.coordinator)", .contentEncoding: "gzip",
                    .acceptEncoding: "br;q=1.0, gzip;q=0.8",
                ],
                body: ByteBuffer(bytes: body))
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentEncoding] == "gzip")
            let unpacked = try Gzip.decompress(Array(reply.body.readableBytesView), limit: 1 << 20)
            let results = try PushResponse(json: JSONValue.parse(bytes: unpacked)).results
            #expect(results.map(\.status) == [.applied])

            let plain = try await client.execute(
                uri: "/healthz", method: .get, headers: [.acceptEncoding: "gzip;q=0, identity"])
            #expect(plain.headers[.contentEncoding] == nil)
            let corrupt = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: Array("not gzip".utf8),
                headers: [.contentEncoding: "gzip"])
            #expect(corrupt.status == .badRequest)
            let unknown = try await client.call(
                .post, "/v1/push", token: fixture.coordinator, body: Array("{}".utf8), headers: [.contentEncoding: "br"]
            )
            #expect(unknown.status == .unsupportedMediaType)
        }
    }

    @Test func auditorPushIs403() async throws {
        let fixture = try ServerFixture()
        let auditor = try await fixture.token(.auditor)
        var maker = ChangeMaker()
        let change = maker.insert("round", ["number": .int(1)])
        let before = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.push([change], token: auditor)
            #expect(reply.status == .forbidden)
            #expect(reply.errorCode == "forbidden")
        }
        #expect(try await fixture.store.headSeq() == before)
    }
}
