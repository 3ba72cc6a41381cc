import Foundation
import TandemProtocol

/// A small, fast, seedable generator (SplitMix64), so that a failing random test can be re-run
/// with the seed it printed: `TANDEM_SEED=<seed> swift test --filter TandemProtocolTests`.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator seeded from `TANDEM_SEED` when set, else from the system; prints the seed.
    static func seeded(_ test: String = #function) -> SplitMix64 {
        let seed =
            ProcessInfo.processInfo.environment["TANDEM_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        print("seed", seed, "(\(test))")
        return SplitMix64(seed: seed)
    }
}

/// Decodes a schema written in a test.
func decodeSchema(_ json: String) throws(ProtocolError) -> Schema {
    try Schema.decode(Array(json.utf8))
}

/// The partnership table called `name` (the bundled schema is known to have it).
func partnershipTable(_ name: String) -> TableSchema {
    Schema.partnership.tables.first(where: { $0.name == name })!
}

/// A field of the partnership schema.
func partnershipField(_ table: String, _ field: String) -> FieldSchema {
    partnershipTable(table).fields.first(where: { $0.name == field })!
}

/// A distinct, well-formed record id for test number `n`.
func testID(_ n: Int) -> String {
    let hex = String(n, radix: 16)
    return "0193a1b2-c3d4-7e5f-8a6b-" + String(repeating: "0", count: 12 - hex.count) + hex
}
