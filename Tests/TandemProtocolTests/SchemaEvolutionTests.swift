import TandemProtocol
import Testing

// Schema evolution (SPEC §2, docs/schema.md): additive changes only, each refusal naming what.

private func partnership(_ edit: (inout Schema) -> Void) -> Schema {
    var schema = Schema.partnership
    edit(&schema)
    return schema
}

private func index(_ table: String, in schema: Schema) -> Int {
    schema.tables.firstIndex { $0.name == table }!
}

@Test func additiveChangesAreAccepted() throws {
    let evolved = partnership { schema in
        let practice = index("practice", in: schema)
        schema.tables[practice].fields.append(FieldSchema(name: "website", type: .text))
        schema.tables[practice].fields.append(FieldSchema(name: "code", type: .text, isUnique: true))
        let exchange = index("exchange", in: schema)
        let status = schema.tables[exchange].fields.firstIndex { $0.name == "status" }!
        schema.tables[exchange].fields[status].values?.insert("postponed", at: 3)
        schema.tables[exchange].fields[status].rule = .max
        schema.tables[exchange].fields[status].defaultValue = "proposed"
        schema.tables[exchange].deleteRule = .updateWins
        let round = index("round", in: schema)
        schema.tables[round].fields[0].isRequired = true
        schema.tables[round].constraints.append(
            Constraint(
                kind: .within, field: Constraint.Path(field: "closes_on"), from: Constraint.Path(field: "opens_on")))
        schema.tables.append(
            TableSchema(name: "visit", fields: [FieldSchema(name: "notes", type: .text)], owners: []))
        // An existing optional field becoming required is accepted with a default.
        let person = index("person", in: schema)
        schema.tables[person].fields[2].isRequired = true
        schema.tables[person].fields[2].defaultValue = "employee"
    }
    try evolved.validate()
    try SchemaEvolution.check(from: .partnership, to: evolved)
}

@Test(arguments: [
    ("the table is removed", "practice"),
    ("the field is removed", "practice.media"),
    ("its type changes from text to int", "practice.topic"),
    ("it becomes required without a default", "practice.summary"),
    ("it becomes unique", "practice.title"),
    ("an enum value is removed", "exchange.status"),
    ("a new field must be optional", "practice.website"),
    ("its owners change", "practice"),
    ("its visibility changes", "practice"),
    ("it refers to another table", "practice.contact"),
])
func nonAdditiveChangesAreRefusedNamingWhat(expected: String, place: String) throws {
    let evolved = partnership { schema in
        let practice = index("practice", in: schema)
        func field(_ name: String) -> Int { schema.tables[practice].fields.firstIndex { $0.name == name }! }
        switch (expected, place) {
        case (_, "practice") where expected.hasPrefix("the table"): schema.tables.remove(at: practice)
        case (_, "practice.media"): schema.tables[practice].fields.remove(at: field("media"))
        case (_, "practice.topic"): schema.tables[practice].fields[field("topic")].type = .int
        case (_, "practice.summary"): schema.tables[practice].fields[field("summary")].isRequired = true
        case (_, "practice.title"): schema.tables[practice].fields[field("title")].isUnique = true
        case (_, "exchange.status"):
            let exchange = index("exchange", in: schema)
            let status = schema.tables[exchange].fields.firstIndex { $0.name == "status" }!
            schema.tables[exchange].fields[status].values?.removeLast()
        case (_, "practice.website"):
            schema.tables[practice].fields.append(FieldSchema(name: "website", type: .text, isRequired: true))
        case (_, "practice") where expected.hasPrefix("its owners"): schema.tables[practice].owners = []
        case (_, "practice") where expected.hasPrefix("its visibility"): schema.tables[practice].visibility = .owners
        case (_, "practice.contact"): schema.tables[practice].fields[field("contact")].references = "organisation"
        default: Issue.record("no case for \(place)")
        }
    }
    do {
        try SchemaEvolution.check(from: .partnership, to: evolved)
        Issue.record("\(place): accepted")
    } catch {
        #expect(error.message.hasPrefix("\(place): \(expected)"), "\(error.message)")
    }
}
