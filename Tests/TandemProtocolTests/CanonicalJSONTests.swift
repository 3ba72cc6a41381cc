import Foundation
import TandemProtocol
import Testing

// RFC 8785 (JSON Canonicalization Scheme) conformance: the bytes Tandem signs and hashes.

/// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
@Test(
    arguments: [
        (0x0000_0000_0000_0000, "0"), (0x8000_0000_0000_0000, "0"), (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"), (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"), (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"), (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"), (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"), (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
        (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"), (0x444B_1AE4_D6E2_EF50, "1e+21"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"), (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x41B3_DE43_5555_5553, "333333333.3333332"), (0x41B3_DE43_5555_5554, "333333333.33333325"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"), (0x41B3_DE43_5555_5556, "333333333.3333334"),
        (0x41B3_DE43_5555_5557, "333333333.33333343"), (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
        (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
    ] as [(UInt64, String)])
func numbersMatchRFC8785AppendixB(bits: UInt64, text: String) {
    let value = Double(bitPattern: bits)
    #expect(value.ecmaScriptDescription == text)
    #expect(JSONValue.double(value).canonicalText() == text)
}

@Test(
    arguments: [
        (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-7, "1e-7"), (0.000001, "0.000001"), (-1.5, "-1.5"),
        (0.1, "0.1"), (100, "100"), (1e16, "10000000000000000"), (123.456, "123.456"), (1.5e-7, "1.5e-7"),
        (-0.0, "0"), (2.5e300, "2.5e+300"), (0.3 - 0.1, "0.19999999999999998"), (4.5, "4.5"), (1e30, "1e+30"),
        (0.002, "0.002"), (1e-27, "1e-27"),
    ] as [(Double, String)])
func doublesAreWrittenAsECMAScriptDoes(value: Double, text: String) {
    #expect(value.ecmaScriptDescription == text)
}

/// Integers are numbers too: beyond ±2^53 they are printed as the double they round to.
@Test(
    arguments: [
        (0, "0"), (-7, "-7"), (9_007_199_254_740_992, "9007199254740992"), (9_007_199_254_740_993, "9007199254740992"),
        (-9_007_199_254_740_993, "-9007199254740992"), (9_007_199_254_740_995, "9007199254740996"),
        (.max, "9223372036854776000"), (.min, "-9223372036854776000"),
    ] as [(Int64, String)])
func integersBeyondTwoToThe53AreRoundedAsDoubles(value: Int64, text: String) {
    #expect(JSONValue.int(value).canonicalText() == text)
}

@Test func nonFiniteDoublesAreNull() {
    #expect(JSONValue.double(.nan).canonicalText() == "null")
    #expect(JSONValue.double(.infinity).canonicalText() == "null")
    #expect(JSONValue.double(-.infinity).canonicalText() == "null")
}

/// RFC 8785 §3.2.2's example: numbers, an escaped string and literals.
@Test func theRFCExampleCanonicalises() throws {
    let input = #"""
        {
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }
        """#
    let expected =
        #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    #expect(try JSONValue.parse(input).canonicalText() == expected)
}

/// RFC 8785 §3.2.3: members sorted by UTF-16 code units, so U+1F600 (D83D DE00) before U+FB33.
@Test func membersAreSortedByUTF16CodeUnits() throws {
    let input = #"""
        {
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }
        """#
    let value = try JSONValue.parse(input)
    let expected =
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\","
        + "\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    #expect(value.canonicalText() == expected)
    guard case let .object(members) = try JSONValue.parse(value.canonicalText()) else {
        Issue.record("not an object")
        return
    }
    #expect(members.map(\.key) == ["\r", "1", "\u{80}", "\u{F6}", "\u{20AC}", "\u{1F600}", "\u{FB33}"])
    // Code points (or UTF-8) would put U+FB33 first: the order is not Swift's.
    #expect(["\u{1F600}", "\u{FB33}"].sorted() == ["\u{FB33}", "\u{1F600}"])
}

@Test(arguments: [
    ("\u{08}", #""\b""#), ("\u{09}", #""\t""#), ("\u{0A}", #""\n""#), ("\u{0C}", #""\f""#), ("\u{0D}", #""\r""#),
    ("\u{00}", #""\u0000""#), ("\u{01}", #""\u0001""#), ("\u{0B}", #""\u000b""#), ("\u{0E}", #""\u000e""#),
    ("\u{1F}", #""\u001f""#), ("\u{1B}", #""\u001b""#), ("\"", #""\"""#), ("\\", #""\\""#), ("/", #""/""#),
    ("\u{7F}", "\"\u{7F}\""), ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""), ("é€😀", "\"é€😀\""),
    ("a\"b\\c\nd", #""a\"b\\c\nd""#), ("", #""""#),
])
func stringsAreEscapedAsJSONStringifyDoes(text: String, json: String) {
    #expect(JSONValue.string(text).canonicalText() == json)
}

@Test func everyControlCharacterIsEscapedWithLowercaseHex() {
    let short: [UInt32: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
    for code in UInt32(0)..<0x20 {
        let text = String(Character(Unicode.Scalar(code)!))
        let hex = String(code, radix: 16)
        let escape = short[code] ?? "\\u00" + (hex.count == 1 ? "0" + hex : hex)
        #expect(JSONValue.string(text).canonicalText() == "\"" + escape + "\"")
    }
}

@Test func nonASCIIIsRawUTF8() {
    #expect(JSONValue.string("é\u{2028}").canonicalBytes() == [0x22, 0xC3, 0xA9, 0xE2, 0x80, 0xA8, 0x22])
    #expect(JSONValue.string("😀").canonicalBytes() == [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22])
}

@Test func nestedValuesHaveNoWhitespaceAndSortedMembersAtEveryDepth() throws {
    let value = JSONValue.object([
        JSONMember("b", .array([.int(1), .object([JSONMember("d", .int(1)), JSONMember("c", .double(2))])])),
        JSONMember("a", .object([])), JSONMember("c", .array([])),
        JSONMember(
            "aa", .object([JSONMember("z", .null), JSONMember("y", .bool(false)), JSONMember("x", .bool(true))])),
    ])
    #expect(value.canonicalText() == #"{"a":{},"aa":{"x":true,"y":false,"z":null},"b":[1,{"c":2,"d":1}],"c":[]}"#)
    let parsed = try JSONValue.parse(" { \"b\" : [ 1 , { \"d\":1, \"c\":2 } ], \"a\" : {} } ")
    #expect(parsed.canonicalText() == #"{"a":{},"b":[1,{"c":2,"d":1}]}"#)
    // Arrays keep their order.
    #expect(JSONValue.array([.int(3), .int(1), .int(2)]).canonicalText() == "[3,1,2]")
    #expect(value.canonicalBytes() == Array(value.canonicalText().utf8))
}

// MARK: - Property: canonical text is a fixed point; numbers read back exactly

private func randomDouble(_ random: inout SplitMix64) -> Double {
    switch random.next() % 4 {
    case 0:
        while true {
            let value = Double(bitPattern: random.next())
            if value.isFinite { return value }
        }
    case 1: return Double(Int64.random(in: -1_000_000...1_000_000, using: &random)) / 1000
    case 2:
        let exponent = Int.random(in: -12...25, using: &random)
        return Double(Int.random(in: 1...999, using: &random)) * pow(10, Double(exponent))
    default: return Double.random(in: -1e6...1e6, using: &random)
    }
}

private func randomString(_ random: inout SplitMix64) -> String {
    let pool: [Unicode.Scalar] = [
        "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{00}", "\u{08}", "\u{0C}", "\u{1F}", "\u{7F}",
        "\u{80}",
        "é", "ö", "€", "\u{2028}", "\u{FB33}", "\u{FFFF}", "😀", "\u{10FFFF}", "日",
    ]
    var text = String.UnicodeScalarView()
    for _ in 0..<Int.random(in: 0...8, using: &random) {
        text.append(pool[Int.random(in: 0..<pool.count, using: &random)])
    }
    return String(text)
}

private func randomJSON(depth: Int, _ random: inout SplitMix64) -> JSONValue {
    switch random.next() % (depth > 0 ? 9 : 6) {
    case 0: return .null
    case 1: return .bool(random.next() % 2 == 0)
    case 2: return .int(Int64(bitPattern: random.next()) >> Int64.random(in: 0...63, using: &random))
    case 3: return .double(randomDouble(&random))
    case 4, 5: return .string(randomString(&random))
    case 6:
        return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomJSON(depth: depth - 1, &random) })
    default:
        var members: [JSONMember] = []
        var keys = Set<[UInt16]>()
        for _ in 0..<Int.random(in: 0...5, using: &random) {
            let key = randomString(&random)
            // Strings that Swift calls equal (canonically equivalent) are one key to the parser.
            guard keys.insert(Array(key.utf16)).inserted, !members.contains(where: { $0.key == key }) else { continue }
            members.append(JSONMember(key, randomJSON(depth: depth - 1, &random)))
        }
        return .object(members)
    }
}

@Test func canonicalTextReadsBackToTheSameCanonicalText() throws {
    var random = SplitMix64.seeded()
    for round in 0..<2000 {
        let value = randomJSON(depth: 4, &random)
        let text = value.canonicalText()
        let parsed = try JSONValue.parse(text)
        #expect(parsed.canonicalText() == text, "round \(round): \(text)")
        #expect(!text.contains("\n") && !text.contains(": ") && !text.contains(", "), "round \(round)")
    }
}

@Test func doublesReadBackExactly() throws {
    var random = SplitMix64.seeded()
    for _ in 0..<20000 {
        let value = randomDouble(&random)
        let text = value.ecmaScriptDescription
        let back = try #require(Double(text), "\(text)")
        #expect(back == value, "\(value.bitPattern): \(text)")
        // Plain notation from 1e-6 up to 1e21, exponent notation outside.
        let magnitude = value.magnitude
        let isPlain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21)
        #expect(text.contains("e") != isPlain, "\(text)")
        #expect(!text.contains("e") || text.contains("e+") || text.contains("e-"), "\(text)")
        // The JSON parser reads it back to the same double, or to the same integer.
        switch try JSONValue.parse(text) {
        case let .double(parsed): #expect(parsed == value, "\(text)")
        case let .int(parsed): #expect(Double(parsed) == value, "\(text)")
        default: Issue.record("\(text) is not a number")
        }
    }
}

/// A server writes a change's bytes once (for its signature and its log line): made from the
/// signing bytes, they are the change's own RFC 8785 bytes, whatever the table or signature.
@Test(arguments: ["exchange", "t\"able", "é\u{1F600}", "z"])
func aChangesBytesFromItsSigningBytesAreItsCanonicalBytes(table: String) {
    let clock = HLC(milliseconds: 1_790_000_000_000, counter: 1, device: "d")
    let unsigned = Change(
        changeID: UUIDv7Generator.id(at: clock), table: table, recordID: UUIDv7Generator.id(at: clock), op: .update,
        fields: [
            "notes": .string("a\n\"b\""), "n": .int(-3), "x": .null, "tags": .array([.string("b"), .string("a")]),
        ],
        baseVersion: 2, hlc: clock.description, device: "d")
    let signed = unsigned.signed(with: SigningKey())
    for change in [unsigned, signed] {
        #expect(change.canonicalBytes(signingBytes: change.signingBytes) == change.json.canonicalBytes())
    }
}
