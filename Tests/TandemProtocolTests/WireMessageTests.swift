import TandemProtocol
import Testing

// SPEC §4, §5, §8: the HTTP bodies. Each one is written with `.json.serialized()` and read back
// with `JSONValue.parse` + `init(json:)`; member names are the SPEC's; readers ignore members
// they do not know and refuse a missing or mistyped one with `invalidJSON`.

/// The member names of a JSON object, in order.
private func memberNames(_ value: JSONValue) -> [String] {
    guard case let .object(members) = value else { return [] }
    return members.map(\.key)
}

/// Writes `value` as text and reads it back.
private func reread<T>(_ json: JSONValue, _ read: (JSONValue) throws(ProtocolError) -> T) throws -> T {
    try read(JSONValue.parse(json.serialized()))
}

private func expectInvalidJSON<T>(
    _ text: String, _ read: (JSONValue) throws(ProtocolError) -> T, sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = #expect(throws: ProtocolError.self, "\(text)", sourceLocation: sourceLocation) {
        _ = try read(JSONValue.parse(text))
    }
    #expect(error?.code == .invalidJSON, "\(text)", sourceLocation: sourceLocation)
}

private let sampleChange = Change(
    changeID: testID(0xC1), table: "exchange", recordID: MergeIDs.exchange, op: .update,
    fields: [
        "goals": .string("Learn \"open data\"\n"), "notes": .null, "status": .string("proposed"),
        "tags": .array([.string("a"), .string("b")]), "count": .int(3), "ratio": .double(2.5), "done": .bool(true),
    ],
    baseVersion: 4, hlc: "001763812345678.00003.dev-a", device: "dev-a", signature: "c2lnbmF0dXJl")

private let sampleOutcome = Outcome(
    status: .conflict, version: 5, applied: ["notes", "status"],
    conflicts: [
        FieldConflict(field: "goals", rule: .lww, kept: .string("theirs"), lost: .string("ours")),
        FieldConflict(field: "starts_on", rule: .manual, kept: .string("2026-05-04"), lost: .string("2026-05-05")),
        FieldConflict(field: "mentor", rule: .ownerWins, kept: .null, lost: .string(MergeIDs.personA)),
    ])

/// A change as JSON text with `members` replaced (a nil value removes the member).
private func changeText(_ members: [String: JSONValue?]) -> String {
    guard case var .object(list) = sampleChange.json else { return "" }
    for (key, value) in members.sorted(by: { $0.key < $1.key }) {
        list.removeAll { $0.key == key }
        if let value { list.append(JSONMember(key, value)) }
    }
    return JSONValue.object(list).serialized()
}

// MARK: - Change

@Test func aChangeHasTheSpecMembers() {
    #expect(
        memberNames(sampleChange.json) == [
            "change_id", "table", "record_id", "op", "fields", "base_version", "hlc", "device", "signature",
        ])
    var unsigned = sampleChange
    unsigned.signature = nil
    #expect(!memberNames(unsigned.json).contains("signature"))
    #expect(sampleChange.json["base_version"] == .int(4))
    #expect(sampleChange.json["op"] == .string("update"))
    #expect(sampleChange.json["record_id"] == .string(MergeIDs.exchange))
}

@Test func aChangeCarriesNoAuthor() {
    let names = memberNames(sampleChange.json)
    #expect(!names.contains("author") && !names.contains("organisation") && !names.contains("role"))
}

@Test func aChangeRoundTrips() throws {
    #expect(try reread(sampleChange.json) { json throws(ProtocolError) in try Change(json: json) } == sampleChange)
    for op in Operation.allCases {
        var change = sampleChange
        change.op = op
        change.fields = op == .delete ? [:] : change.fields
        change.baseVersion = op == .insert ? 0 : 7
        change.signature = nil
        #expect(try reread(change.json) { json throws(ProtocolError) in try Change(json: json) } == change)
    }
}

@Test func aChangesFieldsAreWrittenSortedByName() {
    #expect(
        memberNames(sampleChange.json["fields"] ?? .null) == [
            "count", "done", "goals", "notes", "ratio", "status", "tags",
        ])
}

