import TandemProtocol
import Testing

// Fixtures for the merge tests: an in-memory MergeContext that holds records as a server would,
// authors, change builders, a seeded partnership world and a small schema with every rule.

/// The server's clock (milliseconds) in the merge tests.
let mergeNow: Int64 = 1_763_812_345_678
/// Change times are offsets from this, an hour before `mergeNow`.
let mergeEpoch: Int64 = mergeNow - 3_600_000

/// Record ids used by the merge tests. Organisation ids double as the lab schema's team ids, so
/// that the same member authors own records in both schemas.
enum MergeIDs {
    static let orgA = testID(0xA)
    static let orgB = testID(0xB)
    static let orgC = testID(0xC)
    static let round = testID(0x1001)
    static let personA = testID(0x2001)
    static let personB = testID(0x2002)
    static let exchange = testID(0x3001)
    static let challenge = testID(0x4001)
    static let practice = testID(0x5001)
    static let item = testID(0x6001)
    static let note = testID(0x7001)
    /// An id no record has.
    static let nobody = testID(0xDEAD)
}

extension Author {
    static let memberA = Author(organisation: MergeIDs.orgA, role: .member, device: "dev-a")
    /// A second device of organisation A: a different author.
    static let memberA2 = Author(organisation: MergeIDs.orgA, role: .member, device: "dev-a2")
    static let memberB = Author(organisation: MergeIDs.orgB, role: .member, device: "dev-b")
    static let memberC = Author(organisation: MergeIDs.orgC, role: .member, device: "dev-c")
    static let coordinator = Author(organisation: nil, role: .coordinator, device: "dev-coord")
    static let coordinator2 = Author(organisation: nil, role: .coordinator, device: "dev-coord2")
    static let auditor = Author(organisation: nil, role: .auditor, device: "dev-audit")
    static let server = Author(organisation: nil, role: .server, device: "dev-server")
}

/// The HLC text of a change made `time` milliseconds after `mergeEpoch` on `device`.
func mergeHLC(_ time: Int64, _ device: String, counter: Int = 0) -> String {
    HLC(milliseconds: mergeEpoch + time, counter: counter, device: device).description
}

/// A change by `author` at `time` (ms after `mergeEpoch`), signed by the author's device.
func makeChange(
    _ op: Operation, _ table: String, _ id: String, _ fields: [String: JSONValue] = [:], base: Int64,
    at time: Int64, by author: Author, counter: Int = 0
) -> Change {
    let device = author.device ?? "dev-none"
    let salt = device.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFF }
    return Change(
        changeID: testID((Int(time) << 16 | counter << 12 | salt) & 0xFFFF_FFFF_FFFF), table: table, recordID: id,
        op: op, fields: fields, baseVersion: base, hlc: mergeHLC(time, device, counter: counter), device: device)
}

func insertChange(
    _ table: String, _ id: String, _ fields: [String: JSONValue], at time: Int64 = 0, by author: Author
) -> Change {
    makeChange(.insert, table, id, fields, base: 0, at: time, by: author)
}

func updateChange(
    _ table: String, _ id: String, _ fields: [String: JSONValue], base: Int64, at time: Int64, by author: Author
) -> Change {
    makeChange(.update, table, id, fields, base: base, at: time, by: author)
}

func deleteChange(_ table: String, _ id: String, base: Int64, at time: Int64, by author: Author) -> Change {
    makeChange(.delete, table, id, base: base, at: time, by: author)
}

/// The records as a server holds them, answering the merge's questions from a dictionary.
struct MemoryStore {
    let merge: Merge
    var records: [String: RecordState] = [:]

    init(schema: Schema) { merge = Merge(schema: schema) }

    var schema: Schema { merge.schema }

    /// The scan that answers the merge's questions for these records.
    var scan: RecordScan { RecordScan(schema: schema, records: records) }

    func isLive(table: String, id: String) -> Bool { scan.isLive(table: table, id: id) }

    func holder(of value: JSONValue, table: String, field: String, excluding id: String) -> String? {
        scan.holder(of: value, table: table, field: field, excluding: id)
    }

    subscript(id: String) -> RecordState? { records[id] }

    /// What the merge makes of `change` against the stored record, without storing anything.
    func preview(_ change: Change, by author: Author, now: Int64 = mergeNow) -> Merge.Result {
        merge.apply(change, by: author, to: records[change.recordID], now: now, context: scan)
    }

    /// Applies `change` as the server would: the record is replaced unless the change was rejected.
    @discardableResult
    mutating func apply(_ change: Change, by author: Author, now: Int64 = mergeNow) -> Merge.Result {
        let result = preview(change, by: author, now: now)
        if let state = result.state { records[change.recordID] = state }
        return result
    }

    /// Inserts a record as the server itself, expecting it to apply.
    mutating func seed(
        _ table: String, _ id: String, _ fields: [String: JSONValue], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = apply(insertChange(table, id, fields, by: .server), by: .server)
        if result.outcome.status != .applied {
            Issue.record("seeding \(table) \(id): \(result.outcome)", sourceLocation: sourceLocation)
        }
    }

    /// The version of a stored record (0 when there is none).
    func version(_ id: String) -> Int64 { records[id]?.version ?? 0 }
}

