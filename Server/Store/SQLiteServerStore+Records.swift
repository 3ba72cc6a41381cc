import GRDB
import TandemProtocol

/// Reading and writing records, with the bookkeeping the merge asks about.
extension SQLiteServerStore {
    func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        try Self.loadRecord(id, db: db)
    }

    static func loadRecord(_ id: String, db: Database) throws -> RecordState? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM record WHERE id = ?"), arguments: [id]).map(record)
    }

    /// A record from its row (`SELECT *`: a store that migration `v5-core` has not reached yet
    /// has no `values_json`).
    static func record(_ row: Row) throws -> RecordState {
        RecordState(
            table: row["tbl"], id: row["id"], version: row["version"], isDeleted: row["deleted"],
            isErased: RecordForm.isErased(state: row["state"]),
            fields: try RecordForm.decode(state: row["state"], values: row["values_json"]))
    }

    /// The columns ``currentRecord(_:)`` reads, in its order.
    static let recordColumns = "id, tbl, version, deleted, state, values_json"

    /// A record from a row of ``recordColumns`` (a store `v5-core` has reached), read by position.
    static func currentRecord(_ row: Row) throws -> RecordState {
        RecordState(
            table: row[1], id: row[0], version: row[2], isDeleted: row[3], isErased: RecordForm.isErased(state: row[4]),
            fields: try RecordForm.decode(state: row[4], values: row[5]))
    }

    /// Asks `question` of `context`, fetching from `db` what it misses until it misses nothing:
    /// the core's facts one question at a time, for migrations that check records one by one.
    static func answer<T>(_ question: (BatchContext) -> T, context: BatchContext, db: Database) throws -> T {
        while true {
            context.missing = FactRequest()
            let answer = question(context)
            if context.missing.isEmpty { return answer }
            context.supply(try facts(for: context.missing, db: db))
        }
    }
}
