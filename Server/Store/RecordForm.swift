import TandemProtocol

/// How every store keeps a record: its values as a pull sends them, and its stamps, in two text
/// columns (the SQLite and PostgreSQL stores alike, so that `migrate` copies them as they are).
enum RecordForm {
    /// A record's per-field state as the store keeps it (docs/merge.md, "What the server keeps"),
    /// in two columns: `values_json`, its values (`{field: value}`, unset fields left out, names in
    /// order: what a pull sends as the record, without decoding anything), and `state`, the
    /// stamps — `{"f": {field: stamp}, "s": [[version, change_id, hlc, author], …]}`, each
    /// field's index into the stamps (the change that last set it), each stamp written once
    /// however many fields one change set.
    /// An erased record (`tandem erase`) has `"e":1` last in its stamps: `{"f": …, "s": […], "e": 1}`.
    static func encode(_ fields: [String: RecordState.Field], isErased: Bool = false) -> (
        state: String, values: String
    ) {
        var stamps: [RecordState.Field] = []
        var index: [String: Int] = [:]
        var state: [UInt8] = []
        var values: [UInt8] = []
        state.reserveCapacity(64 + 24 * fields.count)
        values.reserveCapacity(32 * fields.count)
        state.append(contentsOf: #"{"f":{"#.utf8)
        values.append(UInt8(ascii: "{"))
        for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
            // One stamp a change: the fields one change set share it.
            let stamp: Int
            if let known = index[field.changeID], stamps[known].version == field.version,
                stamps[known].hlc == field.hlc, stamps[known].author == field.author
            {
                stamp = known
            } else {
                stamp = stamps.count
                index[field.changeID] = stamp
                stamps.append(field)
            }
            if state.count > 6 { state.append(UInt8(ascii: ",")) }
            JSONValue.writeString(name, to: &state)
            state.append(UInt8(ascii: ":"))
            JSONValue.writeInteger(Int64(stamp), to: &state)
            if field.value != .null {
                if values.count > 1 { values.append(UInt8(ascii: ",")) }
                JSONValue.writeString(name, to: &values)
                values.append(UInt8(ascii: ":"))
                field.value.write(to: &values)
            }
        }
        state.append(contentsOf: #"},"s":["#.utf8)
        for (position, stamp) in stamps.enumerated() {
            if position > 0 { state.append(UInt8(ascii: ",")) }
            state.append(UInt8(ascii: "["))
            JSONValue.writeInteger(stamp.version, to: &state)
            state.append(UInt8(ascii: ","))
            JSONValue.writeString(stamp.changeID, to: &state)
            state.append(UInt8(ascii: ","))
            JSONValue.writeString(stamp.hlc, to: &state)
            state.append(UInt8(ascii: ","))
            stamp.author.json.write(to: &state)
            state.append(UInt8(ascii: "]"))
        }
        state.append(contentsOf: isErased ? #"],"e":1}"#.utf8 : "]}".utf8)
        values.append(UInt8(ascii: "}"))
        return (String(decoding: state, as: UTF8.self), String(decoding: values, as: UTF8.self))
    }

    /// Whether the stamps ``encode(_:isErased:)`` wrote are an erased record's.
    static func isErased(state text: String) -> Bool { text.hasSuffix(#","e":1}"#) }

    /// A record's per-field state from ``encode(_:isErased:)`` — or, with no `values`, from the form
    /// stores kept before `v5-core`: `{field: {"value", "version", "change_id", "hlc", "author"}}`.
    static func decode(state text: String, values: String?) throws -> [String: RecordState.Field] {
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

}
