import TandemProtocol

/// What kind of reason a push result carries, as `tandem_push_results_total` labels it: a
/// handful of values whatever the schema, so that table and field names (`unique:email`) and
/// ids never become label values.
///
/// ```swift
/// PushReasonClass(reason: "reference:organisation")  // .reference
/// PushReasonClass(reason: nil)                        // .none
/// ```
enum PushReasonClass: String, CaseIterable, Hashable, Sendable {
    /// No reason: applied, merged, conflict.
    case none
    /// `signature`: the device's signature does not verify, or the device is not registered.
    case signature
    /// `clock`: the HLC is too far ahead of the server's clock.
    case clock
    /// `schema:…`: an unknown table or field, a wrong type, a malformed id or HLC.
    case schema
    /// `value_too_large`: a field value over the limit.
    case size
    /// `not_permitted`: the token's role or organisation may not make the change.
    case permission
    /// `exists`, `deleted`, `missing`, `updated`: the record's state refuses the change.
    case state
    /// `reference:…` (a reference to nothing) and `referenced` (deleting what others refer to).
    case reference
    /// `unique:…`: another record holds the value.
    case unique
    /// `check:…`, `limit:…`: a schema constraint or a programme limit.
    case constraint
    /// A reason none of the above names (one added after this list).
    case other

    /// The class of `reason` (a push result's, or an outcome's).
    init(reason: String?) {
        guard let reason else {
            self = .none
            return
        }
        let head = reason.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch head {
        case "signature": self = .signature
        case "clock": self = .clock
        case "schema": self = .schema
        case Substring(ChangeLimits.valueTooLarge): self = .size
        case "not_permitted": self = .permission
        case "exists", "deleted", "missing", "updated": self = .state
        case "reference", "referenced": self = .reference
        case "unique": self = .unique
        case "check", "limit": self = .constraint
        default: self = .other
        }
    }
}
