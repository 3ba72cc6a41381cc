import TandemProtocol
import Testing

// `PullResponse(bytes:)` reads a pull page straight from its bytes: for every text it must give
// what `PullResponse(json: JSONValue.parse(bytes:))` gives — the same page, or the same error.

/// Both readers' answers for `bytes`: the page, or the error.
private func bothReadings(_ bytes: [UInt8]) -> (
    fast: Result<PullResponse, ProtocolError>, tree: Result<PullResponse, ProtocolError>
) {
    let fast = Result { () throws(ProtocolError) in try PullResponse(bytes: bytes) }
    let tree = Result { () throws(ProtocolError) in try PullResponse(json: JSONValue.parse(bytes: bytes)) }
    return (fast, tree)
}

private func expectSameReading(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectSameReading(Array(text.utf8), sourceLocation: sourceLocation)
}

private func expectSameReading(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    let (fast, tree) = bothReadings(bytes)
    #expect(fast == tree, "\(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
}

private let id = "0193a1b2-c3d4-7e5f-8a6b-0000000000c1"

/// A page with something of everything a page may hold.
private let variedPage = PullResponse(
    items: [
        PullItem(
            seq: 1, table: "exchange", recordID: id, version: 3, isDeleted: false,
            record: [
                "notes": .string("quote \" backslash \\ slash / newline \n tab \t bell \u{07} nul \u{00}"),
                "goals": .string("é ü ß — 日本 😀 \u{2028}"), "count": .int(-42), "max": .int(9_007_199_254_740_991),
                "beyond": .double(9_007_199_254_740_992), "ratio": .double(0.125), "small": .double(-1.5e-7),
                "zero": .int(0), "flag": .bool(true), "off": .bool(false), "none": .null,
                "tags": .array([.string("a"), .string("b"), .array([]), .object([])]),
                "nested": .object([JSONMember("z", .int(1)), JSONMember("a", .array([.null, .bool(false)]))]),
            ],
            entry: PullItem.Entry(
                changeID: "0193a1b2-c3d4-7e5f-8a6b-0000000000c2", time: "2026-05-09T10:00:00.123Z",
                author: Author(organisation: "0193a1b2-c3d4-7e5f-8a6b-0000000000c3", role: .member, device: "d\"ev"),
                op: .update, fields: ["notes": .string("x\u{1F}y"), "goals": .null],
                outcome: Outcome(
                    status: .conflict, version: 3, applied: ["notes"],
                    conflicts: [FieldConflict(field: "goals", rule: .lww, kept: .string("k"), lost: .double(2.5))]),
                hlc: "001763812345678.00003.dev-a", baseVersion: 2, device: "dev-a", signature: "c2ln+/==")),
        PullItem(
            seq: 2, table: "practice", recordID: id, version: 4, isDeleted: true, record: nil,
            entry: PullItem.Entry(
                changeID: "c", time: "t", author: Author(organisation: nil, role: .coordinator, device: nil),
                op: .delete, fields: [:], outcome: Outcome(status: .applied, version: 4))),
        PullItem(
            seq: 3, table: "person", recordID: id, version: 1, isDeleted: false, record: ["full_name": .string("A")],
            entry: nil),
        PullItem(
            seq: 4, table: "person", recordID: id, version: 1, isDeleted: false, record: nil, entry: nil,
            isVisible: false),
        PullItem(
            seq: 5, table: "exchange", recordID: id, version: 0, isDeleted: false, record: nil,
            entry: PullItem.Entry(
                changeID: "r", time: "t", author: Author(organisation: "o", role: .member, device: "d"), op: .insert,
                fields: ["notes": .string("n")],
                outcome: Outcome(status: .rejected, version: nil, reason: "unique:registration_id"))),
    ],
    next: 5, more: true,
    checkpoint: Checkpoint(seq: 5, hash: String(repeating: "ab", count: 32), time: "t", publicKey: "k", signature: "s"),
    schemaVersion: 2)

