import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// `POST /v1/devices` (SPEC §4, §8), and pushes judged by the signatures of registered devices.
@Suite struct HTTPDeviceTests {
    @Test func aMembersDeviceIsRegisteredOnceAsAHistoryEntry() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let key = SigningKey()
        let before = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.registerDevice(
                "ministry-laptop", token: ministry.token, publicKey: key.publicKey)
            #expect(reply.status == .ok)
            let body = try reply.json
            #expect(body["device"] == .string("ministry-laptop"))
            #expect(body["public_key"] == .string(key.publicKey))
            #expect(body["organisation"] == .string(ministry.id))
            #expect(body["seq"] == .int(before + 1))
            // Registering the same again answers the first registration and writes nothing.
            let again = try await client.registerDevice(
                "ministry-laptop", token: ministry.token, publicKey: key.publicKey)
            #expect(again.status == .ok)
            #expect(try again.json == body)
            #expect(try await fixture.store.headSeq() == before + 1)

            // The registration is an entry of the history: a change the server made and signed.
            let history = try await client.call(.get, "/v1/history?since=\(before)", token: fixture.coordinator)
            let lines = history.body.split(separator: UInt8(ascii: "\n"))
            #expect(lines.count == 1)
            let entry = try LogEntry(json: JSONValue.parse(bytes: Array(try #require(lines.first))))
            #expect(entry.seq == before + 1)
            #expect(entry.author == Author(organisation: ministry.id, role: .member, device: "server"))
            let change = try Change(json: entry.change)
            #expect(
                change.table == DeviceRegistry.table && change.recordID == "ministry-laptop" && change.op == .insert)
            #expect(change.device == DeviceRegistry.serverDevice)
            #expect(
                change.fields == [
                    "organisation": .string(ministry.id), "role": .string("member"),
                    "public_key": .string(key.publicKey),
                ])
            let checkpoint = try Checkpoint(
                json: try await client.call(.get, "/v1/checkpoint", token: ministry.token).json)
            #expect(change.isSigned(by: checkpoint.publicKey))
        }
    }

    @Test func aCoordinatorsDeviceBelongsToNoOrganisation() async throws {
        let fixture = try ServerFixture()
        let key = SigningKey()
        let before = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.registerDevice(
                "coordinator-desk", token: fixture.coordinator, publicKey: key.publicKey)
            #expect(reply.status == .ok)
            let body = try reply.json
            #expect(body["device"] == .string("coordinator-desk"))
            #expect(body["public_key"] == .string(key.publicKey))
            #expect(body["organisation"] == .null)
            #expect(body["seq"] == .int(before + 1))
        }
    }

    @Test func aTakenDeviceIdIs409() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let company = try await fixture.organisation("Kovina", sector: "private")
        let key = SigningKey()
        try await fixture.app().test(.router) { client in
            #expect(
                try await client.registerDevice("laptop", token: ministry.token, publicKey: key.publicKey).status == .ok
            )
            let head = try await fixture.store.headSeq()
            let otherKey = try await client.registerDevice(
                "laptop", token: ministry.token, publicKey: SigningKey().publicKey)
            #expect(otherKey.status == .conflict)
            #expect(otherKey.errorCode == "device_exists")
            // The same id and key from another organisation: still not theirs.
            let otherOrganisation = try await client.registerDevice(
                "laptop", token: company.token, publicKey: key.publicKey)
            #expect(otherOrganisation.status == .conflict)
            #expect(otherOrganisation.errorCode == "device_exists")
            let coordinator = try await client.registerDevice(
                "laptop", token: fixture.coordinator, publicKey: key.publicKey)
            #expect(coordinator.status == .conflict)
            #expect(coordinator.errorCode == "device_exists")
            #expect(try await fixture.store.headSeq() == head)
        }
    }

    @Test(arguments: [
        DeviceRegistry.serverDevice, "", String(repeating: "d", count: 129), "a/b", "a b", "laptöp", "../etc",
    ])
    func aBadDeviceIdIs400(device: String) async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let head = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.registerDevice(
                device, token: ministry.token, publicKey: SigningKey().publicKey)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_device")
        }
        #expect(try await fixture.store.headSeq() == head)
    }

    @Test func aDeviceIdOf128CharactersIsAccepted() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.registerDevice(
                String(repeating: "d", count: 128), token: fixture.coordinator)
            #expect(reply.status == .ok)
            #expect(try reply.json["device"] == .string(String(repeating: "d", count: 128)))
        }
    }

    @Test(arguments: [
        "", "not base64!", Base64.encode([UInt8](repeating: 7, count: 31)),
        Base64.encode([UInt8](repeating: 7, count: 33)),
        String(SigningKey().publicKey.dropLast()), Base64.encode([UInt8](repeating: 7, count: 64)),
    ])
    func aBadPublicKeyIs400(publicKey: String) async throws {
        let fixture = try ServerFixture()
        let head = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.registerDevice("laptop", token: fixture.coordinator, publicKey: publicKey)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_public_key")
        }
        #expect(try await fixture.store.headSeq() == head)
    }

    @Test(arguments: [
        "", "[]", "{}", #"{"device": "laptop"}"#, #"{"public_key": "AAAA"}"#, #"{"device": 7, "public_key": "AAAA"}"#,
        #"{"device": "laptop", "public_key": null}"#,
    ])
    func aMalformedBodyIs400(body: String) async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.post, "/v1/devices", token: fixture.coordinator, body: Array(body.utf8))
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_json")
        }
    }

    @Test func auditorsMayNotRegisterAndAnonymousCallersAre401() async throws {
        let fixture = try ServerFixture()
        let auditor = try await fixture.token(.auditor)
        let head = try await fixture.store.headSeq()
        try await fixture.app().test(.router) { client in
            let reply = try await client.registerDevice("auditor-laptop", token: auditor)
            #expect(reply.status == .forbidden)
            #expect(reply.errorCode == "forbidden")
            let anonymous = try await client.call(
                .post, "/v1/devices", token: nil,
                json: .object([JSONMember("device", .string("x")), JSONMember("public_key", .string("AAAA"))]))
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.errorCode == "unauthorized")
        }
        #expect(try await fixture.store.headSeq() == head)
    }

    // MARK: - Pushes and signatures

    @Test func anUnsignedPushIsRejectedForItsSignatureAndLogged() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker(device: "coordinator-desk")
        let round = maker.insert("round", ["number": .int(1)])
        try await fixture.app().test(.router) { client in
            #expect(try await client.registerDevice("coordinator-desk", token: fixture.coordinator).status == .ok)
            let head = try await fixture.store.headSeq()
            let reply = try await client.pushUnsigned([round], token: fixture.coordinator)
            #expect(reply.status == .ok)
            let result = try #require(try PushResponse(json: reply.json).results.first)
            #expect(result.status == .rejected && result.reason == "signature" && result.seq == head + 1)
            let history = try await client.call(.get, "/v1/history?since=\(head)", token: fixture.coordinator)
            let entry = try LogEntry(json: JSONValue.parse(bytes: history.body))
            #expect(try Change(json: entry.change) == round)
            #expect(entry.outcome["reason"] == .string("signature"))
            let pull = try PullResponse(json: try await client.call(.get, "/v1/pull", token: fixture.coordinator).json)
            #expect(pull.items.first { $0.recordID == round.recordID }?.record == nil, "no record was made")

            // Pushed again unsigned, it is refused again: a refused change does not hold its id
            // (so that a forger who learnt an id cannot squat on it), and it is logged again.
            let again = try await client.pushUnsigned([round], token: fixture.coordinator)
            let refused = try #require(try PushResponse(json: again.json).results.first)
            #expect(refused.status == .rejected && refused.seq == head + 2 && refused.reason == "signature")
        }
    }

    @Test func aDeviceOfAnotherOrganisationIsRejected() async throws {
        let fixture = try ServerFixture()
        let ministry = try await fixture.organisation("Ministry")
        let company = try await fixture.organisation("Kovina", sector: "private")
        var maker = ChangeMaker(device: "ministry-laptop")
        let edit = TestDevices.shared.signed(
            maker.update("organisation", company.id, base: 1, ["web": .string("https://kovina.example")]),
            as: "ministry-laptop")
        var own = ChangeMaker(device: "kovina-laptop")
        let ownEdit = own.update("organisation", company.id, base: 1, ["web": .string("https://kovina.example")])
        try await fixture.app().test(.router) { client in
            #expect(try await client.registerDevice("ministry-laptop", token: ministry.token).status == .ok)
            let reply = try await client.pushUnsigned([edit], token: company.token)
            let result = try #require(try PushResponse(json: reply.json).results.first)
            #expect(result.status == .rejected && result.reason == "signature")
            // From the company's own device, the same edit applies.
            let applied = try await client.push([ownEdit], token: company.token)
            #expect(try PushResponse(json: applied.json).results.map(\.status) == [.applied])
        }
    }

    @Test func aCoordinatorsRegisteredDeviceIsAcceptedAndServerClaimsAreNot() async throws {
        let fixture = try ServerFixture()
        var maker = ChangeMaker(device: "coordinator-desk")
        let round = maker.insert("round", ["number": .int(4)])
        var server = ChangeMaker(device: DeviceRegistry.serverDevice)
        let claimed = server.insert("round", ["number": .int(5)]).signed(with: SigningKey())
        try await fixture.app().test(.router) { client in
            let reply = try await client.push([round, claimed], token: fixture.coordinator)
            let results = try PushResponse(json: reply.json).results
            #expect(results.map(\.status) == [.applied, .rejected])
            #expect(results.last?.reason == "signature")
        }
        #expect(try await fixture.store.verify().failure == nil)
    }
}
