import GRDB
import TandemProtocol

/// Reading and writing records, with the bookkeeping the merge asks about.
extension SQLiteServerStore {
    func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        try Self.loadRecord(id, db: db)
    }

    static func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM record WHERE id = ?"), arguments: [id]).map(record)
    }

    /// A record from its row (`SELECT *`: a store that migration `v5-core` has not reached yet
    /// has no `values_json`).
    static func record(_ row: Row) throws -> RecordState {
        RecordState(
            table: row["tbl"], id: row["id"], version: row["version"], isDeleted: row["deleted"],
            fields: try decodeFields(state: row["state"], values: row["values_json"]))
    }

    /// A record's per-field state as the store keeps it (docs/merge.md, "What the server keeps"),
    /// in two columns: `values_json`, its values (`{field: value}`, unset fields left out, names in
    /// order: what a pull sends as the record, without decoding anything), and `state`, the
    /// stamps — `{"f": {field: stamp}, "s": [[version, change_id, hlc, author], …]}`, each
    /// field's index into the stamps (the change that last set it), each stamp written once
    /// however many fields one change set.
    static func encodeState(_ fields: [String: RecordState.Field]) -> (state: String, values: String) {
        var stamps: [JSONValue] = []
        var index: [String: Int] = [:]
        var members: [JSONMember] = []
        var values: [JSONMember] = []
        members.reserveCapacity(fields.count)
        for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
            let key = field.changeID + " " + String(field.version)
            let stamp: Int
            if let known = index[key], case let .array(existing) = stamps[known], existing[2] == .string(field.hlc),
                existing[3] == field.author.json
            {
                stamp = known
            } else {
                stamp = stamps.count
                index[key] = stamp
                stamps.append(
                    .array([.int(field.version), .string(field.changeID), .string(field.hlc), field.author.json]))
            }
            members.append(JSONMember(name, .int(Int64(stamp))))
            if field.value != .null { values.append(JSONMember(name, field.value)) }
        }
        let state = JSONValue.object([JSONMember("f", .object(members)), JSONMember("s", .array(stamps))])
        return (state.serialized(), JSONValue.object(values).serialized())
    }

    /// A record's per-field state from ``encodeState(_:)`` — or, with no `values`, from the form
    /// stores kept before `v5-core`: `{field: {"value", "version", "change_id", "hlc", "author"}}`.
    static func decodeFields(state text: String, values: String?) throws -> [String: RecordState.Field] {
        guard case let .object(members) = try JSONValue.parse(text) else { return [:] }
        if let values {
            guard case let .object(valueMembers) = try JSONValue.parse(values),
                case let .object(indexes)? = members.first(where: { $0.key == "f" })?.value,
                case let .array(stamps)? = members.first(where: { $0.key == "s" })?.value
            else { return [:] }
            let decoded = try stamps.map { stamp throws -> (Int64, String, String, Author)? in
                guard case let .array(parts) = stamp, parts.count == 4, case let .int(version) = parts[0],
                    case let .string(changeID) = parts[1], case let .string(hlc) = parts[2]
                else { return nil }
                return (version, changeID, hlc, try Author(json: parts[3]))
            }
            var byName: [String: JSONValue] = [:]
            for member in valueMembers { byName[member.key] = member.value }
            var fields: [String: RecordState.Field] = [:]
            fields.reserveCapacity(indexes.count)
            for member in indexes {
                guard case let .int(index) = member.value, decoded.indices.contains(Int(index)),
                    let stamp = decoded[Int(index)]
                else { continue }
                fields[member.key] = RecordState.Field(
                    value: byName[member.key] ?? .null, version: stamp.0, changeID: stamp.1, hlc: stamp.2,
                    author: stamp.3)
            }
            return fields
        }
        var fields: [String: RecordState.Field] = [:]
        for member in members {
            guard case let .int(version)? = member.value["version"],
                case let .string(changeID)? = member.value["change_id"],
                case let .string(hlc)? = member.value["hlc"], let author = member.value["author"]
            else { continue }
            fields[member.key] = RecordState.Field(
                value: member.value["value"] ?? .null, version: version, changeID: changeID, hlc: hlc,
                author: try Author(json: author))
        }
        return fields
    }

    /// Asks `question` of `context`, fetching from `db` what it misses until it misses nothing:
    /// the core's facts one question at a time, for migrations that check records one by one.
    static func answer<T>(_ question: (BatchContext) -> T, context: BatchContext, db: Database) throws -> T {
        while true {
            context.missing = FactRequest()
            let answer = question(context)
            if context.missing.isEmpty { return answer }
            context.supply(try facts(for: context.missing, db: db))
        }
    }
}