@Test func aPullPageReadFromItsBytesIsThePageItsJSONGives() throws {
    for page in [variedPage, PullResponse(items: [], next: 0, more: false)] {
        let text = page.json.serialized()
        #expect(try PullResponse(bytes: Array(text.utf8)) == page)
        #expect(try PullResponse(bytes: Array(text.utf8)) == PullResponse(json: JSONValue.parse(text)))
    }
}

@Test func aPullPageWrittenByHandIsReadAsItsJSONIs() {
    let item = #"{"seq": 7, "table": "round", "record_id": "r", "version": 1, "record": {"number": 1}}"#
    for text in [
        // Whitespace everywhere, members in another order, absent and null optional members.
        " \n\t{ \"more\" : false , \"next\" : 7 , \"items\" : [ \(item) ] } \r\n",
        #"{"items": [\#(item)], "next": 7}"#,
        #"{"items": [], "next": 7, "more": null, "checkpoint": null, "schema_version": null}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "deleted": null, "visible": null, "record": null, "entry": null}], "next": 7}"#,
        // Members this reader does not know, of every kind, at every level.
        #"{"future": {"a": [1, 2.5, "x", null, true, {"b": {}}]}, "items": [{"seq": 7, "extra": [], "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server", "new": 1}, "op": "insert", "outcome": {"status": "applied"}, "later": null}}], "next": 7, "more": true}"#,
        // Escaped member names and values.
        #"{"\u0069tems": [{"se\u0071": 7, "table": "r\u00f6und", "record_id": "\ud83d\ude00", "version": 1}], "next": 7}"#,
        // An entry with every optional member null, and numbers of every form.
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "record": {"a": -0, "b": 1e3, "c": 1.5E-2, "d": -9007199254740991, "e": 9007199254740993, "f": 123456789012345, "g": 1234567890123456}, "entry": {"change_id": "c", "time": "t", "author": {"organisation": null, "role": "server", "device": null}, "op": "insert", "fields": null, "outcome": {"status": "applied", "version": null}, "hlc": null, "base_version": null, "device": null, "signature": null}}], "next": 7}"#,
    ] {
        let (fast, tree) = bothReadings(Array(text.utf8))
        #expect(fast == tree, "\(text)")
        #expect((try? tree.get()) != nil, "\(text)")
    }
}

