import TandemProtocol
import Testing

/// The size limits of one change, defined once: the server refuses by them and the CLI checks
/// them when an edit is made.
@Suite struct ChangeLimitsTests {
    @Test func aValueIsTooLargeOnlyPastTheLimitOfItsJSON() {
        let limit = WireProtocol.maximumValueSize
        #expect(ChangeLimits.standard.oversize(of: .string(String(repeating: "x", count: limit - 2))) == nil)
        #expect(ChangeLimits.standard.oversize(of: .string(String(repeating: "x", count: limit - 1))) == limit + 1)
        // Escapes count: a quote is two bytes of JSON.
        #expect(ChangeLimits.standard.oversize(of: .string(String(repeating: "\"", count: limit / 2))) == limit + 2)
        let tags = JSONValue.array((0..<20_000).map { .string("tag\($0)") })
        #expect((ChangeLimits.standard.oversize(of: tags) ?? 0) > limit)
        #expect(ChangeLimits.standard.oversize(of: .int(WireProtocol.maximumSafeInteger)) == nil)
        #expect(ChangeLimits.standard.oversize(of: .null) == nil)
    }

    @Test func theFirstOversizedValueAndIdentifierOfAChangeAreNamed() {
        var change = Change(
            changeID: testID(1), table: "practice", recordID: testID(2), op: .insert,
            fields: ["title": .string("Report"), "summary": .string(String(repeating: "r", count: 70_000))],
            baseVersion: 0, hlc: "001763812345678.00000.d", device: "d")
        #expect(ChangeLimits.standard.oversizedValue(in: change)?.field == "summary")
        #expect(ChangeLimits.standard.oversizedIdentifier(in: change) == nil)
        change.recordID = String(repeating: "7", count: WireProtocol.maximumIdentifierSize + 1)
        #expect(ChangeLimits.standard.oversizedIdentifier(in: change) == "record_id")
        change.recordID = testID(2)
        change.fields[String(repeating: "f", count: 2_000)] = .int(1)
        #expect(ChangeLimits.standard.oversizedIdentifier(in: change) == "a field name")
    }

    @Test func theMergeRefusesAnOversizedValueWithItsOwnReason() {
        let change = Change(
            changeID: testID(1), table: "round", recordID: testID(2), op: .insert,
            fields: ["number": .int(5), "title": .string(String(repeating: "x", count: 70_000))],
            baseVersion: 0, hlc: "001763812345678.00000.d", device: "d")
        let result = Merge(schema: .partnership).apply(
            change, by: Author(organisation: nil, role: .coordinator, device: "d"), to: nil, now: 1_763_812_345_678,
            context: MemoryStore(schema: .partnership).scan)
        #expect(result.outcome.status == .rejected && result.outcome.reason == RejectionReason.valueTooLarge)
        #expect(result.state == nil)
    }
}

@Test func theLimitsArePublishedWithTheSchemaAndTheMergeReadsThem() throws {
    // The bundled schema publishes the standard limits; a document without them has them too.
    #expect(Schema.partnership.json["limits"] == ChangeLimits.standard.json)
    var smaller = Schema.partnership
    smaller.limits = ChangeLimits(valueBytes: 2048, identifierBytes: 256)
    let decoded = try Schema.decode(smaller.encoded())
    #expect(decoded.limits == smaller.limits)
    // The merge refuses a value over the schema's limit, not the standard one.
    let change = Change(
        changeID: testID(1), table: "round", recordID: testID(2), op: .insert,
        fields: ["number": .int(5), "title": .string(String(repeating: "x", count: 3000))], baseVersion: 0,
        hlc: "001763812345678.00000.d", device: "d")
    let coordinator = Author(organisation: nil, role: .coordinator, device: "d")
    let context = MemoryStore(schema: .partnership).scan
    let refused = Merge(schema: smaller).apply(
        change, by: coordinator, to: nil, now: 1_763_812_345_678, context: context)
    #expect(refused.outcome.reason == RejectionReason.valueTooLarge)
    let applied = Merge(schema: .partnership).apply(
        change, by: coordinator, to: nil, now: 1_763_812_345_678, context: context)
    #expect(applied.outcome.status == .applied)
    // Limits outside their bounds are refused, naming them.
    for limits in [
        #"{"value_bytes": 10, "identifier_bytes": 1024}"#, #"{"value_bytes": 65536, "identifier_bytes": 64}"#,
    ] {
        var document = String(decoding: Schema.partnership.encoded(), as: UTF8.self)
        document = document.replacingOccurrences(
            of: String(decoding: Array(ChangeLimits.standard.json.serialized().utf8), as: UTF8.self), with: limits)
        do {
            _ = try decodeSchema(document)
            Issue.record("accepted \(limits)")
        } catch {
            #expect(error.message.contains("limits."), "\(error.message)")
        }
    }
}
