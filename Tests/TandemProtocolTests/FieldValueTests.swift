import TandemProtocol
import Testing

/// A field of `type` in table `t`: enums have the members draft, open, closed; refs point to `t`.
func testField(_ type: FieldType) -> FieldSchema {
    switch type {
    case .enum: return FieldSchema(name: "status", type: .enum, values: ["draft", "open", "closed"])
    case .ref: return FieldSchema(name: "parent", type: .ref, references: "t")
    default: return FieldSchema(name: "value", type: type)
    }
}

private func parse(_ text: String, as type: FieldType) throws(ProtocolError) -> FieldValue {
    try FieldValue(parsing: text, for: testField(type), in: "t")
}

@Test(arguments: FieldType.allCases)
func emptyTextIsNullForEveryType(type: FieldType) throws {
    #expect(try parse("", as: type) == .null)
}

@Test(arguments: [
    (FieldType.text, "hello world", FieldValue.text("hello world")),
    (.text, " kept as is; with a semicolon ", .text(" kept as is; with a semicolon ")),
    (.text, "Čebelarstvo 🐝", .text("Čebelarstvo 🐝")),
    (.int, "42", .int(42)),
    (.int, "0", .int(0)),
    (.int, "-7", .int(-7)),
    (.int, "9007199254740991", .int(9_007_199_254_740_991)),
    (.int, "-9007199254740991", .int(-9_007_199_254_740_991)),
    (.real, "2.5", .real(2.5)),
    (.real, "-0.125", .real(-0.125)),
    (.real, "3", .real(3)),
    (.real, "1e-7", .real(1e-7)),
    (.bool, "true", .bool(true)),
    (.bool, "false", .bool(false)),
    (.date, "2026-04-01", .text("2026-04-01")),
    (.date, "2024-02-29", .text("2024-02-29")),
    (.date, "2000-02-29", .text("2000-02-29")),
    (.date, "2026-12-31", .text("2026-12-31")),
    (.date, "0001-01-01", .text("0001-01-01")),
    (.timestamp, "2026-04-01T10:20:30Z", .text("2026-04-01T10:20:30Z")),
    (.timestamp, "2026-04-01T10:20:30+00:00", .text("2026-04-01T10:20:30Z")),
    (.timestamp, "2026-04-01T10:20:30.123Z", .text("2026-04-01T10:20:30.123Z")),
    (.timestamp, "2026-04-01T10:20:30.5+00:00", .text("2026-04-01T10:20:30.5Z")),
    (.timestamp, "2026-04-01t10:20:30z", .text("2026-04-01T10:20:30Z")),
    (.timestamp, "2024-02-29T23:59:59Z", .text("2024-02-29T23:59:59Z")),
    (.enum, "open", .text("open")),
    (.enum, "draft", .text("draft")),
    (.ref, "0193a1b2-c3d4-7e5f-8a6b-000000000001", .text("0193a1b2-c3d4-7e5f-8a6b-000000000001")),
    (.set, "b;a;b", .set(["a", "b"])),
    (.set, " x ; y\t", .set(["x", "y"])),
    (.set, "a;;b;", .set(["a", "b"])),
    (.set, "solo", .set(["solo"])),
    (.set, "two words;more words", .set(["more words", "two words"])),
])
func textParsesToTheTypedValue(type: FieldType, text: String, expected: FieldValue) throws {
    #expect(try parse(text, as: type) == expected)
}

@Test(arguments: [
    (FieldType.int, "4.2"), (.int, "abc"), (.int, "9223372036854775808"), (.int, "-9223372036854775809"),
    (.int, "9007199254740992"), (.int, "-9007199254740992"),
    (.int, " 1"), (.int, "1 "), (.int, "0x10"), (.int, "1e3"), (.int, "--1"),
    (.real, "nan"), (.real, "NaN"), (.real, "inf"), (.real, "-inf"), (.real, "infinity"), (.real, "1e400"),
    (.real, "abc"), (.real, "1,5"), (.real, " 1.5"),
    (.bool, "True"), (.bool, "TRUE"), (.bool, "yes"), (.bool, "1"), (.bool, "0"), (.bool, "t"), (.bool, "false "),
    (.date, "2023-02-29"), (.date, "1900-02-29"), (.date, "2026-13-01"), (.date, "2026-04-31"), (.date, "2026-06-31"),
    (.date, "2026-4-1"), (.date, "2026-04-1"), (.date, "20260401"), (.date, "2026-00-10"), (.date, "2026-01-00"),
    (.date, "0000-01-01"), (.date, "2026/04/01"), (.date, "2026-04-01T00:00:00Z"), (.date, "26-04-01"),
    (.date, "2026-04-01 "), (.date, "２０２６-04-01"),
    (.timestamp, "2026-04-01T10:20:30+01:00"), (.timestamp, "2026-04-01T10:20:30-05:00"),
    (.timestamp, "2026-04-01T10:20:30"), (.timestamp, "2026-04-01"), (.timestamp, "2026-04-01T24:00:00Z"),
    (.timestamp, "2026-04-01T10:60:00Z"), (.timestamp, "2026-02-30T10:00:00Z"), (.timestamp, "2026-04-01T10:20:30.Z"),
    (.timestamp, "2026-04-01T10:20Z"), (.timestamp, "2026-04-01T10:20:30.12aZ"), (.timestamp, "2026-04-01X10:20:30Z"),
    (.timestamp, "Z"),
    (.enum, "Open"), (.enum, "archived"), (.enum, " open"),
])
func malformedTextIsRefusedNamingTableAndField(type: FieldType, text: String) {
    let error = #expect(throws: ProtocolError.self) { try parse(text, as: type) }
    #expect(error?.code == .invalidValue)
    #expect(error?.table == "t")
    #expect(error?.field == testField(type).name)
    #expect(error?.message.hasPrefix("t.\(testField(type).name): ") == true, "\(error?.message ?? "")")
}

