import GRDB
import TandemProtocol

/// Reading and writing records, with the bookkeeping the merge asks about.
extension SQLiteServerStore {
    func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        try Self.loadRecord(id, db: db)
    }

    static func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT tbl, version, deleted, state FROM record WHERE id = ?"), arguments: [id]
            )
        else { return nil }
        let fields = try Self.decodeFields(row["state"])
        return RecordState(
            table: row["tbl"], id: id, version: row["version"], isDeleted: row["deleted"], fields: fields)
    }

    /// A record's per-field state as the store keeps it (docs/merge.md, "What the server keeps"):
    /// `{"f": {field: [value, stamp]}, "s": [[version, change_id, hlc, author], …]}` — each field's
    /// value and the index of its stamp, the stamps (the change that last set a field) written
    /// once however many fields one change set.
    static func encodeFields(_ fields: [String: RecordState.Field]) -> JSONValue {
        var stamps: [JSONValue] = []
        var index: [String: Int] = [:]
        var members: [JSONMember] = []
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
            members.append(JSONMember(name, .array([field.value, .int(Int64(stamp))])))
        }
        return .object([JSONMember("f", .object(members)), JSONMember("s", .array(stamps))])
    }

    /// A record's per-field state from ``encodeFields(_:)`` — or from the form stores kept before
    /// `v5-core`, `{field: {"value", "version", "change_id", "hlc", "author"}}`.
    static func decodeFields(_ text: String) throws -> [String: RecordState.Field] {
        guard case let .object(members) = try JSONValue.parse(text) else { return [:] }
        if members.count == 2, case let .object(values)? = members.first(where: { $0.key == "f" })?.value,
            case let .array(stamps)? = members.first(where: { $0.key == "s" })?.value
        {
            let decoded = try stamps.map { stamp throws -> (Int64, String, String, Author)? in
                guard case let .array(parts) = stamp, parts.count == 4, case let .int(version) = parts[0],
                    case let .string(changeID) = parts[1], case let .string(hlc) = parts[2]
                else { return nil }
                return (version, changeID, hlc, try Author(json: parts[3]))
            }
            var fields: [String: RecordState.Field] = [:]
            fields.reserveCapacity(values.count)
            for member in values {
                guard case let .array(pair) = member.value, pair.count == 2, case let .int(index) = pair[1],
                    decoded.indices.contains(Int(index)), let stamp = decoded[Int(index)]
                else { continue }
                fields[member.key] = RecordState.Field(
                    value: pair[0], version: stamp.0, changeID: stamp.1, hlc: stamp.2, author: stamp.3)
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
