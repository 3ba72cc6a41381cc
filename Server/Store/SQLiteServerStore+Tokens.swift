import GRDB
public import TandemProtocol

/// Token and conflict rows (the rules on them: ``Tokens``, ``StoreAdapter/conflicts(for:includeResolved:)``).
extension SQLiteServerStore {
    public func token(hash: String) async throws -> TokenLookup? {
        try await quickRead { db in try Self.token(hash: hash, db: db) }
    }

    /// The token row whose hash is `hash`, with its organisation's record (one statement).
    static func token(hash: String, db: Database) throws -> TokenLookup? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT t.id, t.role, t.organisation, t.created_at, t.revoked_at, t.personal, r.tbl, r.deleted
                    FROM token t LEFT JOIN record r ON r.id = t.organisation WHERE t.hash = ?
                    """),
            arguments: [hash]
        ).flatMap { row in
            Role(rawValue: row["role"]).map { role in
                TokenLookup(
                    row: TokenRow(
                        id: row["id"], hash: hash, role: role, organisation: row["organisation"],
                        createdAt: row["created_at"], revokedAt: row["revoked_at"], personal: row["personal"]),
                    organisationRecord: (row["tbl"] as String?).map { table in
                        TokenLookup.OrganisationRecord(table: table, isDeleted: row["deleted"])
                    })
            }
        }
    }

    public func addToken(_ row: TokenRow) async throws {
        try await write { db in try Self.insert(row, db: db) }
    }

    static func insert(_ row: TokenRow, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO token(id, hash, role, organisation, created_at, revoked_at, personal)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                row.id, row.hash, row.role.rawValue, row.organisation, row.createdAt, row.revokedAt, row.personal,
            ])
    }

    public func revokeToken(hash: String, at time: String) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE token SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL", arguments: [time, hash])
            return db.changesCount > 0
        }
    }

    /// None: a request reads the file (quickly, on its event loop's own connection).
    public var instanceCache: InstanceCacheStatus? { nil }

    public func openConflictCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM conflict WHERE status = 'open'") ?? 0 }
    }

    public func conflictRows(includeResolved: Bool) async throws -> [ConflictRow] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, tbl, record_id, field, incoming, status, seq FROM conflict"
                    + (includeResolved ? "" : " WHERE status = 'open'") + " ORDER BY seq, id"
            ).map { row in
                ConflictRow(
                    id: row["id"], table: row["tbl"], recordID: row["record_id"], field: row["field"],
                    incoming: try JSONValue.parse(row["incoming"] as String), seq: row["seq"],
                    isOpen: row["status"] == "open")
            }
        }
    }
}
