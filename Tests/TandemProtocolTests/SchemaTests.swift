import TandemProtocol
import Testing

/// One line per field, so that a difference from SPEC §2 reads plainly in a failure:
/// `"status enum[planned,open,closed] default=planned"`, `"round ref→round required"`.
private func summary(_ field: FieldSchema) -> String {
    var parts = [field.name]
    switch field.type {
    case .ref: parts.append("ref→\(field.references ?? "?")")
    case .enum: parts.append("enum[\((field.values ?? []).joined(separator: ","))]")
    default: parts.append(field.type.rawValue)
    }
    if field.type != .ref, let references = field.references { parts.append("references=\(references)") }
    if field.type != .enum, let values = field.values { parts.append("values=\(values)") }
    if field.isRequired { parts.append("required") }
    if field.isUnique { parts.append("unique") }
    if let defaultValue = field.defaultValue { parts.append("default=\(defaultValue)") }
    if field.rule != .lww { parts.append("rule=\(field.rule.rawValue)") }
    if let notBefore = field.notBefore { parts.append("not_before=\(notBefore)") }
    return parts.joined(separator: " ")
}

/// SPEC §2, table by table.
private let expectedTables: [(name: String, fields: [String])] = [
    (
        "round",
        [
            "number int required unique",
            "title text",
            "opens_on date",
            "closes_on date",
            "status enum[planned,open,closed] default=planned",
        ]
    ),
    (
        "organisation",
        [
            "name text required",
            "sector enum[public,private,ngo,municipality,education,other] required",
            "registration_id text unique",
            "address text",
            "web text",
            "email text",
        ]
    ),
    (
        "person",
        [
            "organisation ref→organisation required",
            "full_name text required",
            "title text",
            "email text",
            "phone text",
        ]
    ),
    (
        "challenge",
        [
            "round ref→round required",
            "title text required",
            "proposer ref→organisation required",
            "description text",
            "status enum[proposed,selected,in_progress,completed,rejected] default=proposed rule=coordinator-wins",
            "mentor ref→person",
            "outcome text",
        ]
    ),
    (
        "exchange",
        [
            "round ref→round required",
            "person ref→person required",
            "home ref→organisation required",
            "host ref→organisation required",
            "starts_on date required rule=manual",
            "ends_on date required rule=manual not_before=starts_on",
            "status enum[draft,proposed,confirmed,completed,cancelled] default=draft",
            "goals text",
            "notes text",
        ]
    ),
    (
        "practice",
        [
            "organisation ref→organisation required",
            "title text required",
            "topic text",
            "summary text",
            "outputs text",
            "started_on date",
            "ended_on date",
            "funding text",
            "recommendations text",
            "risks text",
            "evaluation text",
            "media text",
            "contact ref→person",
            "tags set rule=union",
        ]
    ),
]

@Test func partnershipIsNamedAndVersioned() {
    #expect(Schema.partnership.name == "partnership")
    #expect(Schema.partnership.version >= 1)
}

@Test func partnershipHasTheSixTablesOfTheSpecInOrder() {
    #expect(Schema.partnership.tables.map(\.name) == expectedTables.map(\.name))
}

@Test(arguments: expectedTables.map(\.name))
func partnershipTableHasExactlyTheSpecFieldsInOrder(table: String) throws {
    let expected = try #require(expectedTables.first(where: { $0.name == table }))
    let actual = try Schema.partnership.table(named: table)
    #expect(actual.fieldNames == expected.fields.map { String($0.prefix(while: { $0 != " " })) })
    #expect(actual.fields.map(summary) == expected.fields)
}

@Test(arguments: [
    ("round", [String]()),
    ("organisation", ["id"]),
    ("person", ["organisation"]),
    ("challenge", ["proposer"]),
    ("exchange", ["home", "host"]),
    ("practice", ["organisation"]),
])
func partnershipOwnersFollowTheSpec(table: String, owners: [String]) throws {
    #expect(try Schema.partnership.table(named: table).owners == owners)
}

