import TandemProtocol
import Testing

private let exchange = partnershipTable("exchange")

/// An exchange with every required field set.
private func validExchange(_ changes: [String: FieldValue] = [:]) -> Record {
    var record = Record(
        id: testID(100),
        values: [
            "round": .text(testID(1)), "person": .text(testID(2)), "home": .text(testID(3)),
            "host": .text(testID(4)), "starts_on": .text("2026-05-04"), "ends_on": .text("2026-05-08"),
        ])
    for (name, value) in changes { record[name] = value }
    return record
}

@Test func aCompleteExchangeIsValid() throws {
    try exchange.validate(validExchange())
    try exchange.validate(validExchange(["status": .text("confirmed"), "goals": .text("Learn"), "notes": .null]))
}

@Test func unknownFieldIsRefused() {
    let error = #expect(throws: ProtocolError.self) { try exchange.validate(validExchange(["colour": .text("red")])) }
    #expect(error?.code == .unknownField)
    #expect(error?.table == "exchange")
    #expect(error?.message.contains("colour") == true)
}

@Test(arguments: ["round", "person", "home", "host", "starts_on", "ends_on"])
func missingRequiredFieldIsRefusedNamingIt(field: String) {
    var record = validExchange()
    record.values[field] = nil
    let error = #expect(throws: ProtocolError.self) { try exchange.validate(record) }
    #expect(error?.code == .missingField)
    #expect(error?.field == field)
    #expect(error?.message == "exchange.\(field): is required")
}

@Test func requiredFieldSetToNullIsMissing() {
    let error = #expect(throws: ProtocolError.self) { try exchange.validate(validExchange(["person": .null])) }
    #expect(error?.code == .missingField)
    #expect(error?.message == "exchange.person: is required")
}

@Test(arguments: [
    "not-an-id", "0193A1B2-C3D4-7E5F-8A6B-000000000001", "0193a1b2", "0193a1b2c3d47e5f8a6b000000000001",
    "0193a1b2-c3d4-7e5f-8a6b-0000000000011", "",
])
func refNotShapedAsARecordIDIsRefused(id: String) {
    let error = #expect(throws: ProtocolError.self) { try exchange.validate(validExchange(["host": .text(id)])) }
    #expect(error?.code == .invalidValue)
    #expect(error?.field == "host")
    #expect(error?.message.hasPrefix("exchange.host: ") == true)
}

@Test func optionalRefNotShapedAsARecordIDIsRefused() {
    let challenge = partnershipTable("challenge")
    let record = Record(
        id: testID(9),
        values: [
            "round": .text(testID(1)), "title": .text("T"), "proposer": .text(testID(3)), "mentor": .text("ana"),
        ])
    let error = #expect(throws: ProtocolError.self) { try challenge.validate(record) }
    #expect(error?.code == .invalidValue)
    #expect(error?.message.hasPrefix("challenge.mentor: ") == true)
}

@Test func endBeforeStartIsACheckFailureNamingEndsOn() {
    let record = validExchange(["starts_on": .text("2026-05-08"), "ends_on": .text("2026-05-04")])
    let error = #expect(throws: ProtocolError.self) { try exchange.validate(record) }
    #expect(error?.code == .checkFailed)
    #expect(error?.field == "ends_on")
    #expect(error?.message.hasPrefix("exchange.ends_on: ") == true)
    #expect(error?.message.contains("starts_on") == true)
}

@Test(arguments: [("2026-05-04", "2026-05-04"), ("2026-05-04", "2026-05-05"), ("2025-12-31", "2026-01-01")])
func endOnOrAfterStartIsAccepted(startsOn: String, endsOn: String) throws {
    try exchange.validate(validExchange(["starts_on": .text(startsOn), "ends_on": .text(endsOn)]))
}

@Test(arguments: [
    ("2026-04-01T10:00:00Z", "2026-04-01T10:00:00.5Z"),
    ("2026-04-01T10:00:00.5Z", "2026-04-01T10:00:01Z"),
    ("2026-04-01T10:00:00.25Z", "2026-04-01T10:00:00.3Z"),
    ("2026-04-01T10:00:00Z", "2026-04-01T10:00:00.000Z"),
])
func laterTimestampIsNotBeforeAnEarlierOneWhateverItsFraction(openedAt: String, closedAt: String) throws {
    // Both values are valid, normalised RFC 3339 times and `closed_at` is not earlier, so the
    // record must be accepted; comparing the texts gets this wrong when fractions differ.
    let task = try clubSchema().table(named: "task")
    let record = Record(
        id: testID(2),
        values: [
            "team": .text(testID(1)), "title": .text("T"), "opened_at": .text(openedAt), "closed_at": .text(closedAt),
        ])
    try task.validate(record)
}

@Test func earlierTimestampIsACheckFailure() throws {
    let task = try clubSchema().table(named: "task")
    let record = Record(
        id: testID(2),
        values: [
            "team": .text(testID(1)), "title": .text("T"), "opened_at": .text("2026-04-01T10:00:01Z"),
            "closed_at": .text("2026-04-01T10:00:00.5Z"),
        ])
    let error = #expect(throws: ProtocolError.self) { try task.validate(record) }
    #expect(error?.code == .checkFailed)
    #expect(error?.field == "closed_at")
}

@Test func dateOrderIsNotCheckedWhileEitherDateIsUnset() throws {
    let practice = partnershipTable("practice")
    let task = try clubSchema().table(named: "task")
    try practice.validate(
        Record(id: testID(5), values: ["organisation": .text(testID(3)), "title": .text("P")]))
    try task.validate(
        Record(
            id: testID(6),
            values: ["team": .text(testID(1)), "title": .text("T"), "closed_at": .text("2026-04-01T10:00:00Z")]))
}

@Test(arguments: [("exchange", "draft"), ("round", "planned"), ("challenge", "proposed")])
func defaultsFillAnUnsetStatus(table: String, status: String) {
    let filled = partnershipTable(table).applyingDefaults(to: [:])
    #expect(filled == ["status": .text(status)])
}

@Test func defaultsFillAStatusSetToNull() {
    #expect(partnershipTable("exchange").applyingDefaults(to: ["status": .null])["status"] == .text("draft"))
}

@Test(arguments: [("exchange", "confirmed"), ("round", "open"), ("challenge", "selected")])
func defaultsLeaveAGivenStatusAlone(table: String, status: String) {
    let values: [String: FieldValue] = ["status": .text(status), "title": .text("kept")]
    #expect(partnershipTable(table).applyingDefaults(to: values) == values)
}

@Test func defaultsAddNothingToTablesWithoutDefaults() {
    let values: [String: FieldValue] = ["name": .text("Ministry"), "sector": .text("public")]
    #expect(partnershipTable("organisation").applyingDefaults(to: values) == values)
    #expect(partnershipTable("practice").applyingDefaults(to: [:]).isEmpty)
}

@Test func defaultsAreTypedValues() throws {
    let task = try clubSchema().table(named: "task")
    #expect(task.applyingDefaults(to: [:]) == ["points": .int(1), "done": .bool(false)])
    #expect(task.applyingDefaults(to: ["points": .int(5)])["points"] == .int(5))
}

@Test func recordReadsUnsetFieldsAsNull() {
    var record = Record(id: testID(1), values: [:])
    #expect(record["goals"] == .null)
    record["goals"] = .text("Learn")
    #expect(record.values["goals"] == .text("Learn"))
}
