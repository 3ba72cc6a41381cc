import GRDB
public import TandemProtocol

/// The schema in force, and installing the next version (the rules: ``SchemaWork``).
extension SQLiteServerStore {
    public func currentSchema() async throws -> Schema {
        try await read { _ in self.schema }
    }

    public func install(_ make: @escaping @Sendable (Merge) -> SchemaWork) async throws -> SchemaWork {
        try await write { db in try self.install(make(self.merge), db: db) }
    }

    /// Runs `work` in the transaction `db` and keeps the schema it installs in `server_meta`,
    /// where serving processes take it up at their next request.
    func install(_ work: SchemaWork, db: Database) throws -> SchemaWork {
        let done = try Self.perform(work, db: db)
        guard let installed = done.installed?.schema else { return done }
        if done.reindexesReferences { try Self.indexReferences(schema: installed, db: db) }
        try db.execute(
            sql: """
                INSERT INTO server_meta(key, value) VALUES ('schema', ?), ('schema_version', ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value
                """, arguments: [installed.json.serialized(), String(installed.version)])
        try refreshSchema(db)
        return done
    }
}
