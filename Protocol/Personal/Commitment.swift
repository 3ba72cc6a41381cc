import Crypto

/// Personal data kept out of the history (SPEC §8, docs/audit.md "Personal data"): in a change
/// as signed and logged, a personal field's value is replaced by a salted commitment,
/// `{"commitment": HEX}`, where HEX is the lowercase hex SHA-256 of the salt's 16 bytes followed
/// by the RFC 8785 bytes of the value. The value and its salt (an ``Opening``) travel beside the
/// entry, to whoever may see them, and can be deleted without changing a hash or a signature.
///
/// ```swift
/// let opening = Opening(salt: salts.salt(changeID: id, field: "full_name"), value: .string("Ana Ruiz"))
/// Commitment.json(opening.commitment)  // {"commitment": "3f1c…"}
/// Commitment.hex(in: Commitment.json(opening.commitment)) == opening.commitment  // true
/// ```
public enum Commitment {
    /// The one member of a commitment object.
    public static let member = "commitment"

    /// `{"commitment": hex}`.
    public static func json(_ hex: String) -> JSONValue { .object([JSONMember(member, .string(hex))]) }

    /// The commitment's hex when `value` is a commitment object (`{"commitment": HEX}` and nothing
    /// else, HEX 64 lowercase hex digits); nil for any other value. No field type holds objects,
    /// so a value is never mistaken for a commitment.
    public static func hex(in value: JSONValue) -> String? {
        guard case let .object(members) = value, members.count == 1, members[0].key == member,
            case let .string(hex) = members[0].value, CheckpointQuery.isHash(hex)
        else { return nil }
        return hex
    }

    /// SHA-256 of `salt`'s bytes ‖ the RFC 8785 bytes of `value`, in lowercase hex; nil when the
    /// salt is not 32 lowercase hex digits.
    public static func of(_ value: JSONValue, salt: String) -> String? {
        guard salt.utf8.count == Opening.saltHexLength, let bytes = Digest.bytes(hex: salt) else { return nil }
        var hasher = SHA256()
        hasher.update(data: bytes)
        hasher.update(data: value.canonicalBytes())
        return Digest.hex(hasher.finalize())
    }
}

/// A personal value and the salt of its commitment: `{"salt": HEX, "value": V}`.
public struct Opening: Hashable, Sendable {
    /// A salt is 16 bytes, written as 32 lowercase hex digits.
    public static let saltHexLength = 32

    public var salt: String
    public var value: JSONValue

    public init(salt: String, value: JSONValue) {
        self.salt = salt
        self.value = value
    }

    /// The commitment this opening opens (nil when the salt is malformed).
    public var commitment: String? { Commitment.of(value, salt: salt) }

    public var json: JSONValue { .object([JSONMember("salt", .string(salt)), JSONMember("value", value)]) }

    public init(json: JSONValue, path: String = "opening") throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: path) { ProtocolError(.invalidJSON, $0) }
        salt = try object.string("salt")
        value = try object.value("value")
        guard salt.utf8.count == Self.saltHexLength, Digest.bytes(hex: salt) != nil else {
            throw ProtocolError(.invalidJSON, "\(path).salt: expected 32 lowercase hex digits")
        }
    }
}

/// Openings by the commitment each opens: the `"values"` member that travels beside changes (a
/// push), entries (a pull page, a history line) and bundles — `{HEX: {"salt", "value"}, …}`.
/// Reading keeps every opening given; ``value(of:)`` answers only for one that matches its
/// commitment, so a tampered value or a swapped salt opens nothing.
public struct Openings: Hashable, Sendable {
    public private(set) var byCommitment: [String: Opening]

    public init(_ byCommitment: [String: Opening] = [:]) { self.byCommitment = byCommitment }

    /// The openings of `list`, each under its own commitment.
    public init(_ list: [Opening]) {
        var byCommitment: [String: Opening] = [:]
        for opening in list { if let commitment = opening.commitment { byCommitment[commitment] = opening } }
        self.byCommitment = byCommitment
    }

    public var isEmpty: Bool { byCommitment.isEmpty }
    public var count: Int { byCommitment.count }

    /// The opening kept under `commitment`, whether or not it matches.
    public subscript(commitment: String) -> Opening? {
        get { byCommitment[commitment] }
        set { byCommitment[commitment] = newValue }
    }

    /// The value `commitment` commits to, when an opening of it is held and matches.
    public func value(of commitment: String) -> JSONValue? {
        guard let opening = byCommitment[commitment], opening.commitment == commitment else { return nil }
        return opening.value
    }

    /// The commitments held whose opening does not match (a tampered value, a swapped salt).
    public var mismatched: [String] {
        byCommitment.filter { $0.value.commitment != $0.key }.map(\.key).sorted()
    }

    public mutating func formUnion(_ other: Openings) {
        byCommitment.merge(other.byCommitment) { mine, _ in mine }
    }

    /// Only the openings of `commitments`.
    public func restricted(to commitments: some Sequence<String>) -> Openings {
        var kept: [String: Opening] = [:]
        for commitment in commitments { if let opening = byCommitment[commitment] { kept[commitment] = opening } }
        return Openings(kept)
    }

    /// `{HEX: {"salt", "value"}}`, commitments in order.
    public var json: JSONValue {
        .object(byCommitment.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value.json) })
    }

    public init(json: JSONValue, path: String = "values") throws(ProtocolError) {
        guard case let .object(members) = json else {
            throw ProtocolError(.invalidJSON, "\(path): expected an object of openings")
        }
        var byCommitment: [String: Opening] = [:]
        for member in members {
            guard CheckpointQuery.isHash(member.key) else {
                throw ProtocolError(.invalidJSON, "\(path): \(member.key.prefix(80)) is not a commitment")
            }
            byCommitment[member.key] = try Opening(json: member.value, path: "\(path).\(member.key.prefix(16))")
        }
        self.byCommitment = byCommitment
    }
}

/// The salts a device (or the server) gives its personal values: 16 bytes of HMAC-SHA256, keyed
/// by a key derived from its signing key, over the change id and the field (and what the value
/// is, for the server's own commitments in an outcome). Nobody without the signing key can
/// predict a salt, so a commitment to a short value (a phone number) cannot be found by trying
/// values; and the same change sealed again — a push retried — gets the same bytes and the
/// same signature.
public struct SaltKey: Sendable {
    private let key: SymmetricKey

    public init(_ signingKey: SigningKey) {
        var hasher = SHA256()
        hasher.update(data: Array("tandem personal-value salts v1".utf8))
        hasher.update(data: signingKey.rawPrivateKey)
        key = SymmetricKey(data: Array(hasher.finalize()))
    }

    /// The salt of `field`'s value in change `changeID` (`purpose` tells apart the values one
    /// entry commits to: `value` for the change's own, `kept` and `lost` for an outcome's).
    public func salt(changeID: String, field: String, purpose: String = "value") -> String {
        var message = Array(changeID.utf8)
        message.append(0)
        message += Array(field.utf8)
        message.append(0)
        message += Array(purpose.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return Digest.hex(Array(code).prefix(Opening.saltHexLength / 2))
    }
}