@Test func aChangeReaderIgnoresAnAuthorInTheBody() throws {
    let text = changeText([
        "author": .object([
            JSONMember("organisation", .string(MergeIDs.orgB)), JSONMember("role", .string("coordinator")),
        ]),
        "organisation": .string(MergeIDs.orgB), "role": .string("coordinator"), "seq": .int(99), "x_future": .array([]),
    ])
    let change = try Change(json: JSONValue.parse(text))
    #expect(change == sampleChange)
    let names = memberNames(change.json)
    #expect(!names.contains("author") && !names.contains("organisation") && !names.contains("role"))
}

@Test(arguments: ["change_id", "table", "record_id", "op", "fields", "base_version", "hlc", "device"])
func aChangeWithoutARequiredMemberIsRefused(member: String) {
    expectInvalidJSON(changeText([member: nil])) { json throws(ProtocolError) in try Change(json: json) }
}

@Test(arguments: [
    ("change_id", JSONValue.int(1)), ("change_id", .null), ("table", .null), ("table", .array([])),
    ("record_id", .int(7)), ("op", .string("upsert")), ("op", .string("INSERT")), ("op", .null),
    ("fields", .null), ("fields", .array([])), ("fields", .string("goals=x")),
    ("base_version", .string("4")), ("base_version", .double(4.5)), ("base_version", .int(-1)), ("base_version", .null),
    ("hlc", .int(1_763_812_345_678)), ("hlc", .null), ("device", .bool(true)), ("signature", .int(5)),
])
func aChangeWithAMistypedMemberIsRefused(member: String, value: JSONValue) {
    expectInvalidJSON(changeText([member: value])) { json throws(ProtocolError) in try Change(json: json) }
}

@Test func aChangeThatIsNotAnObjectIsRefused() {
    for text in ["[]", "null", "\"change\"", "3"] {
        expectInvalidJSON(text) { json throws(ProtocolError) in try Change(json: json) }
    }
}

@Test func aChangeWithoutASignatureIsReadAsUnsigned() throws {
    let change = try Change(json: JSONValue.parse(changeText(["signature": nil])))
    #expect(change.signature == nil)
    let nullSigned = try Change(json: JSONValue.parse(changeText(["signature": .null])))
    #expect(nullSigned.signature == nil)
}

// MARK: - Push

@Test func aPushRequestRoundTrips() throws {
    var second = sampleChange
    second.changeID = testID(0xC2)
    second.op = .delete
    second.fields = [:]
    let request = PushRequest(changes: [sampleChange, second])
    #expect(memberNames(request.json) == ["changes"])
    #expect(try reread(request.json) { json throws(ProtocolError) in try PushRequest(json: json) } == request)
    let empty = PushRequest(changes: [])
    #expect(empty.json.serialized() == #"{"changes":[]}"#)
    #expect(try reread(empty.json) { json throws(ProtocolError) in try PushRequest(json: json) } == empty)
}

@Test func aPushRequestWithOneBadChangeIsRefusedNamingIt() {
    let text = #"{"changes": [\#(sampleChange.json.serialized()), {"change_id": "x"}]}"#
    let error = #expect(throws: ProtocolError.self) { try PushRequest(json: JSONValue.parse(text)) }
    #expect(error?.code == .invalidJSON)
    #expect(error?.message.contains("changes[1]") == true, "\(error?.message ?? "")")
}

@Test func aPushRequestWithoutChangesIsRefused() {
    for text in ["{}", #"{"changes": null}"#, #"{"changes": {}}"#, #"{"change": []}"#, "[]"] {
        expectInvalidJSON(text) { json throws(ProtocolError) in try PushRequest(json: json) }
    }
}

