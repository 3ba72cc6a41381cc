import TandemProtocol
import Testing

// `tandem check` and `GET /v1/digest` (docs/sync.md, "Am I in sync?"): a table's digest is the
// XOR of its records' SHA-256 over the RFC 8785 bytes of [id, version, {set fields}].

private let first = "0193a000-0000-7000-8000-000000000001"
private let second = "0193a000-0000-7000-8000-000000000002"
private let values: [String: FieldValue] = [
    "title": .text("Ré \"1\""), "number": .int(1), "status": .text("open"), "tags": .set(["a", "b"]),
    "score": .real(2.5), "opens_on": .null,
]

@Test func aRecordIsHashedOverTheCanonicalBytesOfIdVersionAndItsSetFields() {
    let bytes = TableDigest.canonicalBytes(id: first, version: 2, values: values)
    #expect(
        String(decoding: bytes, as: UTF8.self)
            == #"["0193a000-0000-7000-8000-000000000001",2,{"number":1,"score":2.5,"status":"open","tags":["a","b"],"title":"Ré \"1\""}]"#
    )
    var digest = TableDigest(table: "round")
    digest.add(id: first, version: 2, values: values)
    // Python: hashlib.sha256(bytes).hexdigest()
    #expect(digest.hex == "75a4ce3e3ced824f0b6d1ae117d29c35787290a12a602ac95d9b852395da206f")
    #expect(digest.records == 1)
}

@Test func aTableDigestIsTheXorOfItsRecordsInAnyOrder() {
    var forwards = TableDigest(table: "round")
    forwards.add(id: first, version: 2, values: values)
    forwards.add(id: second, version: 1, values: [:])
    var backwards = TableDigest(table: "round")
    backwards.add(id: second, version: 1, values: ["title": .null])
    backwards.add(id: first, version: 2, values: values)
    #expect(forwards == backwards)
    #expect(forwards.hex == "457f0f0211750c5484c445b53d93ec70ffcfe4887a300784b0b54ea62422d1cb")
    #expect(forwards.records == 2)
    #expect(TableDigest(table: "round").hex == String(repeating: "0", count: 64))
}

@Test func anyVersionOrValueChangesTheDigest() {
    var original = TableDigest(table: "round")
    original.add(id: first, version: 2, values: values)
    var changes: [TableDigest] = []
    for (version, changed) in [
        (3, values), (2, values.merging(["number": .int(2)]) { $1 }),
        (2, values.merging(["opens_on": .text("2026-04-01")]) { $1 }), (2, values.merging(["tags": .null]) { $1 }),
    ] {
        var digest = TableDigest(table: "round")
        digest.add(id: first, version: Int64(version), values: changed)
        changes.append(digest)
    }
    #expect(changes.allSatisfy { $0 != original })
    #expect(Set(changes.map(\.hex)).count == changes.count)
}

@Test func aDigestAnswerReadsBackAndRefusesABadDigest() throws {
    var digest = TableDigest(table: "round")
    digest.add(id: first, version: 2, values: values)
    let answer = DigestResponse(tables: [digest, TableDigest(table: "person")])
    #expect(try DigestResponse(json: JSONValue.parse(answer.json.serialized())) == answer)
    #expect(
        answer.json.serialized().hasPrefix(#"{"tables":[{"table":"round","records":1,"digest":"75a4ce3e"#))
    for bad in [
        #"{"tables":[{"table":"round","records":1,"digest":"75A4"}]}"#,
        #"{"tables":[{"table":"round","records":-1,"digest":"\#(digest.hex)"}]}"#,
        #"{"tables":[{"table":"round","records":1,"digest":"\#(String(repeating: "g", count: 64))"}]}"#,
        #"{"tables":{}}"#,
    ] {
        #expect(throws: ProtocolError.self, "\(bad)") { try DigestResponse(json: JSONValue.parse(bad)) }
    }
}

@Test func storedValuesAlreadyCanonicalAreHashedAsTheyAreAndOthersAreLeftToTheParser() {
    let stored = #"{"number":1,"opens_on":"2026-04-01","status":"open","tags_count":-12,"title":"Ré \"1\"\n","x":true}"#
    var raw = TableDigest(table: "round")
    let isRaw = raw.add(id: first, version: 2, storedValues: stored)
    #expect(isRaw)
    var parsed = TableDigest(table: "round")
    parsed.add(
        id: first, version: 2,
        values: [
            "number": .int(1), "opens_on": .text("2026-04-01"), "status": .text("open"), "tags_count": .int(-12),
            "title": .text("Ré \"1\"\n"), "x": .bool(true),
        ])
    #expect(raw == parsed)
    var empty = TableDigest(table: "round")
    let isEmptyRaw = empty.add(id: second, version: 1, storedValues: "{}")
    #expect(isEmptyRaw)
    var none = TableDigest(table: "round")
    none.add(id: second, version: 1, values: [:])
    #expect(empty == none)

    for text in [
        #"{"b":1,"a":2}"#, #"{"a":1,"a":2}"#, #"{"a": 1}"#, #"{"a":2.5}"#, #"{"a":1e5}"#, #"{"a":null}"#,
        #"{"a":["x"]}"#, #"{"a":{}}"#, #"{"a":"\u0041"}"#, #"{"a":"\/"}"#, #"{"a":""}"#, #"{"a":01}"#, #"{"a":-0}"#,
        #"{"a":1234567890123456}"#, #"{"a":1,}"#, #"{"a":tru}"#, #"{"é":1}"#, "[]", "{", #"{"a":1"#, "",
    ] {
        var digest = TableDigest(table: "round")
        let taken = digest.add(id: first, version: 2, storedValues: text)
        #expect(!taken, "\(text)")
        #expect(digest == TableDigest(table: "round"), "\(text) took nothing in")
    }
}
