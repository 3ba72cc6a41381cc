import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// A bundle of a replica that never reached the server carries its device's key and
/// organisation (docs/sync.md, Bundles): the server registers them when a coordinator pushes the
/// bundle — and only then, only for a device it does not know, of an organisation it holds.
@Suite struct CarriedDeviceTests {
    let store: SQLiteServerStore
    let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
    let now: Int64 = 1_790_000_000_000
    var ministry = ""
    var company = ""

    init() async throws {
        store = try SQLiteServerStore.create(in: try DatabaseQueue())
        ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
    }

    func member(_ organisation: String) -> Principal {
        Principal(tokenID: organisation, organisation: organisation, role: .member)
    }

    /// A signed update of `record`'s `web` from `device`.
    func update(_ record: String, device: String, key: SigningKey, counter: Int = 0) -> Change {
        let clock = HLC(milliseconds: now, counter: counter, device: device)
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: "organisation", recordID: record, op: .update,
            fields: ["web": .string("https://\(counter).example")], baseVersion: 1, hlc: clock.description,
            device: device
        ).signed(with: key)
    }

    @Test func aCoordinatorsPushRegistersTheCarriedDeviceForItsOrganisation() async throws {
        let key = SigningKey()
        let carried = CarriedDevice(device: "field-laptop", publicKey: key.publicKey, organisation: ministry)
        let change = update(ministry, device: "field-laptop", key: key)
        let results = try await store.push([change], carrying: [carried], by: coordinator, now: now)
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
        let carried = CarriedDevice(device: "field-laptop", publicKey: key.publicKey, organisation: ministry)
        let results = try await store.push(
            [update(ministry, device: "field-laptop", key: key)], carrying: [carried], by: member(ministry), now: now)
        #expect(results.map(\.reason) == ["signature"])
        #expect(try await store.registrations(of: ["field-laptop"]).isEmpty)
    }

    @Test func aCarriedRegistrationNeverReplacesOneOrNamesAnUnknownOrganisation() async throws {
        let key = SigningKey()
        _ = try await store.registerDevice("ministry-laptop", publicKey: key.publicKey, by: member(ministry), now: now)
        let rogue = SigningKey()
        let takeover = CarriedDevice(device: "ministry-laptop", publicKey: rogue.publicKey, organisation: company)
        let results = try await store.push(
            [update(company, device: "ministry-laptop", key: rogue)], carrying: [takeover], by: coordinator, now: now)
        #expect(results.map(\.reason) == ["signature"])
        #expect(try await store.registrations(of: ["ministry-laptop"])["ministry-laptop"]?.organisation == ministry)

        let nowhere = CarriedDevice(
            device: "ghost", publicKey: rogue.publicKey,
            organisation: UUIDv7Generator.id(
                at: HLC(milliseconds: now, counter: 0, device: "x")))
        let ghost = try await store.push(
            [update(company, device: "ghost", key: rogue)], carrying: [nowhere], by: coordinator, now: now)
        #expect(ghost.map(\.reason) == ["signature"])
        #expect(try await store.registrations(of: ["ghost"]).isEmpty)
        #expect(try await store.verify().failure == nil)
    }
}
