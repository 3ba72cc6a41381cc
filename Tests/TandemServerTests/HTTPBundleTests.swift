import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// `GET /v1/bundle?for=ORG&since=SEQ` (docs/sync.md, Bundles; an addition to SPEC §4): what a
/// member of ORG would pull, sealed with the server's key, for coordinators only.
@Suite struct HTTPBundleTests {
    @Test func aCoordinatorGetsWhatTheOrganisationWouldPullSignedByTheServer() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let company = try await fixture.organisation("Kovina")
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/v1/bundle?for=\(ministry.id)", token: fixture.coordinator)
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "application/x-ndjson")
            let frame = try BundleFrame.open(reply.body)
            #expect(frame.kind == .pull && frame.publicKey == fixture.store.serverKey.publicKey)
            #expect(frame.header["for"] == .string(ministry.id))
            // The same items a pull by the ministry's token answers.
            let pulled = try await client.call(.get, "/v1/pull?since=0&limit=10000", token: ministry.token)
            let page = try PullResponse(json: JSONValue.parse(bytes: pulled.body))
            #expect(frame.body.count == page.items.count && frame.header["next"] == .int(page.next))
            let later = try await client.call(
                .get, "/v1/bundle?for=\(ministry.id)&since=\(page.next)", token: fixture.coordinator)
            #expect(try BundleFrame.open(later.body).body.isEmpty)

            for token in [ministry.token, company.token, try await fixture.token(.auditor)] {
                #expect(try await client.call(.get, "/v1/bundle?for=\(ministry.id)", token: token).status == .forbidden)
            }
            for query in ["", "?for=nope", "?for=\(ministry.id)&since=-1"] {
                let bad = try await client.call(.get, "/v1/bundle\(query)", token: fixture.coordinator)
                #expect(bad.status == .badRequest, "\(query)")
            }
            let unknown = UUIDv7Generator.id(at: HLC(milliseconds: ServerFixture.now, counter: 0, device: "x"))
            let missing = try await client.call(.get, "/v1/bundle?for=\(unknown)", token: fixture.coordinator)
            #expect(missing.status == .notFound)
        }
    }
}