@Test func onlyPersonHoldsPersonalData() {
    let personal = Schema.partnership.tables.filter(\.isPersonal).map(\.name)
    #expect(personal == ["person"])
}

@Test func everyPartnershipTableIsDeleteWins() {
    for table in Schema.partnership.tables {
        #expect(table.deleteRule == .deleteWins, "\(table.name)")
    }
}

@Test func unlistedPartnershipFieldsUseLastWriterWins() {
    let special: Set<String> = ["challenge.status", "exchange.starts_on", "exchange.ends_on", "practice.tags"]
    for table in Schema.partnership.tables {
        for field in table.fields where !special.contains("\(table.name).\(field.name)") {
            #expect(field.rule == .lww, "\(table.name).\(field.name)")
        }
    }
    #expect(partnershipField("challenge", "status").rule == .coordinatorWins)
    #expect(partnershipField("exchange", "starts_on").rule == .manual)
    #expect(partnershipField("exchange", "ends_on").rule == .manual)
    #expect(partnershipField("practice", "tags").rule == .union)
}

@Test func onlyRoundNumberAndRegistrationIDAreUnique() {
    let unique = Schema.partnership.tables.flatMap { table in
        table.fields.filter(\.isUnique).map { "\(table.name).\($0.name)" }
    }
    #expect(unique == ["round.number", "organisation.registration_id"])
}

@Test func enumValuesKeepTheirDeclaredOrder() {
    #expect(partnershipField("round", "status").values == ["planned", "open", "closed"])
    #expect(
        partnershipField("organisation", "sector").values == [
            "public", "private", "ngo", "municipality", "education", "other",
        ])
    #expect(
        partnershipField("challenge", "status").values == [
            "proposed", "selected", "in_progress", "completed", "rejected",
        ])
    #expect(
        partnershipField("exchange", "status").values == [
            "draft", "proposed", "confirmed", "completed", "cancelled",
        ])
}

@Test func referencesToATableListEveryRefField() {
    let toOrganisation = Schema.partnership.references(to: "organisation").map { "\($0.table.name).\($0.field.name)" }
    #expect(
        toOrganisation == [
            "person.organisation", "challenge.proposer", "exchange.home", "exchange.host", "practice.organisation",
        ])
    let toPerson = Schema.partnership.references(to: "person").map { "\($0.table.name).\($0.field.name)" }
    #expect(toPerson == ["challenge.mentor", "exchange.person", "practice.contact"])
    #expect(Schema.partnership.references(to: "practice").isEmpty)
}

@Test func encodedSchemaDecodesToAnEqualSchema() throws {
    let schema = Schema.partnership
    let decoded = try Schema.decode(schema.encoded())
    #expect(decoded == schema)
    #expect(decoded.encoded() == schema.encoded())
}

@Test func encodedSchemaIsTheServedDocumentShape() throws {
    let document = try JSONValue.parse(String(decoding: Schema.partnership.encoded(), as: UTF8.self))
    #expect(document["name"] == .string("partnership"))
    #expect(document["version"] == .int(Int64(Schema.partnership.version)))
    guard case let .array(tables)? = document["tables"] else {
        Issue.record("tables is not an array")
        return
    }
    #expect(tables.count == 6)
}

@Test func unknownTableIsRefusedNamingTheKnownTables() {
    let error = #expect(throws: ProtocolError.self) { try Schema.partnership.table(named: "exchanges") }
    #expect(error?.code == .unknownTable)
    #expect(error?.message.contains("\"exchanges\"") == true)
    #expect(error?.message.contains("round, organisation, person, challenge, exchange, practice") == true)
}

@Test func unknownFieldIsRefusedNamingTableAndField() {
    let error = #expect(throws: ProtocolError.self) { try partnershipTable("exchange").field(named: "colour") }
    #expect(error?.code == .unknownField)
    #expect(error?.table == "exchange")
    #expect(error?.message.hasPrefix("exchange: ") == true)
    #expect(error?.message.contains("colour") == true)
}
