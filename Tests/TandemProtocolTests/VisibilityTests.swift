import TandemProtocol
import Testing

// SPEC §6: who may read what. Coordinators and auditors everything; a member reference data, its
// own organisation's records, the exchanges it is part of and the persons on them.

private let schema = Schema.partnership
private let exchangeTable = partnershipTable("exchange")
private let personTable = partnershipTable("person")

private let personOfA: [String: JSONValue] = [
    "organisation": .string(MergeIDs.orgA), "full_name": .string("Ana Novak"),
]

@Test func thePartnershipSchemaRestrictsExchangesAndPersonsOnly() {
    let restricted = schema.tables.filter(Visibility.isRestricted).map(\.name)
    #expect(restricted == ["person", "exchange"])
    #expect(schema.tables.filter(Visibility.grantsSight).map(\.name) == ["exchange"])
    #expect(exchangeTable.visibility == .owners && personTable.visibility == .all && personTable.isPersonal)
}

@Test func coordinatorsAuditorsAndTheServerReadEverything() {
    for viewer in [Author.coordinator, .auditor, .server] {
        #expect(Visibility.mayRead(viewer, table: personTable, id: MergeIDs.personA, values: personOfA))
        #expect(
            Visibility.mayRead(viewer, table: exchangeTable, id: MergeIDs.exchange, values: exchangeFields()))
    }
}

@Test func everyMemberReadsReferenceData() {
    for name in ["round", "organisation", "challenge", "practice"] {
        let table = partnershipTable(name)
        #expect(Visibility.readers(of: table, id: MergeIDs.round, values: [:]) == nil)
        #expect(Visibility.mayRead(.memberC, table: table, id: MergeIDs.round, values: [:]))
    }
}

@Test func aMemberReadsAnExchangeItIsHomeOrHostOf() {
    let values = exchangeFields()  // home A, host B
    #expect(
        Visibility.readers(of: exchangeTable, id: MergeIDs.exchange, values: values) == [MergeIDs.orgA, MergeIDs.orgB])
    #expect(Visibility.mayRead(.memberA, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(Visibility.mayRead(.memberB, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(!Visibility.mayRead(.memberC, table: exchangeTable, id: MergeIDs.exchange, values: values))
    // Being granted sight of a person does not open an exchange.
    #expect(
        !Visibility.mayRead(
            .memberC, table: exchangeTable, id: MergeIDs.exchange, values: values, granted: [MergeIDs.orgC]))
}

@Test func aPersonReachesItsOrganisationAndTheOrganisationsGrantedSightOfIt() {
    #expect(Visibility.mayRead(.memberA, table: personTable, id: MergeIDs.personA, values: personOfA))
    #expect(!Visibility.mayRead(.memberB, table: personTable, id: MergeIDs.personA, values: personOfA))
    #expect(
        Visibility.mayRead(
            .memberB, table: personTable, id: MergeIDs.personA, values: personOfA, granted: [MergeIDs.orgB]))
    #expect(
        !Visibility.mayRead(
            .memberC, table: personTable, id: MergeIDs.personA, values: personOfA, granted: [MergeIDs.orgB]))
}

@Test func aMemberWithoutAnOrganisationReadsOnlyOpenTables() {
    let orphan = Author(organisation: nil, role: .member, device: "d")
    #expect(!Visibility.mayRead(orphan, table: personTable, id: MergeIDs.personA, values: personOfA))
    #expect(Visibility.mayRead(orphan, table: partnershipTable("round"), id: MergeIDs.round, values: [:]))
}

@Test func onlyOwnersVisibilityRecordsGrantSightOfThePersonsTheyReferTo() {
    let granted = Visibility.grantedRecords(in: schema, table: exchangeTable, values: exchangeFields())
    #expect(granted.map(\.table) == ["person"] && granted.map(\.id) == [MergeIDs.personA])
    // A challenge's mentor and a practice's contact are read by everyone's replica: no grant.
    let challenge = Visibility.grantedRecords(
        in: schema, table: partnershipTable("challenge"), values: ["mentor": .string(MergeIDs.personB)])
    let practice = Visibility.grantedRecords(
        in: schema, table: partnershipTable("practice"), values: ["contact": .string(MergeIDs.personB)])
    #expect(challenge.isEmpty && practice.isEmpty)
}

@Test func visibilityIsReadFromAndWrittenToTheSchemaDocument() throws {
    let text = #"""
        {"name": "s", "version": 1, "tables": [
          {"name": "org", "owners": ["id"], "fields": [{"name": "name", "type": "text"}]},
          {"name": "member", "owners": ["org"], "personal": true,
           "fields": [{"name": "org", "type": "ref", "references": "org"}]},
          {"name": "visit", "owners": ["org"], "visibility": "owners",
           "fields": [{"name": "org", "type": "ref", "references": "org"},
                      {"name": "who", "type": "ref", "references": "member"}]}
        ]}
        """#
    let decoded = try decodeSchema(text)
    #expect(decoded.tables.map(\.visibility) == [.all, .all, .owners])
    #expect(try Schema.decode(decoded.encoded()) == decoded)
    #expect(decoded.json.serialized().contains(#""visibility":"owners""#))
    #expect(!decoded.json.serialized().contains(#""visibility":"all""#), "the default is left out")
    let visit = try decoded.table(named: "visit")
    #expect(Visibility.grantedRecords(in: decoded, table: visit, values: ["who": .string("m1")]).map(\.id) == ["m1"])
}

@Test func anOwnersVisibleTableNeedsOwnersAndAKnownVisibility() {
    let ownerless = #"""
        {"name": "s", "version": 1, "tables": [
          {"name": "t", "visibility": "owners", "fields": [{"name": "name", "type": "text"}]}]}
        """#
    #expect {
        try decodeSchema(ownerless)
    } throws: { error in
        (error as? ProtocolError)?.message.contains("visible to its owners needs owners") == true
    }
    let unknown = #"""
        {"name": "s", "version": 1, "tables": [
          {"name": "t", "visibility": "friends", "fields": [{"name": "name", "type": "text"}]}]}
        """#
    #expect(throws: ProtocolError.self) { try decodeSchema(unknown) }
}

@Test func aPullItemThatLeavesSaysVisibleFalseAndOlderItemsReadAsVisible() throws {
    let leaving = PullItem(
        seq: 7, table: "person", recordID: MergeIDs.personA, version: 3, isDeleted: false, record: nil, entry: nil,
        isVisible: false)
    let text = leaving.json.serialized()
    #expect(text.contains(#""visible":false"#))
    #expect(try PullItem(json: JSONValue.parse(text)) == leaving)
    var arriving = leaving
    arriving.isVisible = true
    arriving.record = personOfA
    #expect(!arriving.json.serialized().contains("visible"), "visible items keep the older shape")
    #expect(try PullItem(json: JSONValue.parse(arriving.json.serialized())).isVisible)
}
