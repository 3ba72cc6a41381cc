import TandemProtocol
import Testing

/// A schema that has nothing to do with the exchange programme: nothing in TandemProtocol may
/// be hard-wired to `partnership`.
let clubSchemaJSON = """
    {
      "name": "club",
      "version": 3,
      "tables": [
        {
          "name": "team",
          "owners": ["id"],
          "fields": [
            {"name": "name", "type": "text", "required": true, "unique": true},
            {"name": "founded", "type": "date"},
            {"name": "budget", "type": "real"}
          ]
        },
        {
          "name": "task",
          "owners": ["team"],
          "personal": true,
          "delete": "update-wins",
          "fields": [
            {"name": "team", "type": "ref", "references": "team", "required": true},
            {"name": "title", "type": "text", "required": true},
            {"name": "points", "type": "int", "rule": "max", "default": "1"},
            {"name": "labels", "type": "set", "rule": "union"},
            {"name": "done", "type": "bool", "default": "false"},
            {"name": "priority", "type": "enum", "values": ["low", "high", "urgent"], "rule": "min"},
            {"name": "opened_at", "type": "timestamp"},
            {"name": "closed_at", "type": "timestamp", "not_before": "opened_at"}
          ]
        }
      ]
    }
    """

func clubSchema() throws -> Schema { try decodeSchema(clubSchemaJSON) }

@Test func aSchemaDefinedAsDataDecodesAndValidates() throws {
    let schema = try clubSchema()
    #expect(schema.name == "club")
    #expect(schema.version == 3)
    #expect(schema.tables.map(\.name) == ["team", "task"])
    try schema.validate()
}

@Test func customTablesKeepTheirOwnersRulesAndFlags() throws {
    let schema = try clubSchema()
    let team = try schema.table(named: "team")
    let task = try schema.table(named: "task")
    #expect(team.owners == ["id"])
    #expect(!team.isPersonal)
    #expect(team.deleteRule == .deleteWins)
    #expect(task.owners == ["team"])
    #expect(task.isPersonal)
    #expect(task.deleteRule == .updateWins)
    #expect(task.fieldNames == ["team", "title", "points", "labels", "done", "priority", "opened_at", "closed_at"])
    #expect(try task.field(named: "team").references == "team")
    #expect(try task.field(named: "points").rule == .max)
    #expect(try task.field(named: "points").defaultValue == "1")
    #expect(try task.field(named: "labels").rule == .union)
    #expect(try task.field(named: "priority").rule == .min)
    #expect(try task.field(named: "priority").values == ["low", "high", "urgent"])
    #expect(try task.field(named: "closed_at").notBefore == "opened_at")
    #expect(schema.references(to: "team").map { "\($0.table.name).\($0.field.name)" } == ["task.team"])
}

@Test func customSchemaRoundTripsThroughItsEncoding() throws {
    let schema = try clubSchema()
    #expect(try Schema.decode(schema.encoded()) == schema)
    #expect(schema != Schema.partnership)
}

@Test func customSchemaKnowsNoPartnershipTable() throws {
    let error = #expect(throws: ProtocolError.self) { try clubSchema().table(named: "exchange") }
    #expect(error?.code == .unknownTable)
    #expect(error?.message.contains("team, task") == true)
}

@Test func customSchemaValuesParseAndValidate() throws {
    let task = try clubSchema().table(named: "task")
    var values: [String: FieldValue] = [:]
    for (name, text) in [
        ("team", testID(1)), ("title", "Paint the fence"), ("labels", "outdoor; paint;outdoor"),
        ("priority", "high"), ("opened_at", "2026-04-01T08:00:00+00:00"),
    ] {
        values[name] = try FieldValue(parsing: text, for: task.field(named: name), in: task.name)
    }
    let record = Record(id: testID(2), values: task.applyingDefaults(to: values))
    try task.validate(record)
    #expect(record["points"] == .int(1))
    #expect(record["done"] == .bool(false))
    #expect(record["labels"] == .set(["outdoor", "paint"]))
    #expect(record["opened_at"] == .text("2026-04-01T08:00:00Z"))
    #expect(
        record.json(in: task).serialized()
            == #"{"id":"\#(testID(2))","team":"\#(testID(1))","title":"Paint the fence","points":1,"#
            + #""labels":["outdoor","paint"],"done":false,"priority":"high","opened_at":"2026-04-01T08:00:00Z","#
            + #""closed_at":null}"#)
}

@Test func customSchemaRequiredFieldsAreItsOwn() throws {
    let task = try clubSchema().table(named: "task")
    let error = #expect(throws: ProtocolError.self) {
        try task.validate(Record(id: testID(2), values: ["team": .text(testID(1))]))
    }
    #expect(error?.code == .missingField)
    #expect(error?.message == "task.title: is required")
}

@Test func customSchemaEnumRefusesOtherMembers() throws {
    let priority = try clubSchema().table(named: "task").field(named: "priority")
    let error = #expect(throws: ProtocolError.self) { try FieldValue(parsing: "draft", for: priority, in: "task") }
    #expect(error?.message == #"task.priority: "draft" is not one of low, high, urgent"#)
}
