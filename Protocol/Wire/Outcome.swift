/// What the server did with one change (SPEC §5, §8): its status, the record's version after it,
/// the fields that applied, the field conflicts with the rule that settled each, and the reason
/// of a rejection.
public struct Outcome: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable, CaseIterable {
        case applied, merged, conflict, rejected, duplicate
    }

    public var status: Status
    public var version: Int64?
    public var applied: [String]
    public var conflicts: [FieldConflict]
    public var reason: RejectionReason?

    public init(
        status: Status, version: Int64? = nil, applied: [String] = [], conflicts: [FieldConflict] = [],
        reason: RejectionReason? = nil
    ) {
        self.status = status
        self.version = version
        self.applied = applied
        self.conflicts = conflicts
        self.reason = reason
    }

    public static func rejected(_ reason: RejectionReason, version: Int64? = nil) -> Outcome {
        Outcome(status: .rejected, version: version, reason: reason)
    }

    /// `{"status", "version", "applied", "conflicts", "reason"}`.
    public var json: JSONValue {
        .object([
            JSONMember("status", .string(status.rawValue)),
            JSONMember("version", version.map(JSONValue.int) ?? .null),
            JSONMember("applied", .array(applied.map(JSONValue.string))),
            JSONMember("conflicts", .array(conflicts.map(\.json))),
            JSONMember("reason", reason.map { .string($0.rawValue) } ?? .null),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "outcome") { ProtocolError(.invalidJSON, $0) }
        status = try object.choice("status")
        version = try object.optional("version").map { value throws(ProtocolError) in
            guard case let .int(version) = value else {
                throw ProtocolError(.invalidJSON, "outcome.version: expected an integer")
            }
            return version
        }
        applied = try object.optionalStrings("applied") ?? []
        var conflicts: [FieldConflict] = []
        if let items = object.optional("conflicts") {
            guard case let .array(list) = items else {
                throw ProtocolError(.invalidJSON, "outcome.conflicts: expected an array")
            }
            for item in list { conflicts.append(try FieldConflict(json: item)) }
        }
        self.conflicts = conflicts
        reason = try object.optionalString("reason").map(RejectionReason.init(rawValue:))
    }
}

/// One field of a change that met another's edit: which rule settled it, the value the record
/// kept and the value that lost (for `manual`, the incoming value waiting for a decision).
public struct FieldConflict: Hashable, Sendable {
    public var field: String
    public var rule: ConflictRule
    public var kept: JSONValue
    public var lost: JSONValue

    public init(field: String, rule: ConflictRule, kept: JSONValue, lost: JSONValue) {
        self.field = field
        self.rule = rule
        self.kept = kept
        self.lost = lost
    }

    public var json: JSONValue {
        .object([
            JSONMember("field", .string(field)), JSONMember("rule", .string(rule.rawValue)),
            JSONMember("kept", kept), JSONMember("lost", lost),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "conflict") { ProtocolError(.invalidJSON, $0) }
        field = try object.string("field")
        rule = try object.choice("rule")
        kept = object.optional("kept") ?? .null
        lost = object.optional("lost") ?? .null
    }
}
