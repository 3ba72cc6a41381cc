import Foundation
import GRDB
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// `tandem get --as-of` replays a history with the merge's own rules: a history made by the real
/// merge (random edits from stale bases, so concurrent edits, conflicts and unions, with HLCs out
/// of seq order) replays to the server's record at every seq.
@Suite struct RecordReplayDriftTests {
    static let organisation = "0193a1b2-0000-7000-8000-000000000001"
    static let authors = [
        Author(organisation: nil, role: .coordinator, device: "desk"),
        Author(organisation: nil, role: .coordinator, device: "tablet"),
        Author(organisation: organisation, role: .member, device: "laptop"),
        Author(organisation: organisation, role: .member, device: "phone"),
    ]
    static let note = "0196c000-0000-7000-8000-000000000001"

    /// A table with a field for every rule.
    static func schema() throws -> Schema {
        let json = """
            {"name": "drift", "version": 1, "tables": [
             {"name": "organisation", "owners": ["id"], "delete": "delete-wins",
              "fields": [{"name": "name", "type": "text", "required": true}]},
             {"name": "note", "owners": ["org"], "delete": "delete-wins",
             "fields": [
              {"name": "org", "type": "ref", "references": "organisation", "required": true},
              {"name": "title", "type": "text"},
              {"name": "stage", "type": "enum", "values": ["a", "b", "c"], "rule": "first-wins", "default": "a"},
              {"name": "high", "type": "int", "rule": "max"},
              {"name": "low", "type": "int", "rule": "min"},
              {"name": "tags", "type": "set", "rule": "union"},
              {"name": "owner", "type": "text", "rule": "owner-wins"},
              {"name": "boss", "type": "text", "rule": "coordinator-wins"},
              {"name": "memo", "type": "text", "rule": "manual"}
             ]}]}
            """
        return try Schema.decode(Array(json.utf8))
    }

    static func value(for field: FieldSchema, using random: inout SeededGenerator) -> JSONValue {
        if random.chance(0.1) { return .null }
        switch field.type {
        case .int: return .int(Int64.random(in: 0...4, using: &random))
        case .enum: return .string(["a", "b", "c"].randomElement(using: &random)!)
        case .set: return .array(["p", "q", "r"].filter { _ in random.chance(0.5) }.map(JSONValue.string))
        default: return .string(["x", "y", "z"].randomElement(using: &random)!)
        }
    }

    @Test(arguments: 0..<6) func aReplayOfTheMergesHistoryIsTheServersRecordAtEverySeq(run: Int) throws {
        let seed = SeededGenerator.seedFromEnvironment() &+ UInt64(run)
        print("RecordReplayDriftTests seed \(seed) (TANDEM_SEED=\(seed) replays it)")
        var random = SeededGenerator(seed: seed)
        let schema = try Self.schema()
        let table = try schema.table(named: "note")
        let merge = Merge(schema: schema)
        let organisation = RecordState(
            table: "organisation", id: Self.organisation, version: 1,
            fields: [
                "name": RecordState.Field(
                    value: .string("Partner"), version: 1, changeID: SignedHistory.id(0), hlc: "0",
                    author: Self.authors[0])
            ])
        var history = SignedHistory()
        var state: RecordState?
        var expected: [(seq: Int64, state: RecordState?)] = []
        var concurrent = 0
        for step in 0..<40 {
            let author = Self.authors.randomElement(using: &random)!
            var fields: [String: JSONValue] = [:]
            let op: TandemProtocol.Operation
            var base: Int64 = 0
            if let current = state {
                op = step == 39 && random.chance(0.5) ? .delete : .update
                base = Int64.random(in: max(1, current.version - 3)...current.version, using: &random)
                for field in table.fields.dropFirst() where op == .update && random.chance(0.4) {
                    fields[field.name] = Self.value(for: field, using: &random)
                }
                if op == .update, fields.isEmpty { fields["tags"] = .array([.string("s")]) }
            } else {
                op = .insert
                fields = ["org": .string(Self.organisation), "title": .string("first")]
            }
            let skew = Int64.random(in: -120_000...30_000, using: &random)
            let hlc = HLC(milliseconds: history.milliseconds + skew, counter: 0, device: author.device!).description
            let change = history.change(op, "note", Self.note, fields, base: base, by: author, hlc: hlc)
            let result = merge.apply(
                change, by: author, to: state, now: history.milliseconds,
                context: RecordScan(
                    schema: schema,
                    records: [Self.organisation: organisation].merging(state.map { [$0.id: $0] } ?? [:]) { $1 }))
            if result.outcome.status == .merged || result.outcome.status == .conflict { concurrent += 1 }
            let entry = history.log(change, by: author, outcome: result.outcome)
            state = result.state ?? state
            expected.append((entry.seq, state))
        }
        #expect(concurrent > 0, "seed \(seed): the script met no concurrent edit")

        let replica = try Replica.create(in: try DatabaseQueue(), schema: schema)
        _ = try AuditEngine(replica: replica, transport: HistoryServer(history)).pull()
        for (seq, state) in expected {
            guard let state, !state.isDeleted else {
                #expect(throws: ReplicaError.self, "seed \(seed), seq \(seq)") {
                    try replica.record(in: "note", id: Self.note, asOf: .seq(seq))
                }
                continue
            }
            var values: [String: FieldValue] = [:]
            for field in table.fields where state[field.name] != .null {
                values[field.name] = try FieldValue(json: state[field.name], for: field, in: table.name)
            }
            let replayed = try replica.record(in: "note", id: Self.note, asOf: .seq(seq))
            #expect(replayed.values == values, "seed \(seed), seq \(seq)")
        }
    }
}
