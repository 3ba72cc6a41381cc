/// Why the server rejected one change: the `reason` of a push result and of an outcome in the
/// history (SPEC §5), as the merge, the server and the client all name it.
///
/// A reason is a kind and, for most, the field it is about: `unique:email`, `check:ends_on`,
/// `schema:type:starts_on`. Its text is part of the signed history, so it never changes; a
/// reason this version does not know (from a newer server) is kept as sent and falls in the
/// ``Family/other`` family.
///
/// ```swift
/// let reason = RejectionReason.unique("email")
/// reason.rawValue       // "unique:email"
/// reason.field          // "email"
/// reason.family         // .unique
/// RejectionReason(rawValue: "signature") == .signature  // true
/// ```
public struct RejectionReason: Hashable, Sendable, CustomStringConvertible {
    /// A handful of classes whatever the schema (the server's metrics label reasons by them, so
    /// that table and field names never become label values).
    public enum Family: String, Hashable, Sendable, CaseIterable {
        /// The device's signature does not verify, or the device is not registered.
        case signature
        /// The HLC is too far ahead of the server's clock.
        case clock
        /// An unknown table or field, a wrong type, a malformed id or HLC.
        case schema
        /// A field value over the limit.
        case size
        /// The token's role or organisation may not make the change.
        case permission
        /// The record's state refuses the change: it exists, is deleted, missing, updated since,
        /// or its personal data is erased.
        case state
        /// A reference to nothing, or a delete of what others refer to.
        case reference
        /// Another record holds the value.
        case unique
        /// A schema constraint or a programme limit.
        case constraint
        /// A personal value whose commitment nothing opens.
        case commitment
        /// A reason this version does not know.
        case other
    }

    private enum Kind: String, Hashable, Sendable {
        case signature, clock, schema, exists, deleted, erased, missing, updated, referenced, unique, reference
        case check, limit, commitment
        case valueTooLarge = "value_too_large"
        case notPermitted = "not_permitted"

        var family: Family {
            switch self {
            case .signature: .signature
            case .clock: .clock
            case .schema: .schema
            case .valueTooLarge: .size
            case .notPermitted: .permission
            case .exists, .deleted, .erased, .missing, .updated: .state
            case .reference, .referenced: .reference
            case .unique: .unique
            case .check, .limit: .constraint
            case .commitment: .commitment
            }
        }
    }

    private let kind: Kind?
    /// The text as the wire and the history carry it.
    public let rawValue: String

    private init(_ kind: Kind, _ detail: String? = nil) {
        self.kind = kind
        rawValue = detail.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue
    }

    /// The reason `text` names, kept as sent.
    public init(rawValue text: String) {
        let head = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        kind = Kind(rawValue: String(head))
        rawValue = text
    }

    public static func == (left: RejectionReason, right: RejectionReason) -> Bool { left.rawValue == right.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    public var description: String { rawValue }

    /// The class of the reason.
    public var family: Family { kind?.family ?? .other }

    /// The field the reason is about (`email` of `unique:email`, `starts_on` of
    /// `schema:type:starts_on`), nil for reasons about the whole change.
    public var field: String? {
        guard kind != nil, let colon = rawValue.firstIndex(of: ":") else { return nil }
        let detail = rawValue[rawValue.index(after: colon)...]
        guard kind == .schema else { return String(detail) }
        // schema:field:NAME and schema:type:NAME name a field; schema:table and the like do not.
        let parts = detail.split(separator: ":", maxSplits: 1)
        return parts.count == 2 && (parts[0] == "field" || parts[0] == "type") ? String(parts[1]) : nil
    }

    // MARK: - The change is not what the schema says (`schema:…`)

    /// The table is not in the schema (or is not the record's).
    public static let unknownTable = RejectionReason(.schema, "table")
    /// The record id is not a UUID.
    public static let malformedRecordID = RejectionReason(.schema, "record_id")
    /// The change id is not a UUIDv7.
    public static let malformedChangeID = RejectionReason(.schema, "change_id")
    /// The HLC is malformed.
    public static let malformedHLC = RejectionReason(.schema, "hlc")
    /// An insert made on a version other than 0.
    public static let insertBaseVersion = RejectionReason(.schema, "base_version")
    /// A delete or erase that sets fields, or an erase of a table without personal fields.
    public static let unexpectedFields = RejectionReason(.schema, "fields")
    /// The table has no field `name`.
    public static func unknownField(_ name: String) -> RejectionReason { RejectionReason(.schema, "field:\(name)") }
    /// The value of `name` has the wrong type.
    public static func wrongType(_ name: String) -> RejectionReason { RejectionReason(.schema, "type:\(name)") }

    // MARK: - The change as a whole

    /// The signature does not verify, or the device is not registered.
    public static let signature = RejectionReason(.signature)
    /// The HLC is more than the allowed skew ahead of the server's clock.
    public static let clock = RejectionReason(.clock)
    /// A field value over the limit.
    public static let valueTooLarge = RejectionReason(.valueTooLarge)
    /// The token's role or organisation may not make the change.
    public static let notPermitted = RejectionReason(.notPermitted)

    // MARK: - The record's state

    /// An insert of a record that exists.
    public static let exists = RejectionReason(.exists)
    /// A change to a deleted record.
    public static let deleted = RejectionReason(.deleted)
    /// A change to a record whose personal data is erased.
    public static let erased = RejectionReason(.erased)
    /// An update or delete of a record the server does not hold.
    public static let missing = RejectionReason(.missing)
    /// A delete of a record updated since (delete rule `update_wins`).
    public static let updated = RejectionReason(.updated)
    /// A delete of a record others refer to.
    public static let referenced = RejectionReason(.referenced)

    // MARK: - A field

    /// A required field unset, or a rule across fields broken (`check:record` when no one field is to blame).
    public static func check(_ field: String) -> RejectionReason { RejectionReason(.check, field) }
    /// A programme limit broken (a constraint of kind `limit`).
    public static func limit(_ field: String) -> RejectionReason { RejectionReason(.limit, field) }
    /// A reference to no live record, or to one the author may not read.
    public static func reference(_ field: String) -> RejectionReason { RejectionReason(.reference, field) }
    /// A value a live record already holds.
    public static func unique(_ field: String) -> RejectionReason { RejectionReason(.unique, field) }
    /// A personal value whose commitment the push's values do not open.
    public static func commitment(_ field: String) -> RejectionReason { RejectionReason(.commitment, field) }
}