@Test func enumRefusalListsTheMembersInOrder() {
    let error = #expect(throws: ProtocolError.self) {
        try FieldValue(parsing: "archived", for: partnershipField("exchange", "status"), in: "exchange")
    }
    #expect(
        error?.message == #"exchange.status: "archived" is not one of draft, proposed, confirmed, completed, cancelled"#
    )
}

@Test func dateRefusalNamesThePartnershipField() {
    let error = #expect(throws: ProtocolError.self) {
        try FieldValue(parsing: "2026-04-31", for: partnershipField("exchange", "starts_on"), in: "exchange")
    }
    #expect(error?.code == .invalidValue)
    #expect(error?.message.hasPrefix("exchange.starts_on: ") == true)
    #expect(error?.message.contains("2026-04-31") == true)
}

@Test func timestampWithALongFractionIsParsedWithoutCrashing() async {
    // RFC 3339 puts no limit on the digits of a fraction; text from the command line or a
    // pushed change must never crash the process that validates it.
    await #expect(processExitsWith: .success) {
        let field = FieldSchema(name: "at", type: .timestamp)
        let text = "2026-04-01T10:20:30.99999999999999999999Z"
        let value = try? FieldValue(parsing: text, for: field, in: "t")
        precondition(value == .text(text), "a valid RFC 3339 time was refused")
    }
}

@Test(arguments: [
    (FieldType.text, FieldValue.text("semi;colons and spaces ")),
    (.int, .int(0)), (.int, .int(-42)), (.int, .int(9_007_199_254_740_991)), (.int, .int(-9_007_199_254_740_991)),
    (.real, .real(2)), (.real, .real(-2.5)), (.real, .real(0.1)), (.real, .real(1e-7)), (.real, .real(1e20)),
    (.real, .real(123_456_789.125)), (.real, .real(.greatestFiniteMagnitude)), (.real, .real(.leastNonzeroMagnitude)),
    (.real, .real(-1e15)), (.real, .real(999_999_999_999_999)),
    (.bool, .bool(true)), (.bool, .bool(false)),
    (.date, .text("2024-02-29")),
    (.timestamp, .text("2026-04-01T10:20:30Z")), (.timestamp, .text("2026-04-01T10:20:30.125Z")),
    (.enum, .text("closed")),
    (.ref, .text("0193a1b2-c3d4-7e5f-8a6b-000000000001")),
    (.set, .set(["a", "b c", "d"])), (.set, .set(["only"])),
    (.text, .null), (.int, .null), (.set, .null),
])
func plainTextParsesBackToTheSameValue(type: FieldType, value: FieldValue) throws {
    #expect(try parse(value.plainText, as: type) == value)
}

@Test func randomRealsSurvivePlainText() throws {
    var random = SplitMix64.seeded()
    for _ in 0..<2_000 {
        let value = Double(bitPattern: random.next())
        guard value.isFinite else { continue }
        let text = FieldValue.real(value).plainText
        #expect(try parse(text, as: .real) == .real(value), "\(value) → \(text)")
    }
}

@Test func plainTextOfEachValueKind() {
    #expect(FieldValue.null.plainText == "")
    #expect(FieldValue.int(-3).plainText == "-3")
    #expect(FieldValue.real(2).plainText == "2")
    #expect(FieldValue.real(2.5).plainText == "2.5")
    #expect(FieldValue.bool(true).plainText == "true")
    #expect(FieldValue.set(["a", "b"]).plainText == "a;b")
    #expect(FieldValue.text("x").plainText == "x")
}

@Test func normalizedSetsAreDistinctAndSorted() {
    #expect(FieldValue.normalizedSet(["c", "a", "c", "b"]) == .set(["a", "b", "c"]))
    #expect(FieldValue.normalizedSet([String]()) == .null)
    #expect(FieldValue.normalizedSet([" ", ""]) == .null)
}

@Test func textAccessorAndNullness() {
    #expect(FieldValue.text("x").text == "x")
    #expect(FieldValue.int(1).text == nil)
    #expect(FieldValue.null.isNull)
    #expect(!FieldValue.text("").isNull)
}

@Test(arguments: ["2024-02-29", "2000-02-29", "1999-12-31", "2026-01-31", "2026-11-30"])
func calendarDatesThatExistAreValid(text: String) {
    #expect(CalendarDate.isValid(text))
}

@Test(arguments: ["2100-02-29", "2023-02-29", "2026-11-31", "2026-02-30", "9999-99-99", "abcd-ef-gh", ""])
func calendarDatesThatDoNotExistAreInvalid(text: String) {
    #expect(!CalendarDate.isValid(text))
}

@Test(arguments: [
    (Int64(0), "1970-01-01T00:00:00.000Z"), (1_763_812_345_678, "2025-11-22T11:52:25.678Z"),
    (951_782_400_000, "2000-02-29T00:00:00.000Z"), (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
    (-1, "1969-12-31T23:59:59.999Z"),
])
func timestampsAreWrittenAsRFC3339UTC(milliseconds: Int64, text: String) {
    #expect(Timestamp.string(milliseconds: milliseconds) == text)
    #expect(Timestamp.string(milliseconds: milliseconds, withMilliseconds: false) == String(text.prefix(19)) + "Z")
    #expect(Timestamp.normalize(text) == text)
}
