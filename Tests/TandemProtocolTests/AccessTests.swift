import TandemProtocol
import Testing

// SPEC §6: who may write what. Coordinators (and the server) anything, auditors nothing, a member
// only records its organisation owns, before and after the change.

private let exchangeTable = partnershipTable("exchange")
private let organisationTable = partnershipTable("organisation")
private let roundTable = partnershipTable("round")
private let practiceTable = partnershipTable("practice")

private func exchangeValues(home: String, host: String) -> [String: JSONValue] {
    exchangeFields(["home": .string(home), "host": .string(host)])
}

@Test func aMemberOwnsAnExchangeAsItsHomeOrItsHost() {
    let values = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    #expect(Access.isOwner(.memberA, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(Access.isOwner(.memberA2, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(Access.isOwner(.memberB, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(!Access.isOwner(.memberC, table: exchangeTable, id: MergeIDs.exchange, values: values))
}

@Test func anOrganisationRecordIsOwnedThroughItsID() {
    let values: [String: JSONValue] = ["name": .string("Ministry"), "sector": .string("public")]
    #expect(Access.isOwner(.memberA, table: organisationTable, id: MergeIDs.orgA, values: values))
    #expect(!Access.isOwner(.memberB, table: organisationTable, id: MergeIDs.orgA, values: values))
}

@Test func noOrganisationOwnsARound() {
    for author in [Author.memberA, .memberB, .coordinator, .server] {
        #expect(!Access.isOwner(author, table: roundTable, id: MergeIDs.round, values: ["number": .int(1)]))
    }
}

@Test func anAuthorWithoutAnOrganisationOwnsNothing() {
    let values = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    let orphan = Author(organisation: nil, role: .member, device: "d")
    #expect(!Access.isOwner(orphan, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(!Access.isOwner(.coordinator, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(!Access.mayWrite(orphan, table: exchangeTable, id: MergeIDs.exchange, before: values, after: values))
}

@Test func ownershipNeedsTheValueNotJustTheField() {
    var values = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    values["home"] = nil
    #expect(!Access.isOwner(.memberA, table: exchangeTable, id: MergeIDs.exchange, values: values))
    #expect(Access.isOwner(.memberB, table: exchangeTable, id: MergeIDs.exchange, values: values))
}

@Test func accessLetsCoordinatorsAndTheServerWriteAnything() {
    let values = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    for author in [Author.coordinator, .server, Author(organisation: MergeIDs.orgC, role: .coordinator)] {
        #expect(Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: nil, after: values))
        #expect(Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: values, after: values))
        #expect(Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: values, after: nil))
        #expect(Access.mayWrite(author, table: roundTable, id: MergeIDs.round, before: nil, after: ["number": .int(1)]))
        #expect(Access.mayWrite(author, table: organisationTable, id: MergeIDs.orgA, before: [:], after: [:]))
    }
}

@Test func accessLetsAuditorsWriteNothing() {
    let values = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    for author in [Author.auditor, Author(organisation: MergeIDs.orgA, role: .auditor)] {
        #expect(!Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: nil, after: values))
        #expect(!Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: values, after: values))
        #expect(!Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: values, after: nil))
        #expect(!Access.mayWrite(author, table: organisationTable, id: MergeIDs.orgA, before: [:], after: [:]))
    }
}

@Test func aMemberMayInsertUpdateAndDeleteWhatItOwns() {
    let values = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    for author in [Author.memberA, .memberB] {
        #expect(Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: nil, after: values))
        #expect(Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: values, after: values))
        #expect(Access.mayWrite(author, table: exchangeTable, id: MergeIDs.exchange, before: values, after: nil))
    }
    #expect(!Access.mayWrite(.memberC, table: exchangeTable, id: MergeIDs.exchange, before: nil, after: values))
    #expect(!Access.mayWrite(.memberC, table: exchangeTable, id: MergeIDs.exchange, before: values, after: values))
    #expect(!Access.mayWrite(.memberC, table: exchangeTable, id: MergeIDs.exchange, before: values, after: nil))
}

@Test func aMemberMustOwnTheRecordBeforeAndAfter() {
    let ab = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgB)
    let ac = exchangeValues(home: MergeIDs.orgA, host: MergeIDs.orgC)
    let cb = exchangeValues(home: MergeIDs.orgC, host: MergeIDs.orgB)
    // B hands its hosting to C: B owns the record before, not after.
    #expect(!Access.mayWrite(.memberB, table: exchangeTable, id: MergeIDs.exchange, before: ab, after: ac))
    // C takes over a record it does not own: C owns it after, not before.
    #expect(!Access.mayWrite(.memberC, table: exchangeTable, id: MergeIDs.exchange, before: ab, after: ac))
    // A stays home throughout.
    #expect(Access.mayWrite(.memberA, table: exchangeTable, id: MergeIDs.exchange, before: ab, after: ac))
    #expect(!Access.mayWrite(.memberA, table: exchangeTable, id: MergeIDs.exchange, before: ab, after: cb))
}

@Test func aMemberWritesOnlyItsOwnOrganisationAndNoRound() {
    #expect(Access.mayWrite(.memberA, table: organisationTable, id: MergeIDs.orgA, before: [:], after: [:]))
    #expect(Access.mayWrite(.memberA, table: organisationTable, id: MergeIDs.orgA, before: nil, after: [:]))
    #expect(!Access.mayWrite(.memberA, table: organisationTable, id: MergeIDs.orgB, before: [:], after: [:]))
    #expect(!Access.mayWrite(.memberA, table: roundTable, id: MergeIDs.round, before: nil, after: ["number": .int(2)]))
    #expect(!Access.mayWrite(.memberA, table: roundTable, id: MergeIDs.round, before: [:], after: nil))
}

@Test func aMemberWritesRecordsOwnedThroughAnOrganisationField() {
    let ours: [String: JSONValue] = ["organisation": .string(MergeIDs.orgA), "title": .string("t")]
    #expect(Access.mayWrite(.memberA, table: practiceTable, id: MergeIDs.practice, before: ours, after: ours))
    #expect(!Access.mayWrite(.memberB, table: practiceTable, id: MergeIDs.practice, before: ours, after: ours))
}

@Test func aMemberCannotMakeAChangeThatIsNeitherBeforeNorAfter() {
    #expect(!Access.mayWrite(.memberA, table: organisationTable, id: MergeIDs.orgA, before: nil, after: nil))
}
