extension TableSchema {
    /// The fields that hold personal data (SPEC §8, docs/audit.md "Personal data"): in a table
    /// marked `"personal": true`, every field but its references — a reference is an id, and it
    /// is what ownership and visibility read. Their values are committed to in the history, not
    /// written into it, and `tandem erase` removes them.
    public var personalFields: Set<String> {
        guard isPersonal else { return [] }
        return Set(fields.filter { $0.type != .ref }.map(\.name))
    }
}

extension Schema {
    /// ``TableSchema/personalFields`` of the table called `table`; empty for an unknown one.
    public func personalFields(of table: String) -> Set<String> {
        (try? self.table(named: table))?.personalFields ?? []
    }
}

/// Personal values in and out of their commitments (``Commitment``).
public enum Sealing {
    /// `fields` with each non-null value of a field in `personal` replaced by its commitment, and
    /// the openings made; `salt` gives each field's salt.
    public static func seal(
        _ fields: [String: JSONValue], personal: Set<String>, salt: (String) -> String
    ) -> (fields: [String: JSONValue], openings: [Opening]) {
        guard !personal.isEmpty else { return (fields, []) }
        var sealed = fields
        var openings: [Opening] = []
        for (name, value) in fields where personal.contains(name) && value != .null {
            let opening = Opening(salt: salt(name), value: value)
            guard let commitment = opening.commitment else { continue }
            sealed[name] = Commitment.json(commitment)
            openings.append(opening)
        }
        return (sealed, openings)
    }

    /// `value` with a commitment replaced by the value `openings` give it: nil when it is a
    /// commitment that nothing held opens (erased, or not shown to this reader).
    public static func open(_ value: JSONValue, with openings: Openings) -> JSONValue? {
        guard let commitment = Commitment.hex(in: value) else { return value }
        return openings.value(of: commitment)
    }

    /// Whether an entry's change or outcome holds a non-null value of a `personal` field in
    /// plain (an entry made before values were committed to): it sits inside the chain.
    public static func holdsPlainValue(change: JSONValue, outcome: JSONValue, personal: Set<String>) -> Bool {
        let fields = change["fields"] ?? .null
        return withoutPlainValues(fields, personal: personal) != fields
            || withoutPlainValues(inOutcome: outcome, personal: personal) != outcome
    }

    /// `fields` (an object) with each plain (non-null, not committed to) value of a field in
    /// `personal` replaced by null.
    public static func withoutPlainValues(_ fields: JSONValue, personal: Set<String>) -> JSONValue {
        guard case let .object(members) = fields else { return fields }
        return .object(
            members.map { member in
                personal.contains(member.key) && member.value != .null && Commitment.hex(in: member.value) == nil
                    ? JSONMember(member.key, .null) : member
            })
    }

    /// `outcome` with each plain `kept` and `lost` of a conflict on a field in `personal` null.
    public static func withoutPlainValues(inOutcome outcome: JSONValue, personal: Set<String>) -> JSONValue {
        guard case let .object(members) = outcome else { return outcome }
        return .object(
            members.map { member in
                guard member.key == "conflicts", case let .array(conflicts) = member.value else { return member }
                let cleaned = conflicts.map { conflict -> JSONValue in
                    guard case let .string(field)? = conflict["field"], personal.contains(field) else {
                        return conflict
                    }
                    return withoutPlainValues(conflict, personal: ["kept", "lost"])
                }
                return JSONMember(member.key, .array(cleaned))
            })
    }

    /// Every commitment `value` holds (a commitment object, or within an outcome's conflicts).
    public static func commitments(in value: JSONValue) -> [String] {
        if let hex = Commitment.hex(in: value) { return [hex] }
        switch value {
        case let .object(members): return members.flatMap { commitments(in: $0.value) }
        case let .array(items): return items.flatMap(commitments(in:))
        default: return []
        }
    }
}

/// Why a pushed change cannot be opened for the merge.
public enum UnsealedField: Error, Hashable, Sendable {
    /// A personal field's value is given as is, not committed to: it would enter the history.
    case plain(String)
    /// A commitment that no opening given with the push opens (or one given for a field that
    /// is not personal).
    case unopened(String)
}

extension Change {
    /// The change as a device signs and pushes it: each non-null value of a personal field
    /// replaced by its commitment, salted by `salts` (``SaltKey``) — with the openings, which
    /// travel beside it.
    public func sealed(personal: Set<String>, salts: SaltKey) -> (change: Change, openings: [Opening]) {
        let (fields, openings) = Sealing.seal(self.fields, personal: personal) {
            salts.salt(changeID: changeID, field: $0)
        }
        var sealed = self
        sealed.fields = fields
        return (sealed, openings)
    }

    /// The change as the merge reads it: each commitment replaced by the value its opening in
    /// `openings` gives. A personal field must be null or committed to, and every commitment
    /// opened; else the field that is not.
    public func opened(_ openings: Openings, personal: Set<String>) -> Result<Change, UnsealedField> {
        var opened = self
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            if let commitment = Commitment.hex(in: value) {
                guard personal.contains(name), let value = openings.value(of: commitment) else {
                    return .failure(.unopened(name))
                }
                opened.fields[name] = value
            } else if personal.contains(name), value != .null {
                return .failure(.plain(name))
            }
        }
        return .success(opened)
    }
}

extension Outcome {
    /// The outcome as the history keeps it: each non-null value a conflict on a personal field
    /// kept or lost replaced by a commitment salted by `salts` for `changeID` — with the openings.
    public func sealed(personal: Set<String>, salts: SaltKey, changeID: String) -> (
        outcome: Outcome, openings: [Opening]
    ) {
        guard !personal.isEmpty, conflicts.contains(where: { personal.contains($0.field) }) else { return (self, []) }
        var sealed = self
        var openings: [Opening] = []
        for index in sealed.conflicts.indices where personal.contains(sealed.conflicts[index].field) {
            let conflict = sealed.conflicts[index]
            let parts = Sealing.seal(["kept": conflict.kept, "lost": conflict.lost], personal: ["kept", "lost"]) {
                salts.salt(changeID: changeID, field: conflict.field, purpose: $0)
            }
            sealed.conflicts[index].kept = parts.fields["kept"] ?? .null
            sealed.conflicts[index].lost = parts.fields["lost"] ?? .null
            openings += parts.openings
        }
        return (sealed, openings)
    }
}
