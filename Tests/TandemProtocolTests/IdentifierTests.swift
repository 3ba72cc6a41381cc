import TandemProtocol
import Testing

/// Checks the RFC 9562 layout of a Tandem id: lowercase 8-4-4-4-12, version 7, variant 10xx.
private func expectCanonicalUUIDv7(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let characters = Array(id)
    #expect(characters.count == 36, "\(id)", sourceLocation: sourceLocation)
    #expect(Identifier.isUUID(id), "\(id)", sourceLocation: sourceLocation)
    guard characters.count == 36 else { return }
    #expect(characters[14] == "7", "version nibble of \(id)", sourceLocation: sourceLocation)
    #expect("89ab".contains(characters[19]), "variant of \(id)", sourceLocation: sourceLocation)
}

/// The 48-bit millisecond timestamp at the front of a UUIDv7.
private func milliseconds(of id: String) -> Int64? {
    Int64(id.prefix(13).replacing("-", with: ""), radix: 16)
}

@Test func generatedIDsAreCanonicalUUIDv7() {
    var ids = UUIDv7Generator()
    var random = SplitMix64.seeded()
    for now in [Int64(1), 1_763_812_345_678, 0xFFFF_FFFF_FFFF] {
        expectCanonicalUUIDv7(ids.next(milliseconds: now, using: &random))
    }
    var systemRandomIDs = UUIDv7Generator()
    expectCanonicalUUIDv7(systemRandomIDs.next(milliseconds: 1_763_812_345_678))
}

@Test func generatedIDsCarryTheirMillisecond() {
    var ids = UUIDv7Generator()
    let id = ids.next(milliseconds: 1_763_812_345_678)
    #expect(id.hasPrefix("019aab68-874e-7"))
    #expect(milliseconds(of: id) == 1_763_812_345_678)
}

@Test func idsIncreaseStrictlyWithinOneMillisecond() {
    var ids = UUIDv7Generator()
    var random = SplitMix64.seeded()
    var previous = ids.next(milliseconds: 1_763_812_345_678, using: &random)
    // More than the 12-bit counter holds, so the generator must carry into the next millisecond.
    for _ in 0..<10_000 {
        let id = ids.next(milliseconds: 1_763_812_345_678, using: &random)
        #expect(id > previous, "\(id) after \(previous)")
        expectCanonicalUUIDv7(id)
        previous = id
    }
}

@Test func idsIncreaseStrictlyWhenTheClockGoesBackwards() {
    var ids = UUIDv7Generator()
    var random = SplitMix64.seeded()
    var previous = ids.next(milliseconds: 2_000_000, using: &random)
    for now in stride(from: Int64(1_999_999), through: 1_000_000, by: -997) {
        let id = ids.next(milliseconds: now, using: &random)
        #expect(id > previous, "\(id) after \(previous)")
        previous = id
    }
    let later = ids.next(milliseconds: 3_000_000, using: &random)
    #expect(later > previous)
    #expect(milliseconds(of: later) == 3_000_000)
}

@Test func idsIncreaseStrictlyUnderARandomClock() {
    var ids = UUIDv7Generator()
    var random = SplitMix64.seeded()
    var now: Int64 = 1_763_812_345_678
    var previous = ids.next(milliseconds: now, using: &random)
    for _ in 0..<20_000 {
        now += Int64.random(in: -3...2, using: &random)
        let id = ids.next(milliseconds: now, using: &random)
        #expect(id > previous, "\(id) after \(previous) at \(now)")
        previous = id
    }
}

@Test func idsFromOneMillisecondAreDistinctAcrossGenerators() {
    var first = UUIDv7Generator()
    var second = UUIDv7Generator()
    let ids = (0..<1_000).flatMap { _ in
        [first.next(milliseconds: 1_763_812_345_678), second.next(milliseconds: 1_763_812_345_678)]
    }
    #expect(Set(ids).count == ids.count)
}

@Test(arguments: [
    "0193a1b2-c3d4-7e5f-8a6b-000000000001",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
])
func canonicalLowercaseUUIDsAreIDs(text: String) {
    #expect(Identifier.isUUID(text))
}

@Test(arguments: [
    "",
    "0193A1B2-C3D4-7E5F-8A6B-000000000001",
    "0193a1b2-c3d4-7e5f-8a6b-00000000000A",
    "0193a1b2-c3d4-7e5f-8a6b-00000000001",
    "0193a1b2-c3d4-7e5f-8a6b-0000000000011",
    "0193a1b2c3d47e5f8a6b000000000001",
    "0193a1b2-c3d47-e5f-8a6b-000000000001",
    "0193a1b-2c3d4-7e5f-8a6b-000000000001",
    "0193a1b2-c3d4-7e5f8-a6b-000000000001",
    "0193a1b2-c3d4-7e5f-8a6b0-00000000001",
    "{0193a1b2-c3d4-7e5f-8a6b-000000000001}",
    "0193a1b2-c3d4-7e5f-8a6b-00000000000g",
    "0193a1b2_c3d4_7e5f_8a6b_000000000001",
    " 0193a1b2-c3d4-7e5f-8a6b-00000000001",
])
func otherTextIsNotAnID(text: String) {
    #expect(!Identifier.isUUID(text))
}

@Test(arguments: ["0", "0193", "0193a1b2-", "0193a1b2-c3d4", "0193a1b2-c3d4-7e5f-8a6b-000000000001"])
func lowercaseHexAndDashesCanStartAnID(text: String) {
    #expect(Identifier.isPrefix(text))
}

@Test(arguments: ["", "0193A", "xyz", "0193 ", "0193a1b2-c3d4-7e5f-8a6b-0000000000011", "0193_a"])
func otherTextCannotStartAnID(text: String) {
    #expect(!Identifier.isPrefix(text))
}