@Test func aMalformedPullPageIsRefusedAsTheJSONReaderRefusesIt() {
    let item = #"{"seq": 7, "table": "round", "record_id": "r", "version": 1}"#
    for text in [
        "", " ", "[]", "null", #"{"items": []}"#, #"{"next": 1}"#, #"{"items": {}, "next": 1}"#,
        #"{"items": [], "next": "1"}"#, #"{"items": [], "next": 1.5}"#, #"{"items": [], "next": 9007199254740992}"#,
        #"{"items": [], "next": 1, "more": "no"}"#, #"{"items": [], "next": 1, "schema_version": "2"}"#,
        #"{"items": [], "next": 1, "checkpoint": {}}"#, #"{"items": [], "next": 1, "checkpoint": 3}"#,
        #"{"items": [], "next": 1, "items": []}"#, #"{"items": [], "next": 1} x"#, #"{"items": [], "next": 1,}"#,
        #"{"items": [7], "next": 1}"#, #"{"items": [\#(item),], "next": 1}"#, #"{"items": [{"seq": 1}], "next": 3}"#,
        #"{"items": [{"seq": 7, "seq": 7, "table": "round", "record_id": "r", "version": 1}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "x": 1, "x": 2}], "next": 7}"#,
        #"{"items": [{"seq": "7", "table": "round", "record_id": "r", "version": 1}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": 1, "record_id": "r", "version": 1}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "deleted": 0}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "visible": "no"}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "record": []}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "record": {"a": 1, "a": 2}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": 1}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": null, "op": "insert", "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "upsert", "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "outcome": {"status": "applied"}, "hlc": 1}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "outcome": {"status": "applied"}, "base_version": "1"}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "fields": [], "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "fields": {"a": 1, "a": 2}, "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "fields": {"a": 1, "\u0061": 2}, "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "fields": {"a": "\ud83d"}, "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "fields": {"a": 1,}, "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server", "device": 1}, "op": "insert", "outcome": {"status": "applied"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "outcome": {"status": "applied", "applied": [1]}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "outcome": {"status": "applied", "version": 1.5}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": {"role": "server"}, "op": "insert", "outcome": {"status": "won"}}}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "\ud83d", "version": 1}], "next": 7}"#,
        #"{"items": [{"seq": 7, "table": "round", "record_id": "a\u0001b\#u{01}", "version": 1}], "next": 7}"#,
        #"{"items": [], "next": 01}"#, #"{"items": [], "next": -}"#, #"{"items": [], "next": 1e}"#,
        "{\"items\": [], \"next\": 1, \"deep\": " + String(repeating: "[", count: 70)
            + String(repeating: "]", count: 70)
            + "}",
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "record": {"a": "#
            + String(repeating: "[", count: 61) + String(repeating: "]", count: 61) + "}}], \"next\": 7}",
    ] {
        let (fast, tree) = bothReadings(Array(text.utf8))
        #expect(fast == tree, "\(text)")
        #expect((try? tree.get()) == nil, "\(text)")
    }
    // Bytes that are not UTF-8, inside a string and outside.
    let valid = Array(#"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1}], "next": 7}"#.utf8)
    for (offset, byte) in [(48, UInt8(0xFF)), (49, 0xC3), (1, 0x80)] {
        var bytes = valid
        bytes[offset] = byte
        expectSameReading(bytes)
    }
}

@Test func everyCutAndEveryAlteredByteOfAPageIsReadAsItsJSONIs() {
    let bytes = Array(variedPage.json.serialized().utf8)
    for end in 0..<bytes.count { expectSameReading(Array(bytes[..<end])) }
    // Each byte in turn replaced by characters that matter to JSON (a seeded choice, so that a
    // failure repeats).
    let replacements = Array("\"\\{}[],: 0-.en\u{01}x".utf8) + [0xC3, 0xFF]
    var state: UInt64 = 0x7A_4E_D0_11
    for offset in 0..<bytes.count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var altered = bytes
        altered[offset] = replacements[Int(state >> 33) % replacements.count]
        expectSameReading(altered)
    }
}

// A replica stores an entry's author, fields and outcome as the text the server sent
// (`PulledPage`): for a server that renders as `json.serialized()` does, exactly that text.
@Test func aPulledPageKeepsTheEntryTextsTheServerRendered() throws {
    let pulled = try PulledPage(bytes: Array(variedPage.json.serialized().utf8))
    #expect(pulled.items.count == variedPage.items.count)
    for (kept, item) in zip(pulled.items, variedPage.items) {
        #expect(kept.entry?.author == item.entry?.author.json.serialized())
        #expect(kept.entry?.fields == item.entry.map { PullItem.object($0.fields).serialized() })
        #expect(kept.entry?.outcome == item.entry?.outcome.json.serialized())
        #expect(kept.entry?.status == item.entry?.outcome.status)
        #expect(kept.entry?.version == item.entry?.outcome.version)
    }
    #expect(try pulled.response() == variedPage)
}

@Test func aPulledPageWrittenByHandKeepsItsTextsAndReadsAsItsJSON() throws {
    let text =
        #"{"items": [{"seq": 7, "table": "round", "record_id": "r", "version": 1, "entry": {"change_id": "c", "time": "t", "author": { "role" : "member", "organisation": "o" }, "op": "update", "fields": { "b" : [1, {"x": null}], "a": "é\n" }, "outcome": {"status": "merged", "version": 2, "applied": ["a"]}}}], "next": 7}"#
    let pulled = try PulledPage(bytes: Array(text.utf8))
    let entry = try #require(pulled.items.first?.entry)
    #expect(entry.author == #"{ "role" : "member", "organisation": "o" }"#)
    #expect(entry.fields == #"{ "b" : [1, {"x": null}], "a": "é\n" }"#)
    #expect(entry.outcome == #"{"status": "merged", "version": 2, "applied": ["a"]}"#)
    #expect(entry.status == .merged && entry.version == 2)
    #expect(try pulled.response() == PullResponse(json: JSONValue.parse(text)))
}
