import GRDB
import TandemProtocol

/// Personal data in the replica (SPEC §8, docs/sync.md "Personal data"): the changes this replica
/// signs commit to each personal value (``Change/sealed(personal:salts:)``), and the openings —
/// value and salt — are kept beside the history in `tandem_personal_value` (migration
/// `v6-personal`), by record, so that an erasure can delete them all.
extension Replica {
    /// The salts of this replica's commitments, derived from its device key: the same change
    /// sealed again (a push retried, a bundle written twice) gets the same bytes.
    func saltKey() throws(ReplicaError) -> SaltKey { SaltKey(try deviceKey()) }

    /// `changes` as they are signed and pushed: each personal value replaced by its commitment,
    /// with the openings made, by change.
    func sealed(_ changes: [Change], salts: SaltKey) -> (changes: [Change], openings: [[Opening]]) {
        let schema = self.schema
        var sealed: [Change] = []
        var openings: [[Opening]] = []
        sealed.reserveCapacity(changes.count)
        openings.reserveCapacity(changes.count)
        // Each table's personal fields once a batch, not once a change.
        var personalFields: [String: Set<String>] = [:]
        for change in changes {
            let personal = personalFields[change.table] ?? schema.personalFields(of: change.table)
            personalFields[change.table] = personal
            let result = change.sealed(personal: personal, salts: salts)
            sealed.append(result.change)
            openings.append(result.openings)
        }
        return (sealed, openings)
    }

    /// Whether `change` holds a personal value in plain (a change signed before personal data was
    /// committed to): the server refuses a whole push that holds one (`plain_personal_value`), so
    /// such a change is never sent as it is.
    func holdsPlainPersonalValue(_ change: Change) -> Bool {
        if case .failure(.plain) = change.opened(Openings(), personal: schema.personalFields(of: change.table)) {
            return true
        }
        return false
    }

    /// Keeps `openings` of `change`'s commitments under its record (in a transaction of its own).
    func keepOpenings(_ openings: [Opening], of change: Change) throws(ReplicaError) {
        guard !openings.isEmpty else { return }
        try write { db in try Self.keep(openings, table: change.table, recordID: change.recordID, db: db) }
    }

    /// Keeps `openings` of record `recordID` of `table` (one already kept is left as it is).
    static func keep(_ openings: some Sequence<Opening>, table: String, recordID: String, db: Database) throws {
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO tandem_personal_value(commitment, tbl, record_id, salt, value)
                VALUES (?, ?, ?, ?, ?)
                """)
        for opening in openings {
            guard let commitment = opening.commitment else { continue }
            try insert.execute(arguments: [commitment, table, recordID, opening.salt, opening.value.serialized()])
        }
    }

    /// Keeps the openings among `values` of the commitments `change` (and its outcome, when
    /// given) holds, under the change's record: what a pull page, a bundle or a push brings.
    static func keep(
        _ values: Openings, of change: (table: String, recordID: String), holding commitments: [String], db: Database
    ) throws {
        guard !values.isEmpty, !commitments.isEmpty else { return }
        let openings = commitments.compactMap { values.value(of: $0) == nil ? nil : values[$0] }
        try keep(openings, table: change.table, recordID: change.recordID, db: db)
    }

    /// The openings kept of the commitments `changes` hold: what a push of changes sealed before
    /// (carried from a bundle, handed back to a server that lost them) sends beside them.
    func openings(for changes: [Change]) throws(ReplicaError) -> Openings {
        let commitments = changes.flatMap { Sealing.commitments(in: .object($0.fields.map { JSONMember($0, $1) })) }
        guard !commitments.isEmpty else { return Openings() }
        return try read { db in try Self.openings(of: commitments, db: db) }
    }

    /// The openings kept (by the replica or its audit store) of `commitments`.
    static func openings(of commitments: [String], db: Database) throws -> Openings {
        guard !commitments.isEmpty else { return Openings() }
        let list = JSONValue.array(Set(commitments).map(JSONValue.string)).serialized()
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT salt, value FROM tandem_personal_value WHERE commitment IN (SELECT value FROM json_each(?1))
                UNION ALL
                SELECT salt, value FROM tandem_audit_value WHERE commitment IN (SELECT value FROM json_each(?1))
                """, arguments: [list])
        return Openings(rows.compactMap(opening))
    }

    /// Every opening kept (by the replica or its audit store) of record `recordID`.
    static func openings(ofRecord recordID: String, db: Database) throws -> Openings {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT salt, value FROM tandem_personal_value WHERE record_id = ?1
                UNION ALL
                SELECT salt, value FROM tandem_audit_value WHERE record_id = ?1
                """, arguments: [recordID])
        return Openings(rows.compactMap(opening))
    }

    private static func opening(_ row: Row) -> Opening? {
        guard let value = try? JSONValue.parse(row["value"] as String) else { return nil }
        return Opening(salt: row["salt"], value: value)
    }

    /// `value` with every commitment in it replaced by the value `openings` give it, or null
    /// when none does (erased, or never shown to this replica): what replay and `history` read.
    static func opened(_ value: JSONValue, with openings: Openings) -> JSONValue {
        if Commitment.hex(in: value) != nil { return Sealing.open(value, with: openings) ?? .null }
        switch value {
        case let .object(members):
            return .object(members.map { JSONMember($0.key, opened($0.value, with: openings)) })
        case let .array(items): return .array(items.map { opened($0, with: openings) })
        default: return value
        }
    }
}
