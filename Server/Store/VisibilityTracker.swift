import GRDB
import TandemProtocol

/// Keeps the store's record of who may read what (docs/visibility.md): `visibility` holds, for
/// each record of a restricted table (``Visibility/isRestricted(_:)``), the organisations whose
/// members may read it; `visibility_marker` holds, per organisation, the seqs at which a record
/// came into its sight (`arrival`) or went out of it (`departure`), so that its next pull brings
/// the record whole or takes it away.
///
/// The rule itself is ``Visibility`` (pure, in TandemProtocol). A push keeps the tables up to date
/// through the core (``PushBatch``, with counted grants); this works them out from the store's
/// records for a store made before them (migrations `v2` and `v4-grants`).
struct VisibilityTracker {
    let schema: Schema

    /// Fills `visibility` for every record, with no markers (a store made before visibility).
    func rebuild(db: Database) throws {
        // Records that grant sight first: a personal record's readers are read from theirs.
        for personal in [false, true] {
            for id in try String.fetchAll(db, sql: "SELECT id FROM record ORDER BY id") {
                guard let record = try SQLiteServerStore.loadRecord(id, db: db),
                    let table = try? schema.table(named: record.table), Visibility.isRestricted(table),
                    table.isPersonal == personal
                else { continue }
                try update(record, table: table, seq: nil, marksArrivals: false, db: db)
            }
        }
    }

    /// Withdraws the grants of every live record of a table that grants sight and breaks one of
    /// its constraints (a store made before the constraint), recording it in `withdrawn_grant`;
    /// the personal records it referred to lose those readers, with departures marked at the
    /// next seq (the first entry written after this carries them to the replicas).
    func withdrawGrantsBreakingConstraints(db: Database) throws {
        let next = (try Int64.fetchOne(db, sql: "SELECT max(seq) FROM log") ?? 0) + 1
        let context = BatchContext()
        for table in schema.tables where Visibility.grantsSight(table) {
            // Only the rules about the references that grant sight (an exchange's person): an
            // exchange outside its round's dates still rightly shows its person to its host.
            let granting = Set(
                table.fields.filter { field in
                    field.type == .ref && schema.tables.contains { $0.name == field.references && $0.isPersonal }
                }.map(\.name))
            let rules = table.constraints.filter { $0.paths.contains { granting.contains($0.field) } }
            guard !rules.isEmpty else { continue }
            let ids = try String.fetchAll(
                db, sql: "SELECT id FROM record WHERE tbl = ? AND deleted = 0 ORDER BY id", arguments: [table.name])
            for id in ids {
                guard let record = try SQLiteServerStore.loadRecord(id, db: db) else { continue }
                let breaks = try SQLiteServerStore.answer(
                    { context in
                        rules.contains {
                            !$0.isSatisfied(
                                by: record.values, before: record.values, id: id, in: table, context: context)
                        }
                    }, context: context, db: db)
                guard breaks else { continue }
                try db.execute(
                    sql: "INSERT OR IGNORE INTO withdrawn_grant(record_id, seq) VALUES (?, ?)", arguments: [id, next])
                for granted in Visibility.grantedRecords(in: schema, table: table, values: record.values) {
                    guard let person = try SQLiteServerStore.loadRecord(granted.id, db: db),
                        let personTable = try? schema.table(named: person.table)
                    else { continue }
                    try update(person, table: personTable, seq: next, marksArrivals: true, db: db)
                }
            }
        }
    }

    /// Stores the record's readers as they are now, and marks who gained or lost sight at `seq`.
    private func update(_ record: RecordState, table: TableSchema, seq: Int64?, marksArrivals: Bool, db: Database)
        throws
    {
        let readers = try readers(of: record, table: table, db: db) ?? []
        let stored = Set(
            try String.fetchAll(
                db.cachedStatement(sql: "SELECT organisation FROM visibility WHERE record_id = ?"),
                arguments: [record.id]))
        for organisation in readers.subtracting(stored).sorted() {
            try db.cachedStatement(sql: "INSERT INTO visibility(record_id, organisation) VALUES (?, ?)")
                .execute(arguments: [record.id, organisation])
            if marksArrivals, let seq { try mark(.arrival, record.id, for: organisation, seq: seq, db: db) }
        }
        for organisation in stored.subtracting(readers).sorted() {
            try db.cachedStatement(sql: "DELETE FROM visibility WHERE record_id = ? AND organisation = ?")
                .execute(arguments: [record.id, organisation])
            if let seq { try mark(.departure, record.id, for: organisation, seq: seq, db: db) }
        }
    }

