import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// `GET /v1/pull` paging and its query checks; `GET /v1/conflicts` and resolving one.
@Suite struct HTTPPullConflictTests {
    @Test func pullPagesWithLimitNextAndMore() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker()
        let changes = (1...5).map { maker.insert("round", ["number": .int(Int64($0))]) }
        let pushed = try await fixture.store.pushSigned(
            changes, by: Principal(tokenID: "t", organisation: nil, role: .coordinator), now: ServerFixture.now)
        let head = try await fixture.store.headSeq()
        #expect(pushed.last?.seq == head)
        try await fixture.app().test(.router) { client in
            var since: Int64 = 0
            var seen: [String] = []
            var pages = 0
            while true {
                let reply = try await client.call(.get, "/v1/pull?since=\(since)&limit=2", token: fixture.coordinator)
                #expect(reply.status == .ok)
                let page = try PullResponse(json: reply.json)
                #expect(page.items.count <= 2)
                seen += page.items.map(\.recordID)
                pages += 1
                #expect(page.next >= since)
                since = page.next
                if !page.more { break }
                if pages > 10 { Issue.record("pull never ended"); break }
            }
            #expect(pages == 3)
            #expect(seen == changes.map(\.recordID))

            let all = try PullResponse(json: try await client.call(.get, "/v1/pull", token: fixture.coordinator).json)
            #expect(all.items.count == 5 && !all.more && all.next == head)
        }
    }

    @Test(arguments: [
        "since=-1", "since=abc", "since=", "limit=0", "limit=10001", "limit=-5", "limit=2.5", "since=1e3",
    ])
    func pullRefusesBadQueries(query: String) async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/pull?\(query)", token: fixture.coordinator)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_query")
        }
    }

    @Test func conflictsAreListedAndResolvedByACoordinator() async throws {
        let fixture = try ServerFixture()
        let scenario = try await ExchangeConflict(fixture)
        let auditor = try await fixture.token(.auditor)

        try await fixture.app().test(.router) { client in
            let setup = try PushResponse(
                json: try await client.push(scenario.setup, token: fixture.coordinator).json)
            #expect(setup.results.map(\.status) == [.applied, .applied, .applied, .applied])
            let pushed = try PushResponse(
                json: try await client.push([scenario.rival], token: scenario.home.token).json)
            #expect(pushed.results.map(\.status) == [.conflict])

            let listed = try await client.call(.get, "/v1/conflicts", token: fixture.coordinator)
            #expect(listed.status == .ok)
            guard case let .array(items) = try listed.json, items.count == 1 else {
                Issue.record("expected one conflict, got \(listed.body)")
                return
            }
            let conflict = try ConflictInfo(json: items[0])
            #expect(conflict.table == "exchange" && conflict.field == "starts_on" && conflict.status == .open)
            #expect(conflict.current == .string("2026-05-05") && conflict.incoming == .string("2026-05-06"))

            let path = "/v1/conflicts/\(conflict.id)/resolve"
            let forbidden = try await client.call(.post, path, token: auditor, json: Resolution.keepIncoming.json)
            #expect(forbidden.status == .forbidden)
            let badBody = try await client.call(
                .post, path, token: fixture.coordinator, json: .object([JSONMember("keep", .string("both"))]))
            #expect(badBody.status == .badRequest)

            let resolved = try await client.call(
                .post, path, token: fixture.coordinator, json: Resolution.keepIncoming.json)
            #expect(resolved.status == .ok)
            let info = try ConflictInfo(json: resolved.json)
            #expect(info.status == .resolved && info.current == .string("2026-05-06"))

            let again = try await client.call(
                .post, path, token: fixture.coordinator, json: Resolution.keepCurrent.json)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "resolved")
            #expect(again.errorMessage == "conflict \(conflict.id) is already resolved")

            #expect(try await client.call(.get, "/v1/conflicts", token: fixture.coordinator).json == .array([]))
            let everything = try await client.call(.get, "/v1/conflicts?all=true", token: fixture.coordinator)
            #expect(try everything.json == .array([info.json]))
            #expect(try await client.call(.get, "/v1/conflicts?all=maybe", token: auditor).status == .badRequest)
        }
    }

    @Test func resolvingAnUnknownConflictIs404() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(
                .post, "/v1/conflicts/0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee/resolve", token: fixture.coordinator,
                json: Resolution.keepCurrent.json)
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "not_found")
        }
    }
}
