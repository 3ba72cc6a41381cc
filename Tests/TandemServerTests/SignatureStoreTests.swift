import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// A change counts only when the device it names signed it with the key registered for the
/// pushing token's organisation (SPEC §5, §8). Anything else is rejected with `signature`,
/// logged as evidence, and changes nothing.
@Suite struct SignatureStoreTests {
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

    // MARK: - Helpers

    func member(_ organisation: String) -> Principal {
        Principal(tokenID: organisation, organisation: organisation, role: .member)
    }

    /// A new device of `principal`'s organisation: its id and key, registered.
    func register(_ device: String, for principal: Principal) async throws -> SigningKey {
        let key = SigningKey()
        _ = try await store.registerDevice(device, publicKey: key.publicKey, by: principal, now: now)
        return key
    }

    /// An unsigned update of `record` (at version `base`) from `device`.
    func update(_ record: String, _ fields: [String: JSONValue], base: Int64 = 1, device: String, counter: Int = 0)
        -> Change
    {
        let clock = HLC(milliseconds: now, counter: counter, device: device)
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: "organisation", recordID: record, op: .update,
            fields: fields, baseVersion: base, hlc: clock.description, device: device)
    }

    func record(_ id: String) async throws -> RecordState? {
        try await store.read { db in try self.store.loadRecord(id, db: db) }
    }

    /// Pushes `change` and checks that it is rejected for its signature, logged as pushed with
    /// the next seq, and that its record is as it was; the history still verifies.
    func expectRefused(
        _ change: Change, by principal: Principal, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let head = try await store.headSeq()
        let before = try await record(change.recordID)
        let results = try await store.push([change], by: principal, now: now)
        #expect(results.map(\.status) == [.rejected], sourceLocation: sourceLocation)
        #expect(results.first?.reason == "signature", sourceLocation: sourceLocation)
        #expect(results.first?.seq == head + 1, "logged with the next seq", sourceLocation: sourceLocation)
        let logged = try await store.history(since: head, limit: 10)
        #expect(logged.count == 1, sourceLocation: sourceLocation)
        let entry = try #require(try logged.first?.entry, sourceLocation: sourceLocation)
        #expect(
            try Change(json: entry.change) == change, "the change is kept as pushed", sourceLocation: sourceLocation)
        #expect(entry.author == principal.author(device: change.device), sourceLocation: sourceLocation)
        #expect(try Outcome(json: entry.outcome) == .rejected("signature"), sourceLocation: sourceLocation)
        #expect(try await record(change.recordID) == before, "the record is untouched", sourceLocation: sourceLocation)
        #expect(try await store.verify().failure == nil, sourceLocation: sourceLocation)
    }

    // MARK: - Refused

    @Test func anUnsignedChangeIsRejectedAndLogged() async throws {
        _ = try await register("ministry-laptop", for: member(ministry))
        try await expectRefused(
            update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop"), by: member(ministry))
    }

    @Test func aSignatureByAnotherKeyIsRejected() async throws {
        _ = try await register("ministry-laptop", for: member(ministry))
        let forged = update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop")
            .signed(with: SigningKey())
        try await expectRefused(forged, by: member(ministry))
    }

    @Test func aFieldChangedAfterSigningIsRejected() async throws {
        let key = try await register("ministry-laptop", for: member(ministry))
        var altered = update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop")
            .signed(with: key)
        #expect(altered.isSigned(by: key.publicKey))
        altered.fields["web"] = .string("https://gov.exbmple")
        try await expectRefused(altered, by: member(ministry))
        // And a flipped bit in the signature itself.
        var flipped = update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop", counter: 1)
            .signed(with: key)
        let signature = try #require(flipped.signature)
        var bytes = try #require(Base64.decode(signature))
        bytes[10] ^= 0x01
        flipped.signature = Base64.encode(bytes)
        try await expectRefused(flipped, by: member(ministry))
    }

    @Test func aDeviceNeverRegisteredIsRejected() async throws {
        let key = SigningKey()
        let change = update(ministry, ["web": .string("https://gov.example")], device: "unknown-laptop")
        try await expectRefused(change.signed(with: key), by: member(ministry))
    }

    @Test func anotherOrganisationsDeviceIsRejected() async throws {
        let key = try await register("ministry-laptop", for: member(ministry))
        // The company signs its own record's edit with the ministry's device (its key leaked, say).
        let borrowed = update(company, ["web": .string("https://kovina.example")], device: "ministry-laptop")
            .signed(with: key)
        try await expectRefused(borrowed, by: member(company))
        // The ministry itself may.
        let own = update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop", counter: 2)
        #expect(
            try await store.push([own.signed(with: key)], by: member(ministry), now: now).map(\.status) == [.applied])
    }

    @Test func aCoordinatorCarriesAMembersChangeAsThatOrganisations() async throws {
        // A coordinator's replica hands back a ministry change that a restored server lost
        // (docs/operations.md): it is judged, and logged, as the ministry's.
        let key = try await register("ministry-laptop", for: member(ministry))
        let carried = update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop")
            .signed(with: key)
        let results = try await store.push([carried], by: coordinator, now: now)
        #expect(results.map(\.status) == [.applied])
        let entry = try #require(try await store.history(since: 0, limit: 1000).last?.entry)
        #expect(entry.author == Author(organisation: ministry, role: .member, device: "ministry-laptop"))
        // As the ministry's, it may not change what the ministry does not own.
        let beyond = update(company, ["web": .string("https://kovina.example")], device: "ministry-laptop", counter: 1)
            .signed(with: key)
        let refused = try await store.push([beyond], by: coordinator, now: now)
        #expect(refused.map(\.reason) == ["not_permitted"])
        // The chain still verifies: each carried entry names the device's organisation.
        #expect(try await store.verify().failure == nil)
    }

    @Test func aChangeClaimingTheServersDeviceIsRejected() async throws {
        let key = try await register("ministry-laptop", for: member(ministry))
        let claimed = update(ministry, ["web": .string("https://gov.example")], device: DeviceRegistry.serverDevice)
        try await expectRefused(claimed, by: member(ministry))
        let signed = update(
            ministry, ["web": .string("https://gov.example")], device: DeviceRegistry.serverDevice, counter: 1)
        try await expectRefused(signed.signed(with: key), by: member(ministry))
        let coordinatorKey = try await register("coordinator-desk", for: coordinator)
        try await expectRefused(
            update(company, ["web": .string("https://k.example")], device: DeviceRegistry.serverDevice)
                .signed(with: coordinatorKey), by: coordinator)
    }

    @Test func aPushedDeviceRegistrationRegistersNothing() async throws {
        let key = try await register("ministry-laptop", for: member(ministry))
        let rogue = SigningKey()
        let clock = HLC(milliseconds: now, counter: 0, device: "ministry-laptop")
        let registration = Change(
            changeID: UUIDv7Generator.id(at: clock), table: DeviceRegistry.table, recordID: "rogue-device",
            op: .insert,
            fields: [
                "organisation": .string(ministry), "role": .string("member"), "public_key": .string(rogue.publicKey),
            ], baseVersion: 0, hlc: clock.description, device: "ministry-laptop"
        ).signed(with: key)
        let results = try await store.push([registration], by: member(ministry), now: now)
        #expect(results.map(\.status) == [.rejected])
        try await expectRefused(
            update(ministry, ["web": .string("https://gov.example")], device: "rogue-device").signed(with: rogue),
            by: member(ministry))
    }

    // MARK: - Accepted

    @Test func aCoordinatorsDeviceWorks() async throws {
        let key = try await register("coordinator-desk", for: coordinator)
        let results = try await store.push(
            [update(company, ["web": .string("https://kovina.example")], device: "coordinator-desk").signed(with: key)],
            by: coordinator, now: now)
        #expect(results.map(\.status) == [.applied])
        #expect(try await record(company)?["web"] == .string("https://kovina.example"))
        #expect(try await store.verify().failure == nil)
    }

    @Test func oneBadSignatureInABatchRefusesOnlyThatChange() async throws {
        let key = try await register("ministry-laptop", for: member(ministry))
        let batch = [
            update(ministry, ["web": .string("https://a.example")], device: "ministry-laptop", counter: 1)
                .signed(with: key),
            update(ministry, ["email": .string("x@gov.example")], base: 2, device: "ministry-laptop", counter: 2)
                .signed(with: SigningKey()),
            update(ministry, ["address": .string("Main 1")], base: 2, device: "ministry-laptop", counter: 3)
                .signed(with: key),
        ]
        let results = try await store.push(batch, by: member(ministry), now: now)
        #expect(results.map(\.status) == [.applied, .rejected, .applied])
        #expect(results.map(\.reason) == [nil, "signature", nil])
        let state = try #require(try await record(ministry))
        #expect(state["email"] == .null)
        #expect(state["address"] == .string("Main 1") && state.version == 3)
    }

    @Test func aForgeryDoesNotTakeTheChangeIDOfTheGenuineChange() async throws {
        let key = try await register("ministry-laptop", for: member(ministry))
        let genuine = update(ministry, ["web": .string("https://gov.example")], device: "ministry-laptop")
        // Someone who learnt the change id pushes junk under it first: refused, logged as evidence.
        var forged = genuine
        forged.fields = ["web": .string("https://forged.example")]
        try await expectRefused(forged.signed(with: SigningKey()), by: member(ministry))
        let head = try await store.headSeq()
        // The genuine change still applies, with the next seq; pushed again, it is a duplicate.
        let first = try await store.push([genuine.signed(with: key)], by: member(ministry), now: now)
        #expect(first.map(\.status) == [.applied] && first.first?.seq == head + 1)
        #expect(try await record(ministry)?["web"] == .string("https://gov.example"))
        let again = try await store.push([genuine.signed(with: key)], by: member(ministry), now: now)
        #expect(again.map(\.status) == [.duplicate] && again.first?.seq == head + 1)
        // The forgery pushed again now meets the genuine change's id: a duplicate, nothing applied.
        let forgedAgain = try await store.push([forged.signed(with: SigningKey())], by: member(ministry), now: now)
        #expect(forgedAgain.map(\.status) == [.duplicate] && forgedAgain.first?.seq == head + 1)
        #expect(try await record(ministry)?["web"] == .string("https://gov.example"))
        #expect(try await store.verify().failure == nil)
    }
}