    /// Who may read the record now: ``Visibility/readers(of:id:values:granted:)`` with, for a
    /// live personal record, the owners of the live records that grant sight of it.
    private func readers(of record: RecordState, table: TableSchema, db: Database) throws -> Set<String>? {
        var granted = Set<String>()
        if table.isPersonal, !record.isDeleted, let sql = grantorsSQL(for: table) {
            // The owners of the live records that grant sight of this one are their own readers,
            // already in `visibility`: one indexed join, no record decoded.
            granted = Set(try String.fetchAll(db.cachedStatement(sql: sql), arguments: [record.id]))
        }
        return Visibility.readers(of: table, id: record.id, values: record.values, granted: granted)
    }

    /// The organisations granted sight of a record of the personal `table` (`?`: its id) through
    /// the live records referring to it from fields that grant sight; nil when no field does.
    private func grantorsSQL(for table: TableSchema) -> String? {
        let grants = schema.tables.filter(Visibility.grantsSight).flatMap { grantor in
            grantor.fields.filter { $0.type == .ref && $0.references == table.name }.map { (grantor.name, $0.name) }
        }
        guard !grants.isEmpty else { return nil }
        let pairs = grants.map { "(g.tbl = '\($0.0)' AND r.field = '\($0.1)')" }.joined(separator: " OR ")
        return """
            SELECT DISTINCT v.organisation FROM reference r
            JOIN record g ON g.id = r.source AND g.deleted = 0
            JOIN visibility v ON v.record_id = r.source
            WHERE r.target = ? AND (\(pairs))
                AND NOT EXISTS (SELECT 1 FROM withdrawn_grant w WHERE w.record_id = r.source)
            """
    }

    private func mark(_ kind: MarkerRow.Kind, _ recordID: String, for organisation: String, seq: Int64, db: Database)
        throws
    {
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO visibility_marker(organisation, seq, record_id, kind) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [organisation, seq, recordID, kind.rawValue])
    }
}

extension Schema {
    /// The schema without its constraints and limits: what a store made before them held.
    var withoutRules: Schema {
        var schema = self
        for index in schema.tables.indices { schema.tables[index].constraints = [] }
        schema.limits = .standard
        return schema
    }
}

extension SQLiteServerStore {
    /// The tables every token reads whole, as a JSON array for `IN (SELECT value FROM json_each(?))`.
    var openTablesJSON: String {
        JSONValue.array(schema.tables.filter { !Visibility.isRestricted($0) }.map { .string($0.name) }).serialized()
    }

    /// The bundled schema's table visibility, when `schema` is the bundled partnership schema from
    /// before visibility existed (store migration `v2` adopts it in place); nil otherwise.
    static func addingBundledVisibility(to schema: Schema) -> Schema? {
        var candidate = schema
        for index in candidate.tables.indices {
            guard let bundled = Schema.partnership.tables.first(where: { $0.name == candidate.tables[index].name })
            else { return nil }
            candidate.tables[index].visibility = bundled.visibility
        }
        return candidate.withoutRules == Schema.partnership.withoutRules && candidate != schema ? candidate : nil
    }

    /// The bundled schema's constraints and limits, when `schema` is the bundled partnership schema
    /// from before they existed (a store made before: installed as its next version when it
    /// opens, a `_schema` entry like any `schema apply`); nil otherwise.
    static func addingBundledConstraints(to schema: Schema) -> Schema? {
        var candidate = schema
        candidate.version = Schema.partnership.version
        for index in candidate.tables.indices {
            guard let bundled = Schema.partnership.tables.first(where: { $0.name == candidate.tables[index].name })
            else { return nil }
            candidate.tables[index].constraints = bundled.constraints
        }
        candidate.limits = Schema.partnership.limits
        guard candidate == .partnership, candidate.tables != schema.tables || candidate.limits != schema.limits
        else { return nil }
        candidate.version = schema.version
        return candidate
    }
}

extension SQLiteServerStore {
    public func withdrawnGrants() async throws -> [WithdrawnGrant] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT r.tbl, w.record_id, w.seq FROM withdrawn_grant w JOIN record r ON r.id = w.record_id
                    ORDER BY w.seq, w.record_id
                    """
            ).map { WithdrawnGrant(table: $0["tbl"], recordID: $0["record_id"], seq: $0["seq"]) }
        }
    }
}