@Test func aPushResponseRoundTrips() throws {
    let response = PushResponse(results: [
        PushResult(changeID: testID(1), status: .applied, seq: 10, version: 1, reason: nil),
        PushResult(changeID: testID(2), status: .merged, seq: 11, version: 3, reason: nil),
        PushResult(changeID: testID(3), status: .conflict, seq: 12, version: 4, reason: nil),
        PushResult(changeID: testID(4), status: .rejected, seq: 13, version: nil, reason: "not_permitted"),
        PushResult(changeID: testID(5), status: .duplicate, seq: 10, version: 1, reason: nil),
    ])
    #expect(memberNames(response.json) == ["results"])
    #expect(try reread(response.json) { json throws(ProtocolError) in try PushResponse(json: json) } == response)
}

@Test func aPushResultHasTheSpecMembers() throws {
    let result = PushResult(changeID: testID(4), status: .rejected, seq: 13, version: nil, reason: "check:ends_on")
    #expect(Set(memberNames(result.json)) == ["change_id", "status", "seq", "version", "reason"])
    #expect(result.json["status"] == .string("rejected"))
    #expect(result.json["reason"] == .string("check:ends_on"))
    #expect(result.json["version"] == .null)
    #expect(try reread(result.json) { json throws(ProtocolError) in try PushResult(json: json) } == result)
}

@Test func everyOutcomeStatusIsWrittenAsTheSpecSpellsIt() {
    #expect(Outcome.Status.allCases.map(\.rawValue) == ["applied", "merged", "conflict", "rejected", "duplicate"])
}

@Test func aPushResultWithAnUnknownStatusIsRefused() {
    expectInvalidJSON(#"{"change_id": "x", "status": "ok"}"#) { json throws(ProtocolError) in try PushResult(json: json)
    }
    expectInvalidJSON(#"{"status": "applied"}"#) { json throws(ProtocolError) in try PushResult(json: json) }
    expectInvalidJSON(#"{"change_id": "x", "status": "applied", "seq": "1"}"#) { json throws(ProtocolError) in
        try PushResult(json: json)
    }
}

// MARK: - Outcome

@Test func anOutcomeHasTheHistoryMembers() {
    #expect(memberNames(sampleOutcome.json) == ["status", "version", "applied", "conflicts", "reason"])
    #expect(memberNames(sampleOutcome.json["conflicts"]?.firstItem ?? .null) == ["field", "rule", "kept", "lost"])
    #expect(sampleOutcome.json["conflicts"]?.firstItem?["rule"] == .string("lww"))
}

@Test func anOutcomeRoundTrips() throws {
    #expect(try reread(sampleOutcome.json) { json throws(ProtocolError) in try Outcome(json: json) } == sampleOutcome)
    let rejected = Outcome.rejected("reference:person", version: 2)
    #expect(rejected.json["reason"] == .string("reference:person"))
    #expect(try reread(rejected.json) { json throws(ProtocolError) in try Outcome(json: json) } == rejected)
    let fresh = Outcome(status: .applied, version: 1, applied: ["name", "sector"])
    #expect(try reread(fresh.json) { json throws(ProtocolError) in try Outcome(json: json) } == fresh)
}

@Test func everyConflictRuleIsWrittenAsTheSpecSpellsIt() throws {
    #expect(
        ConflictRule.allCases.map(\.rawValue) == [
            "lww", "first-wins", "owner-wins", "coordinator-wins", "max", "min", "union", "manual",
        ])
    for rule in ConflictRule.allCases {
        let conflict = FieldConflict(field: "f", rule: rule, kept: .int(1), lost: .array([.string("x")]))
        #expect(try reread(conflict.json) { json throws(ProtocolError) in try FieldConflict(json: json) } == conflict)
    }
}

@Test func aMergeOutcomeRoundTripsThroughItsJSON() throws {
    var store = partnershipStore()
    store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-05")], base: 1, at: 10, by: .memberB),
        by: .memberB)
    let result = store.apply(
        updateChange(
            "exchange", MergeIDs.exchange, ["starts_on": .string("2026-05-06"), "goals": .string("g")], base: 1, at: 20,
            by: .memberA),
        by: .memberA)
    #expect(try reread(result.outcome.json) { json throws(ProtocolError) in try Outcome(json: json) } == result.outcome)
}

