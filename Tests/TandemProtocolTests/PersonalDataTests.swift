import TandemProtocol
import Testing

// Personal values committed to and opened (SPEC §8, docs/audit.md "Personal data"), and the
// erasure in the merge.

@Test func personalFieldsAreAPersonalTablesFieldsButItsReferences() {
    #expect(Schema.partnership.personalFields(of: "person") == ["full_name", "title", "email", "phone"])
    #expect(Schema.partnership.personalFields(of: "exchange").isEmpty)
    #expect(Schema.partnership.personalFields(of: "nowhere").isEmpty)
}

@Test func aSealedChangeHoldsCommitmentsThatItsOpeningsOpen() throws {
    let key = SigningKey()
    let change = insertChange(
        "person", MergeIDs.personA,
        ["organisation": .string(MergeIDs.orgA), "full_name": .string("Ana"), "title": .null], by: .memberA)
    let personal = Schema.partnership.personalFields(of: "person")
    let (sealed, openings) = change.sealed(personal: personal, salts: SaltKey(key))
    // The reference stays as it is; null stays null; the name becomes a commitment.
    #expect(sealed.fields["organisation"] == .string(MergeIDs.orgA) && sealed.fields["title"] == .null)
    let commitment = try #require(Commitment.hex(in: sealed.fields["full_name"] ?? .null))
    #expect(openings.count == 1 && openings[0].commitment == commitment)
    #expect(!String(decoding: sealed.signingBytes, as: UTF8.self).contains("Ana"))
    // Sealed again (a retried push), the same bytes; another key, another salt.
    #expect(change.sealed(personal: personal, salts: SaltKey(key)).change == sealed)
    #expect(change.sealed(personal: personal, salts: SaltKey(SigningKey())).change != sealed)
    #expect(try sealed.opened(Openings(openings), personal: personal).get() == change)
}

@Test func aChangeThatCannotBeOpenedSaysWhichField() throws {
    let personal = Schema.partnership.personalFields(of: "person")
    let plain = insertChange("person", MergeIDs.personA, ["full_name": .string("Ana")], by: .memberA)
    #expect(throws: UnsealedField.plain("full_name")) { try plain.opened(Openings(), personal: personal).get() }
    let (sealed, openings) = plain.sealed(personal: personal, salts: SaltKey(SigningKey()))
    #expect(throws: UnsealedField.unopened("full_name")) { try sealed.opened(Openings(), personal: personal).get() }
    // An opening whose value was altered opens nothing.
    var altered = Openings(openings)
    let commitment = try #require(openings[0].commitment)
    altered[commitment]?.value = .string("Mallory")
    #expect(altered.value(of: commitment) == nil && altered.mismatched == [commitment])
    #expect(throws: UnsealedField.unopened("full_name")) { try sealed.opened(altered, personal: personal).get() }
    // A commitment in a field that is not personal is not opened either.
    var stray = sealed
    stray.table = "round"
    #expect(throws: UnsealedField.unopened("full_name")) { try stray.opened(Openings(openings), personal: []).get() }
}

@Test func openingsReadBackAsWritten() throws {
    let opening = Opening(salt: String(repeating: "ab", count: 16), value: .array([.string("x")]))
    let openings = Openings([opening])
    #expect(try Openings(json: JSONValue.parse(openings.json.serialized())) == openings)
    #expect(throws: ProtocolError.self) {
        try Openings(json: JSONValue.parse(#"{"nothex": {"salt": "00", "value": 1}}"#))
    }
    #expect(throws: ProtocolError.self) {
        try Openings(json: JSONValue.parse(#"{"\#(String(repeating: "0", count: 64))": {"salt": "zz", "value": 1}}"#))
    }
}

@Test func anErasureNullsThePersonalFieldsAndNothingEditsTheRecordAfter() throws {
    var store = partnershipStore()
    let person = try #require(store.records[MergeIDs.personA])
    let version = person.version
    let server = Author(organisation: nil, role: .coordinator, device: DeviceRegistry.serverDevice)
    // A replica cannot erase: only the server's device, for a coordinator.
    var erase = makeChange(.erase, "person", MergeIDs.personA, base: version, at: 10, by: .coordinator)
    #expect(store.preview(erase, by: .coordinator).outcome.reason == "not_permitted")
    erase = makeChange(.erase, "person", MergeIDs.personA, base: version, at: 10, by: server)
    #expect(store.preview(erase, by: .memberA).outcome.reason == "not_permitted")
    let result = store.apply(erase, by: server)
    #expect(result.outcome.status == .applied && result.outcome.version == version + 1)
    let state = try #require(result.state)
    #expect(state.isErased && state["full_name"] == .null && state["organisation"] == person["organisation"])
    #expect(result.outcome.applied == ["full_name"])
    let update = updateChange(
        "person", MergeIDs.personA, ["title": .string("Dr")], base: version + 1, at: 20, by: .memberA)
    #expect(store.apply(update, by: .memberA).outcome.reason == "erased")
    #expect(store.apply(erase, by: server).outcome.reason == "erased")
    // A table without personal data has nothing to erase.
    let round = makeChange(.erase, "round", MergeIDs.round, base: 1, at: 30, by: server)
    #expect(store.apply(round, by: server).outcome.reason == "schema:fields")
}
