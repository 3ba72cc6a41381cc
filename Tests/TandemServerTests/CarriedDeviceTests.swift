import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// A bundle of a replica that never reached the server carries its device's key and
/// organisation (docs/sync.md, Bundles): the server registers them when a coordinator pushes the
/// bundle — and only then, only for a device it does not know, of an organisation it holds.
extension SignatureStoreTests {
    /// A signed update of `record`'s `web` from `device`.
    func carried(_ record: String, device: String, key: SigningKey, counter: Int = 0) -> Change {
        update(record, ["web": .string("https://\(counter).example")], device: device, counter: counter)
            .signed(with: key)
    }

    @Test func aCoordinatorsPushRegistersTheCarriedDeviceForItsOrganisation() async throws {
        let key = SigningKey()
        let registration = CarriedDevice(device: "field-laptop", publicKey: key.publicKey, organisation: ministry)
        let change = carried(ministry, device: "field-laptop", key: key)
        let results = try await store.push([change], carrying: [registration], by: coordinator, now: now)
        #expect(results.map(\.status) == [.applied])
        let entry = try #require(try await store.history(since: 0, limit: 1000).last?.entry)
        #expect(entry.author == Author(organisation: ministry, role: .member, device: "field-laptop"))
        // Registered as the ministry's: its own replica may register the same key again, and push.
        let record = try await store.registerDevice(
            "field-laptop", publicKey: key.publicKey, by: member(ministry), now: now)
        #expect(record.organisation == ministry)
        let again = try await store.push([change], by: member(ministry), now: now)
        #expect(again.map(\.status) == [.duplicate])
        #expect(try await store.verify().failure == nil)
    }

    @Test func aMembersPushRegistersNothing() async throws {
        let key = SigningKey()
        let registration = CarriedDevice(device: "field-laptop", publicKey: key.publicKey, organisation: ministry)
        let results = try await store.push(
            [carried(ministry, device: "field-laptop", key: key)], carrying: [registration], by: member(ministry),
            now: now)
        #expect(results.map(\.reason) == ["signature"])
        #expect(try await store.registrations(of: ["field-laptop"]).isEmpty)
    }

    @Test func aCarriedRegistrationNeverReplacesOneOrNamesAnUnknownOrganisation() async throws {
        _ = try await register("ministry-laptop", for: member(ministry))
        let rogue = SigningKey()
        let takeover = CarriedDevice(device: "ministry-laptop", publicKey: rogue.publicKey, organisation: company)
        let results = try await store.push(
            [carried(company, device: "ministry-laptop", key: rogue)], carrying: [takeover], by: coordinator, now: now)
        #expect(results.map(\.reason) == ["signature"])
        #expect(try await store.registrations(of: ["ministry-laptop"])["ministry-laptop"]?.organisation == ministry)

        let unknown = UUIDv7Generator.id(at: HLC(milliseconds: now, counter: 0, device: "x"))
        let nowhere = CarriedDevice(device: "ghost", publicKey: rogue.publicKey, organisation: unknown)
        let ghost = try await store.push(
            [carried(company, device: "ghost", key: rogue, counter: 1)], carrying: [nowhere], by: coordinator, now: now)
        #expect(ghost.map(\.reason) == ["signature"])
        #expect(try await store.registrations(of: ["ghost"]).isEmpty)
        #expect(try await store.verify().failure == nil)
    }
}