/// The partnership schema with one of each kind of record, all at version 1, inserted by the server:
/// a round, organisations A, B and C, a person of A and of B, an exchange from A (home) to B
/// (host), a challenge proposed by A with A's person as mentor, and a practice of A tagged "mentoring".
func partnershipStore() -> MemoryStore {
    var store = MemoryStore(schema: .partnership)
    store.seed("round", MergeIDs.round, ["number": .int(1), "title": .string("Round one")])
    store.seed("organisation", MergeIDs.orgA, ["name": .string("Ministry"), "sector": .string("public")])
    store.seed(
        "organisation", MergeIDs.orgB,
        ["name": .string("Acme"), "sector": .string("private"), "registration_id": .string("REG-B")])
    store.seed("organisation", MergeIDs.orgC, ["name": .string("Town"), "sector": .string("municipality")])
    store.seed(
        "person", MergeIDs.personA, ["organisation": .string(MergeIDs.orgA), "full_name": .string("Ana Novak")])
    store.seed(
        "person", MergeIDs.personB, ["organisation": .string(MergeIDs.orgB), "full_name": .string("Bor Kos")])
    store.seed("exchange", MergeIDs.exchange, exchangeFields())
    store.seed(
        "challenge", MergeIDs.challenge,
        [
            "round": .string(MergeIDs.round), "title": .string("Open data"), "proposer": .string(MergeIDs.orgA),
            "mentor": .string(MergeIDs.personA),
        ])
    store.seed(
        "practice", MergeIDs.practice,
        [
            "organisation": .string(MergeIDs.orgA), "title": .string("Job shadowing"),
            "tags": .array([.string("mentoring")]),
        ])
    return store
}

/// The fields of a valid exchange from A to B in the round (dates 2026-05-04 to 2026-05-08).
func exchangeFields(_ changes: [String: JSONValue] = [:]) -> [String: JSONValue] {
    var fields: [String: JSONValue] = [
        "round": .string(MergeIDs.round), "person": .string(MergeIDs.personA), "home": .string(MergeIDs.orgA),
        "host": .string(MergeIDs.orgB), "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
    ]
    for (name, value) in changes { fields[name] = value }
    return fields
}

/// A small schema with a field for every rule: `team` (owned by itself), `item` (owned by its
/// `team` and its `partner`) and `note` (update-wins).
let labSchemaJSON = """
    {
      "name": "lab",
      "version": 1,
      "tables": [
        {
          "name": "team",
          "owners": ["id"],
          "fields": [{"name": "name", "type": "text", "required": true}]
        },
        {
          "name": "item",
          "owners": ["team", "partner"],
          "fields": [
            {"name": "team", "type": "ref", "references": "team", "required": true},
            {"name": "partner", "type": "ref", "references": "team"},
            {"name": "label", "type": "text"},
            {"name": "code", "type": "text", "unique": true},
            {"name": "first", "type": "text", "rule": "first-wins"},
            {"name": "owned", "type": "text", "rule": "owner-wins"},
            {"name": "boss", "type": "text", "rule": "coordinator-wins"},
            {"name": "high", "type": "int", "rule": "max"},
            {"name": "low", "type": "int", "rule": "min"},
            {"name": "level", "type": "enum", "values": ["low", "mid", "high"], "rule": "max"},
            {"name": "floor", "type": "enum", "values": ["low", "mid", "high"], "rule": "min"},
            {"name": "peak", "type": "real", "rule": "max"},
            {"name": "latest", "type": "date", "rule": "max"},
            {"name": "seen_at", "type": "timestamp", "rule": "max"},
            {"name": "earliest", "type": "date", "rule": "min"},
            {"name": "tags", "type": "set", "rule": "union"},
            {"name": "memo", "type": "text", "rule": "manual"}
          ]
        },
        {
          "name": "note",
          "owners": ["team"],
          "delete": "update-wins",
          "fields": [
            {"name": "team", "type": "ref", "references": "team", "required": true},
            {"name": "text", "type": "text"}
          ]
        }
      ]
    }
    """

let labSchema: Schema = {
    do {
        return try decodeSchema(labSchemaJSON)
    } catch {
        preconditionFailure("the lab schema is invalid: \(error)")
    }
}()

/// The lab schema with teams A, B and C, an item of team A with partner B (plus `fields`), and a
/// note of team A, all at version 1, inserted by the server.
func labStore(item fields: [String: JSONValue] = [:]) -> MemoryStore {
    var store = MemoryStore(schema: labSchema)
    store.seed("team", MergeIDs.orgA, ["name": .string("A")])
    store.seed("team", MergeIDs.orgB, ["name": .string("B")])
    store.seed("team", MergeIDs.orgC, ["name": .string("C")])
    var item: [String: JSONValue] = ["team": .string(MergeIDs.orgA), "partner": .string(MergeIDs.orgB)]
    for (name, value) in fields { item[name] = value }
    store.seed("item", MergeIDs.item, item)
    store.seed("note", MergeIDs.note, ["team": .string(MergeIDs.orgA), "text": .string("first note")])
    return store
}

/// A record state as a `Record`, for `TableSchema.validate`.
func record(of state: RecordState, in table: TableSchema) throws(ProtocolError) -> Record {
    var values: [String: FieldValue] = [:]
    for (name, value) in state.values {
        values[name] = try FieldValue(json: value, for: try table.field(named: name), in: table.name)
    }
    return Record(id: state.id, values: values)
}

/// A value as the merge stores it: parsed for its field and written back (sets sorted, "" → NULL).
func normalized(_ value: JSONValue, _ field: FieldSchema, in table: String) -> JSONValue {
    (try? FieldValue(json: value, for: field, in: table).json) ?? value
}
