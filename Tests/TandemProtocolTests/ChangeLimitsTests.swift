import TandemProtocol
import Testing

/// The size limits of one change, defined once: the server refuses by them and the CLI checks
/// them when an edit is made.
@Suite struct ChangeLimitsTests {
    @Test func aValueIsTooLargeOnlyPastTheLimitOfItsJSON() {
        let limit = WireProtocol.maximumValueSize
        #expect(ChangeLimits.oversize(of: .string(String(repeating: "x", count: limit - 2))) == nil)
        #expect(ChangeLimits.oversize(of: .string(String(repeating: "x", count: limit - 1))) == limit + 1)
        // Escapes count: a quote is two bytes of JSON.
        #expect(ChangeLimits.oversize(of: .string(String(repeating: "\"", count: limit / 2))) == limit + 2)
        let tags = JSONValue.array((0..<20_000).map { .string("tag\($0)") })
        #expect((ChangeLimits.oversize(of: tags) ?? 0) > limit)
        #expect(ChangeLimits.oversize(of: .int(WireProtocol.maximumSafeInteger)) == nil)
        #expect(ChangeLimits.oversize(of: .null) == nil)
    }

    @Test func theFirstOversizedValueAndIdentifierOfAChangeAreNamed() {
        var change = Change(
            changeID: testID(1), table: "practice", recordID: testID(2), op: .insert,
            fields: ["title": .string("Report"), "summary": .string(String(repeating: "r", count: 70_000))],
            baseVersion: 0, hlc: "001763812345678.00000.d", device: "d")
        #expect(ChangeLimits.oversizedValue(in: change)?.field == "summary")
        #expect(ChangeLimits.oversizedIdentifier(in: change) == nil)
        change.recordID = String(repeating: "7", count: WireProtocol.maximumIdentifierSize + 1)
        #expect(ChangeLimits.oversizedIdentifier(in: change) == "record_id")
        change.recordID = testID(2)
        change.fields[String(repeating: "f", count: 2_000)] = .int(1)
        #expect(ChangeLimits.oversizedIdentifier(in: change) == "a field name")
    }

    @Test func theMergeRefusesAnOversizedValueWithItsOwnReason() {
        let change = Change(
            changeID: testID(1), table: "round", recordID: testID(2), op: .insert,
            fields: ["number": .int(5), "title": .string(String(repeating: "x", count: 70_000))],
            baseVersion: 0, hlc: "001763812345678.00000.d", device: "d")
        let result = Merge(schema: .partnership).apply(
            change, by: Author(organisation: nil, role: .coordinator, device: "d"), to: nil, now: 1_763_812_345_678,
            context: MemoryStore(schema: .partnership).scan)
        #expect(result.outcome.status == .rejected && result.outcome.reason == ChangeLimits.valueTooLarge)
        #expect(result.state == nil)
    }
}
