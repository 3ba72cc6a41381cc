import TandemProtocol
import Testing

private func read(_ json: JSONValue, as type: FieldType) throws(ProtocolError) -> FieldValue {
    try FieldValue(json: json, for: testField(type), in: "t")
}

@Test(arguments: FieldType.allCases)
func jsonNullIsNullForEveryType(type: FieldType) throws {
    #expect(try read(.null, as: type) == .null)
}

@Test(arguments: [
    (FieldType.int, JSONValue.int(42), FieldValue.int(42)),
    (.int, .int(-1), .int(-1)),
    (.real, .int(3), .real(3)),
    (.real, .double(2.5), .real(2.5)),
    (.bool, .bool(true), .bool(true)),
    (.bool, .bool(false), .bool(false)),
    (.text, .string("hi"), .text("hi")),
    // An empty string is NULL, as on the command line and in CSV; so is a set with no members.
    (.text, .string(""), .null),
    (.date, .string(""), .null),
    (.enum, .string(""), .null),
    (.set, .array([.string(" a "), .string("")]), .set(["a"])),
    (.date, .string("2024-02-29"), .text("2024-02-29")),
    (.timestamp, .string("2026-04-01T10:20:30+00:00"), .text("2026-04-01T10:20:30Z")),
    (.enum, .string("open"), .text("open")),
    (.ref, .string("0193a1b2-c3d4-7e5f-8a6b-000000000001"), .text("0193a1b2-c3d4-7e5f-8a6b-000000000001")),
    (.set, .array([.string("b"), .string("a"), .string("b")]), .set(["a", "b"])),
    (.set, .array([]), .null),
])
func jsonOfTheRightTypeIsRead(type: FieldType, json: JSONValue, expected: FieldValue) throws {
    #expect(try read(json, as: type) == expected)
}

@Test(arguments: [
    (FieldType.int, JSONValue.double(2.5)),
    (.int, .double(2)),
    (.int, .string("42")),
    (.int, .bool(true)),
    (.real, .string("2.5")),
    (.real, .bool(false)),
    (.real, .double(.infinity)),
    (.real, .double(-.infinity)),
    (.real, .double(.nan)),
    (.bool, .string("true")),
    (.bool, .int(1)),
    (.set, .string("a;b")),
    (.set, .array([.string("a"), .int(1)])),
    (.set, .array([.null])),
    (.text, .int(1)),
    (.text, .array([.string("a")])),
    (.text, .object([])),
    (.date, .string("2023-02-29")),
    (.date, .int(20_260_401)),
    (.timestamp, .string("2026-04-01T10:20:30+02:00")),
    (.enum, .string("archived")),
    (.ref, .int(1)),
])
func jsonOfTheWrongTypeOrFormatIsRefused(type: FieldType, json: JSONValue) {
    let error = #expect(throws: ProtocolError.self) { try read(json, as: type) }
    #expect(error?.code == .invalidValue)
    #expect(error?.message.hasPrefix("t.\(testField(type).name): ") == true, "\(error?.message ?? "")")
}

@Test(arguments: [
    FieldValue.text("x"), .int(7), .real(2.5), .bool(true), .set(["a", "b"]), .null,
])
func valueJSONReadsBackAsTheSameValue(value: FieldValue) throws {
    let type: FieldType =
        switch value {
        case .text: .text
        case .int: .int
        case .real: .real
        case .bool: .bool
        case .set: .set
        case .null: .text
        }
    #expect(try read(value.json, as: type) == value)
}

@Test func valueJSONUsesNumbersBooleansStringsAndArrays() {
    #expect(FieldValue.null.json == .null)
    #expect(FieldValue.text("x").json == .string("x"))
    #expect(FieldValue.int(7).json == .int(7))
    #expect(FieldValue.real(2.5).json == .double(2.5))
    #expect(FieldValue.bool(false).json == .bool(false))
    #expect(FieldValue.set(["a", "b"]).json == .array([.string("a"), .string("b")]))
}

@Test func aNumberTooLargeForARealIsRefused() {
    // 1e400 is valid JSON text but no finite Double: it must not become an infinite real.
    let field = testField(.real)
    let error = #expect(throws: ProtocolError.self) {
        try FieldValue(json: JSONValue.parse("1e400"), for: field, in: "t")
    }
    #expect(error?.code == .invalidValue || error?.code == .invalidJSON)
}

@Test func jsonNumbersWithoutAFractionAreIntegers() throws {
    #expect(try FieldValue(json: JSONValue.parse("12"), for: testField(.int), in: "t") == .int(12))
    #expect(try FieldValue(json: JSONValue.parse("-12"), for: testField(.int), in: "t") == .int(-12))
    #expect(throws: ProtocolError.self) { try FieldValue(json: JSONValue.parse("12.5"), for: testField(.int), in: "t") }
}
