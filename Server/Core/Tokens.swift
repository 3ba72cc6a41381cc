import Crypto
public import TandemProtocol

/// A token as a store keeps it: never the token, only its SHA-256 (``Tokens/hash(_:)``).
public struct TokenRow: Hashable, Sendable {
    /// The token's own id: what logs and revocation name.
    public var id: String
    public var hash: String
    public var role: Role
    public var organisation: String?
    public var createdAt: String
    /// When it was revoked (RFC 3339); nil while it is active.
    public var revokedAt: String?
    /// An auditor's token issued with `--personal`: it receives personal values (SPEC §8).
    public var personal: Bool

    public init(
        id: String, hash: String, role: Role, organisation: String?, createdAt: String, revokedAt: String? = nil,
        personal: Bool = false
    ) {
        self.id = id
        self.hash = hash
        self.role = role
        self.organisation = organisation
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.personal = personal
    }
}

/// A token row as ``StoreAdapter/token(hash:)`` finds it, with what authentication asks of its
/// organisation, read with it: the record the row's organisation names (nil when the row names
/// none, or no record has that id).
public struct TokenLookup: Hashable, Sendable {
    /// The organisation's record as the store holds it: its table and whether it is deleted.
    public struct OrganisationRecord: Hashable, Sendable {
        public var table: String
        public var isDeleted: Bool

        public init(table: String, isDeleted: Bool) {
            self.table = table
            self.isDeleted = isDeleted
        }
    }

    public var row: TokenRow
    public var organisationRecord: OrganisationRecord?

    public init(row: TokenRow, organisationRecord: OrganisationRecord?) {
        self.row = row
        self.organisationRecord = organisationRecord
    }

    /// The principal the token stands for; nil when it is revoked, or its organisation was
    /// removed (its tokens die with it).
    public var principal: Principal? {
        guard row.revokedAt == nil else { return nil }
        if row.organisation != nil {
            guard let record = organisationRecord, !record.isDeleted else { return nil }
        }
        return Principal(
            tokenID: row.id, organisation: row.organisation, role: row.role,
            seesPersonalValues: row.role != .auditor || row.personal)
    }
}

/// How tokens are made and kept (SPEC §4): 192 random bits, shown once, stored as a hash.
public enum Tokens {
    /// A token: 192 random bits, hex, with a `tdm_` prefix so that it is recognisable in a leak scan.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "tdm_" + hex(bytes)
    }

    /// What a store keeps of a token: its SHA-256, hex.
    public static func hash(_ token: String) -> String { hex(Array(SHA256.hash(data: Array(token.utf8)))) }

    /// The row of a new token `token` of `role` (for `organisation` when a member's) made at `now`.
    public static func row(for token: String, role: Role, organisation: String?, personal: Bool = false, now: Int64)
        -> TokenRow
    {
        TokenRow(
            id: UUIDv7Generator.id(at: HLC(milliseconds: now, counter: 0, device: "")), hash: hash(token), role: role,
            organisation: role == .member ? organisation : nil, createdAt: Timestamp.string(milliseconds: now),
            personal: personal)
    }

    /// Lowercase hex (every request hashes its token: no string per byte).
    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            for (index, byte) in bytes.enumerated() {
                buffer[2 * index] = digits[Int(byte >> 4)]
                buffer[2 * index + 1] = digits[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }
}

extension StoreAdapter {
    /// The principal `token` stands for; nil when it is unknown or revoked, or its organisation
    /// was removed (its tokens die with it): one read (``TokenLookup/principal``).
    public func authenticate(token: String) async throws -> Principal? {
        try await self.token(hash: Tokens.hash(token))?.principal
    }

    /// A new token of `role`; a member's needs an organisation that exists — a live record of the
    /// `organisation` table, or of a table whose owner is the record itself.
    ///
    /// - Throws: ``ServerError`` `bad_role` (the server's role), `no_organisation` (a member
    ///   token without one, or with one that does not exist).
    public func issueToken(role: Role, organisation: String?, now: Int64) async throws -> String {
        try await issueToken(role: role, organisation: organisation, seesPersonalValues: false, now: now)
    }

    /// ``issueToken(role:organisation:now:)``; `seesPersonalValues`: an auditor's token that
    /// receives personal values (`--personal`; members and coordinators always do).
    public func issueToken(role: Role, organisation: String?, seesPersonalValues: Bool, now: Int64) async throws
        -> String
    {
        guard role != .server else { throw ServerError(.badRole, "no token can have the server role") }
        if role == .member {
            guard let organisation else {
                throw ServerError(.noOrganisation, "a member token needs an organisation")
            }
            let schema = try await currentSchema()
            var request = FactRequest()
            request.records = [organisation]
            guard case let .some(.some(record)) = try await facts(for: request).records[organisation],
                record.table == "organisation"
                    || schema.tables.contains(where: { $0.name == record.table && $0.owners == ["id"] }),
                !record.isDeleted
            else { throw ServerError(.noOrganisation, "no organisation \(organisation)") }
        }
        let token = Tokens.make()
        try await addToken(
            Tokens.row(
                for: token, role: role, organisation: organisation, personal: role == .auditor && seesPersonalValues,
                now: now))
        return token
    }

    /// Revokes `token` at once. Returns false when no such token is active.
    public func revoke(token: String, now: Int64) async throws -> Bool {
        try await revokeToken(hash: Tokens.hash(token), at: Timestamp.string(milliseconds: now))
    }
}
