// What a merge must write, counted in the store itself: the B-tree entries (table rows and
// index entries) an SQLite store holds, before and after a window of changes. With the raw
// floor's rate (one row = two B-tree entries: the table's and its primary key's) it gives the
// most changes a second the store could take if writing those entries were all it did — the
// ceiling its data model sets, whatever the merge costs.

import Foundation
import GRDB

/// The B-tree entries of an SQLite store at one moment, by table (its rows and their index entries).
struct StoreFootprint {
    /// Entries by table: its rows, plus one entry a row per index (a partial index counts the
    /// rows its `WHERE` holds).
    var entries: [String: Int]

    /// Counts the entries of the store file at `path` (read only; the store may stay open).
    init(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        entries = try queue.read { db in
            var rows: [String: Int] = [:]
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            for table in tables {
                rows[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.quotedDatabaseIdentifier)") ?? 0
            }
            var entries = rows
            // Every index, the primary keys' own (`sqlite_autoindex_…`, no SQL) included.
            let indexes = try Row.fetchAll(
                db, sql: "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name NOT LIKE 'sqlite_%'"
            )
            for index in indexes {
                let table: String = index["tbl_name"]
                let sql: String? = index["sql"]
                // A partial index holds the rows its condition holds; any other, every row.
                guard
                    let condition = sql.flatMap({ text in
                        text.range(of: " WHERE ", options: .caseInsensitive).map { String(text[$0.upperBound...]) }
                    })
                else {
                    entries[table, default: 0] += rows[table] ?? 0
                    continue
                }
                entries[table, default: 0] +=
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM \(table.quotedDatabaseIdentifier) WHERE \(condition)") ?? 0
            }
            return entries
        }
    }

    /// The entries added since `earlier`, by table (tables that gained none left out).
    func added(since earlier: StoreFootprint) -> [String: Int] {
        entries.reduce(into: [:]) { added, pair in
            let gained = pair.value - (earlier.entries[pair.key] ?? 0)
            if gained != 0 { added[pair.key] = gained }
        }
    }
}
