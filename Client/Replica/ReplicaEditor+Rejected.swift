import GRDB
public import TandemProtocol

extension ReplicaEditor {
    /// Queues a change the server refused again, as a new edit of the record as it now stands:
    /// the fields it tried to set, with `overrides` laid over them, validated as `set` (or `add`)
    /// validates them. A refused insert becomes a new insert with a new id, unless the record
    /// exists (then an update); a refused update needs its record; a refused delete deletes it
    /// again (and takes no overrides). The refused change is forgotten in the same transaction.
    /// No network is needed (`tandem retry CHANGE_ID [field=value …]`).
    ///
    /// - Parameter changeID: the refused change's id, or a unique prefix of 4 characters or more.
    /// - Returns: the refusal retried, and the record as the new edit leaves it (nil after a delete).
    /// - Throws: `notFound` (no such refused change; its record is gone), `usage` (a prefix too
    ///   short or ambiguous; overrides on a delete), `invalidData` (a bad value), `notPermitted`.
    ///   Nothing is written.
    public func retryRejected(
        _ changeID: String, overriding overrides: [Assignment] = []
    ) throws(ReplicaError) -> (rejection: Rejection, record: Record?) {
        try write { db in
            let rejection = try Self.rejection(matching: changeID, db: db)
            let table = try schema.table(named: rejection.table)
            let editor = try Self.editor(in: db)
            try Self.refuseAuditor(editor, table: table, id: rejection.recordID)
            var values: [String: FieldValue] = [:]
            for (name, json) in rejection.fields {
                let field = try table.field(named: name)
                values[name] = try FieldValue(json: json, for: field, in: table.name)
            }
            values.merge(try parse(overrides, for: table, db: db, resolvingPrefixes: true)) { _, new in new }
            let exists = try replica.fetchRecord(rejection.recordID, in: table, db: db) != nil
            let record: Record?
            switch rejection.op {
            case .delete?:
                guard overrides.isEmpty else {
                    throw ReplicaError(.usage, "change \(rejection.changeID) deletes a record: it takes no field=value")
                }
                guard exists else { throw Self.gone(rejection) }
                try delete(rejection.recordID, from: table, editor: editor, db: db)
                record = nil
            case .insert? where !exists:
                var clock = try replica.editClock(in: db)
                var references = ReferenceCache()
                record = try insert(
                    values, into: table, editor: editor, clock: &clock, references: &references, db: db)
                try Setting.hlc.write(clock.hlc.description, in: db)
            default:
                guard exists else { throw Self.gone(rejection) }
                record = try update(rejection.recordID, in: table, setting: values, editor: editor, db: db)
            }
            try db.execute(sql: "DELETE FROM tandem_rejected WHERE change_id = ?", arguments: [rejection.changeID])
            return (rejection, record)
        }
    }

    /// Forgets a change the server refused (`tandem dismiss CHANGE_ID`); no network is needed.
    ///
    /// - Returns: the refusal forgotten.
    /// - Throws: `notFound` (no such refused change), `usage` (a prefix too short or ambiguous).
    @discardableResult
    public func dismissRejected(_ changeID: String) throws(ReplicaError) -> Rejection {
        try write { db in
            let rejection = try Self.rejection(matching: changeID, db: db)
            try db.execute(sql: "DELETE FROM tandem_rejected WHERE change_id = ?", arguments: [rejection.changeID])
            return rejection
        }
    }

    /// The refused change `text` names: its whole id or a unique prefix.
    static func rejection(matching text: String, db: Database) throws -> Rejection {
        let id = try Replica.resolve(text, label: "refused changes", noun: "change") { prefix, end in
            try String.fetchAll(
                db, sql: "SELECT change_id FROM tandem_rejected WHERE change_id >= ? AND change_id < ? LIMIT 3",
                arguments: [prefix, end])
        }
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT \(Rejection.columns) FROM tandem_rejected WHERE change_id = ?", arguments: [id])
        else { throw ReplicaError(.notFound, "refused changes: no change with id \(text)") }
        return Rejection(row: row)
    }

    private static func gone(_ rejection: Rejection) -> ReplicaError {
        ReplicaError(
            .notFound,
            "\(rejection.table): no record with id \(rejection.recordID) any more (refused: \(rejection.reason)); "
                + "tandem dismiss \(rejection.changeID) forgets the change")
    }
}
