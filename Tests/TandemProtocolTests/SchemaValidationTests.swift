import TandemProtocol
import Testing

/// A schema document that must be refused, and what its message must mention.
struct InvalidSchema: Sendable, CustomTestStringConvertible {
    var label: String
    var json: String
    var mentions: String

    var testDescription: String { label }

    /// A one-table schema `s` whose table `t` has `fields` (JSON objects, comma-separated).
    static func fields(_ label: String, _ fields: String, mentions: String) -> InvalidSchema {
        tables(label, #"{"name": "t", "fields": [\#(fields)]}"#, mentions: mentions)
    }

    /// Schema `s`, version 1, with `tables` (JSON objects, comma-separated).
    static func tables(_ label: String, _ tables: String, mentions: String) -> InvalidSchema {
        document(label, #"{"name": "s", "version": 1, "tables": [\#(tables)]}"#, mentions: mentions)
    }

    static func document(_ label: String, _ json: String, mentions: String) -> InvalidSchema {
        InvalidSchema(label: label, json: json, mentions: mentions)
    }
}

private let text = #"{"name": "title", "type": "text"}"#
private let organisation = #"{"name": "org", "owners": ["id"], "fields": [\#(text)]}"#

private let invalidNames: [InvalidSchema] = [
    .document(
        "uppercase schema name", #"{"name": "Club", "version": 1, "tables": [\#(organisation)]}"#,
        mentions: "Club"),
    .document(
        "schema name with a leading digit", #"{"name": "1club", "version": 1, "tables": [\#(organisation)]}"#,
        mentions: "1club"),
    .document(
        "empty schema name", #"{"name": "", "version": 1, "tables": [\#(organisation)]}"#,
        mentions: "schema name"),
    .tables("uppercase table name", #"{"name": "Team", "fields": [\#(text)]}"#, mentions: "Team"),
    .tables("table name with a leading digit", #"{"name": "1team", "fields": [\#(text)]}"#, mentions: "1team"),
    .tables("table name with a dash", #"{"name": "my-team", "fields": [\#(text)]}"#, mentions: "my-team"),
    .tables("tandem_ table name", #"{"name": "tandem_meta", "fields": [\#(text)]}"#, mentions: "tandem_meta"),
    .tables("sqlite_ table name", #"{"name": "sqlite_master", "fields": [\#(text)]}"#, mentions: "sqlite_master"),
    .tables(
        "table name of 64 characters", #"{"name": "\#(String(repeating: "t", count: 64))", "fields": [\#(text)]}"#,
        mentions: "tttt"),
    .fields("uppercase field name", #"{"name": "Title", "type": "text"}"#, mentions: "t.Title"),
    .fields("field name with a leading digit", #"{"name": "1title", "type": "text"}"#, mentions: "t.1title"),
    .fields("field named id", #"{"name": "id", "type": "text"}"#, mentions: "t.id"),
    .fields("field name with a space", #"{"name": "full name", "type": "text"}"#, mentions: "t.full name"),
]

private let invalidStructure: [InvalidSchema] = [
    .tables("table declared twice", "\(organisation), \(organisation)", mentions: "org"),
    .tables("table without fields", #"{"name": "t", "fields": []}"#, mentions: "t:"),
    .fields("field declared twice", "\(text), \(text)", mentions: "t.title"),
    .document("empty tables list", #"{"name": "s", "version": 1, "tables": []}"#, mentions: "no tables"),
    .document("version 0", #"{"name": "s", "version": 0, "tables": [\#(organisation)]}"#, mentions: "version"),
    .document(
        "negative version", #"{"name": "s", "version": -1, "tables": [\#(organisation)]}"#,
        mentions: "version"),
]

private let invalidTypes: [InvalidSchema] = [
    .fields("enum without values", #"{"name": "status", "type": "enum"}"#, mentions: "t.status"),
    .fields(
        "enum with an empty values list", #"{"name": "status", "type": "enum", "values": []}"#,
        mentions: "t.status"),
    .fields(
        "enum with duplicate values", #"{"name": "status", "type": "enum", "values": ["a", "b", "a"]}"#,
        mentions: "t.status"),
    .fields(
        "enum with an empty value", #"{"name": "status", "type": "enum", "values": ["a", ""]}"#,
        mentions: "t.status"),
    .fields(
        "values on a text field", #"{"name": "status", "type": "text", "values": ["a"]}"#,
        mentions: "t.status"),
    .fields(
        "ref to an unknown table", #"{"name": "owner", "type": "ref", "references": "nowhere"}"#,
        mentions: "t.owner"),
    .fields("ref without references", #"{"name": "owner", "type": "ref"}"#, mentions: "t.owner"),
    .fields(
        "references on a text field", #"{"name": "owner", "type": "text", "references": "t"}"#,
        mentions: "t.owner"),
    .fields("unknown field type", #"{"name": "photo", "type": "blob"}"#, mentions: "tables[0].fields[0]"),
]

private let invalidDefaults: [InvalidSchema] = [
    .fields(
        "enum default that is not a member",
        #"{"name": "status", "type": "enum", "values": ["draft", "done"], "default": "open"}"#,
        mentions: "t.status"),
    .fields(
        "int default that is not a number", #"{"name": "points", "type": "int", "default": "x"}"#,
        mentions: "t.points"),
    .fields(
        "date default that is not a date", #"{"name": "day", "type": "date", "default": "2026-02-30"}"#,
        mentions: "t.day"),
    .fields(
        "bool default that is not true or false", #"{"name": "done", "type": "bool", "default": "yes"}"#,
        mentions: "t.done"),
    .fields(
        "default on a ref", #"{"name": "parent", "type": "ref", "references": "t", "default": "x"}"#,
        mentions: "t.parent"),
]

private let invalidRules: [InvalidSchema] = [
    .fields("union on a text field", #"{"name": "tags", "type": "text", "rule": "union"}"#, mentions: "t.tags"),
    .fields("max on a text field", #"{"name": "title", "type": "text", "rule": "max"}"#, mentions: "t.title"),
    .fields("min on a bool field", #"{"name": "done", "type": "bool", "rule": "min"}"#, mentions: "t.done"),
    .fields("max on a set field", #"{"name": "tags", "type": "set", "rule": "max"}"#, mentions: "t.tags"),
    .fields(
        "unknown rule", #"{"name": "title", "type": "text", "rule": "loudest-wins"}"#,
        mentions: "tables[0].fields[0]"),
    .fields("unique set", #"{"name": "tags", "type": "set", "unique": true}"#, mentions: "t.tags"),
    .fields("unique bool", #"{"name": "done", "type": "bool", "unique": true}"#, mentions: "t.done"),
    .fields(
        "not_before naming a text field",
        #"{"name": "note", "type": "text"}, {"name": "ends_on", "type": "date", "not_before": "note"}"#,
        mentions: "t.ends_on"),
    .fields(
        "not_before naming a missing field",
        #"{"name": "ends_on", "type": "date", "not_before": "starts_on"}"#, mentions: "t.ends_on"),
    .fields(
        "not_before on a text field",
        #"{"name": "starts_on", "type": "date"}, {"name": "note", "type": "text", "not_before": "starts_on"}"#,
        mentions: "t.note"),
    .fields(
        "not_before mixing a date and a timestamp",
        #"{"name": "at", "type": "timestamp"}, {"name": "ends_on", "type": "date", "not_before": "at"}"#,
        mentions: "t.ends_on"),
]

private let invalidOwners: [InvalidSchema] = [
    .tables(
        "owner that is a text field",
        #"\#(organisation), {"name": "t", "owners": ["title"], "fields": [\#(text)]}"#, mentions: "title"),
    .tables(
        "owner that is not a field", #"\#(organisation), {"name": "t", "owners": ["org"], "fields": [\#(text)]}"#,
        mentions: "org"),
    .tables(
        "owner that refers to a table not owned by itself",
        #"""
        \#(organisation), {"name": "other", "fields": [\#(text)]},
        {"name": "t", "owners": ["other"], "fields": [{"name": "other", "type": "ref", "references": "other"}]}
        """#,
        mentions: "other"),
    .tables(
        "owner ref when no table is owned by itself",
        #"""
        {"name": "org", "fields": [\#(text)]},
        {"name": "t", "owners": ["org"], "fields": [{"name": "org", "type": "ref", "references": "org"}]}
        """#,
        mentions: "org"),
    .tables(
        "two tables owned by themselves",
        #"\#(organisation), {"name": "club", "owners": ["id"], "fields": [\#(text)]}"#, mentions: "org, club"),
    .tables(
        "a table owned by itself and by a field",
        #"""
        \#(organisation),
        {"name": "club", "owners": ["id", "org"], "fields": [{"name": "org", "type": "ref", "references": "org"}]}
        """#,
        mentions: "club: a table owned by itself"),
]

private let malformedDocuments: [InvalidSchema] = [
    .document("malformed JSON", #"{"name": "s", "version": 1, "tables": ["#, mentions: "schema document"),
    .document("not an object", #"["s"]"#, mentions: "schema document"),
    .document("missing name", #"{"version": 1, "tables": [\#(organisation)]}"#, mentions: #"missing "name""#),
    .document("missing version", #"{"name": "s", "tables": [\#(organisation)]}"#, mentions: #"missing "version""#),
    .document("missing tables", #"{"name": "s", "version": 1}"#, mentions: #"missing "tables""#),
    .tables("table without a name", #"{"fields": [\#(text)]}"#, mentions: #"tables[0]: missing "name""#),
    .tables("table without fields key", #"{"name": "t"}"#, mentions: #"tables[0]: missing "fields""#),
    .fields("field without a type", #"{"name": "title"}"#, mentions: #"tables[0].fields[0]: missing "type""#),
    .fields(
        "second field without a name", #"\#(text), {"type": "text"}"#,
        mentions: #"tables[0].fields[1]: missing "name""#),
    .document(
        "version as text", #"{"name": "s", "version": "1", "tables": [\#(organisation)]}"#,
        mentions: "version"),
]

@Test(arguments: invalidNames + invalidStructure)
func schemaWithBadNamesOrStructureIsRefused(_ invalid: InvalidSchema) {
    expectRefused(invalid)
}

@Test(arguments: invalidTypes + invalidDefaults)
func schemaWithBadTypesOrDefaultsIsRefused(_ invalid: InvalidSchema) {
    expectRefused(invalid)
}

@Test(arguments: invalidRules + invalidOwners)
func schemaWithBadRulesOrOwnersIsRefused(_ invalid: InvalidSchema) {
    expectRefused(invalid)
}

@Test(arguments: malformedDocuments)
func malformedSchemaDocumentIsRefusedNamingWhere(_ invalid: InvalidSchema) {
    expectRefused(invalid)
}

private func expectRefused(_ invalid: InvalidSchema, sourceLocation: SourceLocation = #_sourceLocation) {
    let error = #expect(throws: ProtocolError.self, sourceLocation: sourceLocation) {
        try decodeSchema(invalid.json)
    }
    #expect(error?.code == .invalidSchema, sourceLocation: sourceLocation)
    #expect(
        error?.message.contains(invalid.mentions) == true, "\(error?.message ?? "no error")",
        sourceLocation: sourceLocation)
}

@Test func validateRefusesASchemaBuiltInCode() {
    var schema = Schema.partnership
    schema.tables[0].fields.append(FieldSchema(name: "number", type: .text))
    let error = #expect(throws: ProtocolError.self) { try schema.validate() }
    #expect(error?.code == .invalidSchema)
    #expect(error?.message.hasPrefix("round.number: ") == true)
}

@Test func theSmallestValidSchemaIsAccepted() throws {
    let schema = try decodeSchema(#"{"name": "s", "version": 1, "tables": [{"name": "t", "fields": [\#(text)]}]}"#)
    let table = try schema.table(named: "t")
    #expect(table.owners.isEmpty)
    #expect(!table.isPersonal)
    #expect(table.deleteRule == .deleteWins)
    #expect(try table.field(named: "title") == FieldSchema(name: "title", type: .text))
}

@Test(arguments: ["a", "a1", "a_b", "snake_case_2", String(repeating: "x", count: 63)])
func identifiersAreLowercaseSnakeCase(name: String) {
    #expect(Schema.isIdentifier(name))
}

@Test(arguments: ["", "A", "aB", "1a", "_a", "a-b", "a b", "é", String(repeating: "x", count: 64)])
func otherNamesAreNotIdentifiers(name: String) {
    #expect(!Schema.isIdentifier(name))
}
