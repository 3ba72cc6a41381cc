import TandemProtocol
import Testing

@Test(arguments: [
    ("plain", #""plain""#),
    ("say \"hi\"", #""say \"hi\"""#),
    (#"back\slash"#, #""back\\slash""#),
    ("line\nbreak", #""line\nbreak""#),
    ("tab\there", #""tab\there""#),
    ("carriage\rreturn", #""carriage\rreturn""#),
    ("bell\u{08}and\u{0C}feed", #""bell\band\ffeed""#),
    ("\u{01}", #""\u0001""#),
    ("\u{00}", #""\u0000""#),
    ("unit\u{1F}separator", #""unit\u001fseparator""#),
    ("slash / stays", #""slash / stays""#),
    ("delete \u{7F} stays", "\"delete \u{7F} stays\""),
    ("Čebelarstvo, 日本, 🙂", #""Čebelarstvo, 日本, 🙂""#),
    ("é\n🙂", #""é\n🙂""#),
    ("", #""""#),
])
func stringsEscapeOnlyWhatJSONRequires(text: String, json: String) {
    #expect(JSONValue.string(text).serialized() == json)
}

@Test func nonASCIIIsWrittenAsUTF8() {
    let bytes = Array(JSONValue.string("é").serialized().utf8)
    #expect(bytes == [0x22, 0xC3, 0xA9, 0x22])
}

@Test func objectsKeepTheirMemberOrder() {
    let value = JSONValue.object([
        JSONMember("zeta", .int(1)), JSONMember("alpha", .null),
        JSONMember("mid", .array([.bool(true), .bool(false)])),
    ])
    #expect(value.serialized() == #"{"zeta":1,"alpha":null,"mid":[true,false]}"#)
    #expect(value["alpha"] == .null)
    #expect(value["mid"] == .array([.bool(true), .bool(false)]))
    #expect(value["missing"] == nil)
    #expect(JSONValue.array([]).serialized() == "[]")
    #expect(JSONValue.object([]).serialized() == "{}")
}

@Test func keysAreEscapedLikeStrings() {
    #expect(JSONValue.object([JSONMember("a\"b", .int(1))]).serialized() == #"{"a\"b":1}"#)
}

@Test(arguments: [
    (JSONValue.int(0), "0"), (.int(-42), "-42"), (.int(.max), "9223372036854775807"),
    (.double(2), "2"), (.double(2.5), "2.5"), (.double(-0.125), "-0.125"),
    (.double(.nan), "null"), (.double(.infinity), "null"),
    (.bool(true), "true"), (.null, "null"),
])
func scalarsSerialiseCompactly(value: JSONValue, json: String) {
    #expect(value.serialized() == json)
}

@Test func nestedValuesSerialiseWithoutWhitespace() {
    let value = JSONValue.array([.object([JSONMember("a", .array([.int(1), .string("x")]))]), .null])
    #expect(value.serialized() == #"[{"a":[1,"x"]},null]"#)
}

@Test func recordJSONPutsIDFirstThenEveryFieldInSchemaOrder() {
    let exchange = partnershipTable("exchange")
    let record = Record(
        id: testID(100),
        values: [
            "notes": .text("Bring \"boots\""), "person": .text(testID(2)), "round": .text(testID(1)),
            "home": .text(testID(3)), "host": .text(testID(4)), "starts_on": .text("2026-05-04"),
            "ends_on": .text("2026-05-08"),
        ])
    let json = record.json(in: exchange)
    guard case let .object(members) = json else {
        Issue.record("not an object")
        return
    }
    #expect(members.map(\.key) == ["id"] + exchange.fieldNames)
    #expect(
        json.serialized()
            == #"{"id":"\#(testID(100))","round":"\#(testID(1))","person":"\#(testID(2))","home":"\#(testID(3))","#
            + #""host":"\#(testID(4))","starts_on":"2026-05-04","ends_on":"2026-05-08","status":null,"goals":null,"#
            + #""notes":"Bring \"boots\""}"#)
}

@Test func recordJSONWritesNumbersBooleansAndArrays() throws {
    let task = try clubSchema().table(named: "task")
    let record = Record(
        id: testID(7), values: ["points": .int(3), "done": .bool(true), "labels": .set(["a", "b"])])
    let json = record.json(in: task)
    #expect(json["points"] == .int(3))
    #expect(json["done"] == .bool(true))
    #expect(json["labels"] == .array([.string("a"), .string("b")]))
    #expect(json["title"] == .null)
    #expect(json.serialized().contains(#""points":3,"labels":["a","b"],"done":true,"#))
}

@Test func recordJSONAppendsExtraMembersLast() {
    let round = partnershipTable("round")
    let record = Record(id: testID(1), values: ["number": .int(5)])
    let json = record.json(in: round, extra: [JSONMember("_version", .int(3))])
    #expect(
        json.serialized()
            == #"{"id":"\#(testID(1))","number":5,"title":null,"opens_on":null,"closes_on":null,"status":null,"#
            + #""_version":3}"#)
}

@Test(arguments: [
    "", "{", "[1,]", #"{"a":}"#, "nul", "'x'", "{a:1}", #"{"a":1"#, "[1 2]", #""unterminated"#, #"{"a":1,}"#,
    "[1,,2]", "01", "NaN", "1.", ".5", "+1", #""\x""#, #"{"a":1}{"b":2}"#, "[1] x", "// c\n1", "0x10",
    #"{"a":1,"a":2}"#, #""\ud800""#, "1e400", "\"tab\there\"",
    String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
])
func invalidJSONIsRefused(text: String) {
    let error = #expect(throws: ProtocolError.self) { try JSONValue.parse(text) }
    #expect(error?.code == .invalidJSON)
}

@Test func parsingReadsEveryKindOfValue() throws {
    let value = try JSONValue.parse(#"[1, -2, 2.5, true, false, null, "x\n\u00e9", [], {"b": 1, "a": [0]}]"#)
    #expect(
        value
            == .array([
                .int(1), .int(-2), .double(2.5), .bool(true), .bool(false), .null, .string("x\né"), .array([]),
                .object([JSONMember("b", .int(1)), JSONMember("a", .array([.int(0)]))]),
            ]))
}

@Test(arguments: ["0", "1"])
func parsingKeepsZeroAndOneAsNumbers(text: String) throws {
    #expect(try JSONValue.parse(text) == .int(Int64(text)!))
}

@Test func serialisedValuesParseBack() throws {
    let value = JSONValue.array([
        .string("quote \" backslash \\ control \u{01} é"), .int(-7), .double(0.5), .bool(false), .null,
        .object([JSONMember("k", .string("v"))]),
    ])
    #expect(try JSONValue.parse(value.serialized()) == value)
}

@Test func invalidUTF8BytesAreRefusedAndDeepButAllowedNestingIsRead() throws {
    let error = #expect(throws: ProtocolError.self) { try JSONValue.parse(bytes: [0x22, 0xC3, 0x28, 0x22]) }
    #expect(error?.code == .invalidJSON)
    let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
    #expect(throws: Never.self) { try JSONValue.parse(deep) }
    #expect(try JSONValue.parse(#""\ud83d\ude00 \u00e9""#) == .string("😀 é"))
}