@Test func anOutcomeWithAMistypedMemberIsRefused() {
    for text in [
        #"{"status": "done"}"#, #"{"version": 1}"#, #"{"status": "applied", "version": "1"}"#,
        #"{"status": "applied", "applied": "name"}"#, #"{"status": "applied", "conflicts": {}}"#,
        #"{"status": "conflict", "conflicts": [{"field": "f", "rule": "newest"}]}"#,
        #"{"status": "rejected", "reason": 3}"#,
    ] {
        expectInvalidJSON(text) { json throws(ProtocolError) in try Outcome(json: json) }
    }
}

// MARK: - Pull

private let pullEntry = PullItem.Entry(
    changeID: testID(0xC1), time: "2026-05-09T10:00:00Z",
    author: Author(organisation: MergeIDs.orgA, role: .member, device: "dev-a"), op: .update,
    fields: ["goals": .string("g"), "notes": .null], outcome: sampleOutcome, hlc: "001763812345678.00003.dev-a")

@Test func aPullResponseRoundTrips() throws {
    let response = PullResponse(
        items: [
            PullItem(
                seq: 41, table: "exchange", recordID: MergeIDs.exchange, version: 5, isDeleted: false,
                record: exchangeFields(["goals": .string("g"), "tags": .array([.string("x")])]), entry: pullEntry),
            PullItem(
                seq: 42, table: "practice", recordID: MergeIDs.practice, version: 2, isDeleted: true, record: nil,
                entry: PullItem.Entry(
                    changeID: testID(0xC2), time: "2026-05-09T10:00:01Z",
                    author: Author(organisation: nil, role: .coordinator, device: nil), op: .delete, fields: [:],
                    outcome: Outcome(status: .applied, version: 2))),
            PullItem(
                seq: 42, table: "person", recordID: MergeIDs.personB, version: 1, isDeleted: false,
                record: ["full_name": .string("Bor Kos")], entry: nil),
        ], next: 42, more: true,
        checkpoint: Checkpoint(
            seq: 42, hash: String(repeating: "ab", count: 32), time: "t", publicKey: "k", signature: "s"))
    #expect(memberNames(response.json) == ["items", "next", "more", "checkpoint"])
    #expect(try reread(response.json) { json throws(ProtocolError) in try PullResponse(json: json) } == response)
    let last = PullResponse(items: [], next: 0, more: false)
    #expect(last.json.serialized() == #"{"items":[],"next":0,"more":false,"checkpoint":null}"#)
    #expect(try reread(last.json) { json throws(ProtocolError) in try PullResponse(json: json) } == last)
    // A server from before checkpoints were sent with pages.
    let older = try PullResponse(json: JSONValue.parse(#"{"items":[],"next":3,"more":false}"#))
    #expect(older.checkpoint == nil && older.next == 3)
}

@Test func aCheckpointQueryReadsWhatItWrites() throws {
    let presented = Checkpoint(
        seq: 9, hash: String(repeating: "0f", count: 32), time: "2026-05-04T10:00:00.000Z", publicKey: "",
        signature: "c2ln+/==")
    let query = CheckpointQuery(presenting: presented)
    let parameters = Dictionary(uniqueKeysWithValues: query.parameters.map { ($0.name, $0.value) })
    #expect(Array(parameters.keys).sorted() == ["hash", "seq", "signature", "time"])
    #expect(try CheckpointQuery { parameters[$0] } == query)
    #expect(try CheckpointQuery { _ in nil } == CheckpointQuery())
    #expect(try CheckpointQuery { $0 == "seq" ? "4" : nil } == CheckpointQuery(seq: 4))
    for bad: [String: String] in [
        ["seq": "0"], ["seq": "x"], ["hash": presented.hash], ["seq": "9", "hash": presented.hash],
        ["seq": "9", "hash": "ABC", "time": "t", "signature": "s"],
    ] {
        #expect(throws: ProtocolError.self, "\(bad)") { try CheckpointQuery { bad[$0] } }
    }
}

@Test func aPullItemHasItsMembers() throws {
    let item = PullItem(
        seq: 41, table: "exchange", recordID: MergeIDs.exchange, version: 5, isDeleted: false,
        record: ["goals": .string("g")],
        entry: pullEntry)
    #expect(Set(memberNames(item.json)) == ["seq", "table", "record_id", "version", "deleted", "record", "entry"])
    #expect(
        Set(memberNames(item.json["entry"] ?? .null)) == [
            "change_id", "time", "author", "op", "fields", "outcome", "hlc", "base_version", "device", "signature",
        ])
    #expect(item.json["entry"]?["hlc"] == .string("001763812345678.00003.dev-a"))
    var withBase = item
    withBase.entry?.baseVersion = 4
    #expect(withBase.json["entry"]?["base_version"] == .int(4))
    #expect(try PullItem(json: withBase.json).entry?.baseVersion == 4)
    // With its device and signature, the entry is the change as it was pushed.
    var signed = withBase
    signed.entry?.device = "dev-a"
    signed.entry?.signature = "c2lnbmF0dXJl"
    #expect(try PullItem(json: signed.json) == signed)
    let change = try #require(signed.entry?.change(table: signed.table, recordID: signed.recordID))
    #expect(change.device == "dev-a" && change.signature == "c2lnbmF0dXJl" && change.baseVersion == 4)
    #expect(change.fields == signed.entry?.fields && change.hlc == signed.entry?.hlc)
    #expect(withBase.entry?.change(table: "exchange", recordID: MergeIDs.exchange) == nil, "no signature: no change")
    #expect(Set(memberNames(item.json["entry"]?["author"] ?? .null)) == ["organisation", "role", "device"])
}

@Test func aPullEntryWithoutAnHLCIsRead() throws {
    let text = """
        {"seq": 3, "table": "round", "record_id": "\(MergeIDs.round)", "version": 1, "deleted": false,
         "record": {"number": 1}, "entry": {"change_id": "\(testID(3))", "time": "2026-05-09T10:00:00Z",
         "author": {"organisation": null, "role": "server", "device": null}, "op": "insert",
         "fields": {"number": 1}, "outcome": {"status": "applied", "version": 1, "applied": ["number"],
         "conflicts": [], "reason": null}}}
        """
    let item = try PullItem(json: JSONValue.parse(text))
    #expect(item.entry?.hlc == nil)
    #expect(item.entry?.author == Author(organisation: nil, role: .server, device: nil))
    #expect(item.record == ["number": .int(1)])
}

@Test func aPullResponseWithoutNextOrItemsIsRefused() {
    for text in [
        #"{"items": [], "more": false}"#, #"{"next": 3, "more": false}"#, #"{"items": [], "next": "3", "more": false}"#,
        #"{"items": [], "next": 3, "more": "no"}"#, #"{"items": [{"seq": 1}], "next": 3, "more": false}"#,
    ] {
        expectInvalidJSON(text) { json throws(ProtocolError) in try PullResponse(json: json) }
    }
}

// MARK: - Conflicts

@Test func aConflictInfoRoundTripsWithTheSpecMembers() throws {
    let info = ConflictInfo(
        id: testID(0xCF), table: "exchange", recordID: MergeIDs.exchange, field: "starts_on",
        current: .string("2026-05-04"), incoming: .string("2026-05-05"), status: .open)
    #expect(memberNames(info.json) == ["id", "table", "record_id", "field", "current", "incoming", "status"])
    #expect(try reread(info.json) { json throws(ProtocolError) in try ConflictInfo(json: json) } == info)
    var resolved = info
    resolved.status = .resolved
    resolved.incoming = .null
    #expect(resolved.json["status"] == .string("resolved"))
    #expect(try reread(resolved.json) { json throws(ProtocolError) in try ConflictInfo(json: json) } == resolved)
    let list = JSONValue.array([info.json, resolved.json])
    let parsed = try JSONValue.parse(list.serialized())
    guard case let .array(items) = parsed else {
        Issue.record("not an array")
        return
    }
    #expect(try items.map { json throws(ProtocolError) in try ConflictInfo(json: json) } == [info, resolved])
}

@Test func aConflictInfoWithAnUnknownStatusIsRefused() {
    expectInvalidJSON(
        #"{"id": "x", "table": "t", "record_id": "r", "field": "f", "current": 1, "incoming": 2, "status": "closed"}"#
    ) { json throws(ProtocolError) in try ConflictInfo(json: json) }
    expectInvalidJSON(#"{"id": "x", "table": "t", "field": "f", "status": "open"}"#) { json throws(ProtocolError) in
        try ConflictInfo(json: json)
    }
}

@Test(arguments: [
    (#"{"keep": "current"}"#, Resolution.keepCurrent), (#"{"keep": "incoming"}"#, .keepIncoming),
    (#"{"value": "2026-05-05"}"#, .value(.string("2026-05-05"))), (#"{"value": 3}"#, .value(.int(3))),
    (#"{"value": ["a", "b"]}"#, .value(.array([.string("a"), .string("b")]))),
    (#"{"value": false}"#, .value(.bool(false))),
    (#"{"value": null}"#, .value(.null)),
])
func aResolutionIsReadFromEachForm(text: String, expected: Resolution) throws {
    #expect(try Resolution(json: JSONValue.parse(text)) == expected)
}

@Test(arguments: [Resolution.keepCurrent, .keepIncoming, .value(.string("x")), .value(.int(-1)), .value(.null)])
func aResolutionRoundTrips(resolution: Resolution) throws {
    #expect(try reread(resolution.json) { json throws(ProtocolError) in try Resolution(json: json) } == resolution)
}

@Test(arguments: [
    "{}", #"{"keep": "theirs"}"#, #"{"keep": "Current"}"#, #"{"keep": null}"#, #"{"keep": true}"#,
    #"{"keep": "current", "value": 3}"#, #"{"keep": "incoming", "value": "x"}"#, #"{"resolve": "current"}"#,
    #"["keep", "current"]"#, #""current""#, "null",
])
func anyOtherResolutionIsRefused(text: String) {
    expectInvalidJSON(text) { json throws(ProtocolError) in try Resolution(json: json) }
}

// MARK: - whoami, errors

@Test func whoAmIRoundTripsForEveryRole() throws {
    for role in Role.allCases {
        for organisation in [MergeIDs.orgA, nil] {
            let who = WhoAmI(organisation: organisation, role: role)
            #expect(memberNames(who.json) == ["organisation", "role"])
            #expect(who.json["role"] == .string(role.rawValue))
            #expect(try reread(who.json) { json throws(ProtocolError) in try WhoAmI(json: json) } == who)
        }
    }
    #expect(WhoAmI(organisation: nil, role: .auditor).json.serialized() == #"{"organisation":null,"role":"auditor"}"#)
}

@Test func whoAmIWithAnUnknownRoleIsRefused() {
    for text in [
        #"{"organisation": null, "role": "admin"}"#, #"{"organisation": null}"#,
        #"{"organisation": 1, "role": "member"}"#,
    ] {
        expectInvalidJSON(text) { json throws(ProtocolError) in try WhoAmI(json: json) }
    }
}

@Test func anErrorBodyRoundTrips() throws {
    let body = ErrorBody(error: "invalid_json", message: "invalid JSON at byte 3: expected ':'")
    #expect(memberNames(body.json) == ["error", "message"])
    #expect(try reread(body.json) { json throws(ProtocolError) in try ErrorBody(json: json) } == body)
    expectInvalidJSON(#"{"error": "x"}"#) { json throws(ProtocolError) in try ErrorBody(json: json) }
    expectInvalidJSON(#"{"error": 400, "message": "x"}"#) { json throws(ProtocolError) in try ErrorBody(json: json) }
}

@Test func anAuthorRoundTrips() throws {
    for author in [Author.memberA, .coordinator, Author(organisation: nil, role: .server, device: nil)] {
        #expect(memberNames(author.json) == ["organisation", "role", "device"])
        #expect(try reread(author.json) { json throws(ProtocolError) in try Author(json: json) } == author)
    }
}

extension JSONValue {
    fileprivate var firstItem: JSONValue? {
        if case let .array(items) = self { return items.first }
        return nil
    }
}

/// RFC 8785 writes numbers as IEEE doubles: an integer literal beyond 2^53 − 1 reads as the
/// double it is (I-JSON), so that what the history writes reads back as the same value of the
/// same kind; an int field refuses it, typed or pushed.
@Test(arguments: [Int64(1) << 53, -(Int64(1) << 53), Int64.max, Int64.min + 1])
func integersBeyondTwoToThe53ReadAsDoublesAndIntFieldsRefuseThem(value: Int64) throws {
    #expect(try JSONValue.parse(String(value)) == .double(Double(value)))
    let written = JSONValue.int(value).canonicalText()
    #expect(try JSONValue.parse(written).canonicalText() == written, "written, read and written again: the same")
    var change = sampleChange
    change.fields = ["number": .double(Double(value) * 1.5)]
    let reread = try Change(json: JSONValue.parse(change.json.canonicalText()))
    #expect(reread.json.canonicalText() == change.json.canonicalText())
    if value > 0 {
        change.baseVersion = value
        expectInvalidJSON(change.json.serialized()) { json throws(ProtocolError) in try Change(json: json) }
    }
    let field = FieldSchema(name: "number", type: .int)
    #expect(throws: ProtocolError.self) { try FieldValue(parsing: String(value), for: field, in: "round") }
    #expect(throws: ProtocolError.self) { try FieldValue(json: .int(value), for: field, in: "round") }
    #expect(throws: ProtocolError.self) {
        try FieldValue(json: JSONValue.parse(String(value)), for: field, in: "round")
    }
}

@Test func theLargestSafeIntegerKeepsItsExactValueThroughTheHistory() throws {
    var change = sampleChange
    change.fields = ["number": .int(WireProtocol.maximumSafeInteger)]
    change.baseVersion = WireProtocol.maximumSafeInteger
    let reread = try Change(json: JSONValue.parse(change.json.canonicalText()))
    #expect(reread == change)
    let field = FieldSchema(name: "number", type: .int)
    #expect(try FieldValue(parsing: "-9007199254740991", for: field, in: "round") == .int(-9_007_199_254_740_991))
}

/// A server renders pull pages from parts it rendered when it wrote them; the bytes must be
/// those of the value's own JSON, whatever the item holds.
@Test func aRenderedPullPageIsByteForByteTheValuesJSON() {
    let entry = PullItem.Entry(
        changeID: "c-1", time: "2026-05-04T10:00:00.000Z",
        author: Author(organisation: "o", role: .member, device: "d"),
        op: .update, fields: ["notes": .string("a \"quoted\"\nline é"), "count": .int(3), "gone": .null],
        outcome: Outcome(status: .merged, version: 4, applied: ["notes"]), hlc: "h", baseVersion: 3, device: "d",
        signature: "s")
    let items = [
        PullItem(
            seq: 7, table: "tab\"le", recordID: "r", version: 4, isDeleted: false,
            record: ["notes": .string("x"), "b": .bool(true), "d": .double(1.5)], entry: entry),
        PullItem(seq: 8, table: "t", recordID: "r2", version: 2, isDeleted: true, record: nil, entry: nil),
        PullItem(
            seq: 9, table: "t", recordID: "r3", version: 1, isDeleted: false, record: nil, entry: nil, isVisible: false),
    ]
    var rendered: [String] = []
    for item in items {
        var text = ""
        PullItem.render(
            seq: item.seq, table: item.table, recordID: item.recordID, version: item.version, isDeleted: item.isDeleted,
            record: item.record.map { PullItem.object($0).serialized() }, entry: item.entry?.json.serialized(),
            isVisible: item.isVisible, to: &text)
        #expect(text == item.json.serialized())
        rendered.append(text)
    }
    let checkpoint = Checkpoint(seq: 9, hash: "h", time: "t", publicKey: "k", signature: "s")
    for (point, version) in [(checkpoint, 3), (nil, nil)] as [(Checkpoint?, Int?)] {
        let page = PullResponse(items: items, next: 9, more: true, checkpoint: point, schemaVersion: version)
        #expect(
            PullResponse.render(items: rendered, next: 9, more: true, checkpoint: point, schemaVersion: version)
                == page.json.serialized())
    }
}
