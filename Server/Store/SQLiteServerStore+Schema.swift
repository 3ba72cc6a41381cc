import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    public func currentSchema() async throws -> Schema {
        try await read { _ in self.schema }
    }

    /// Installs `proposed` as the next version of the store's schema (`tandem-server schema
    /// apply`): checked against the version in force (``SchemaEvolution``: additive changes only),
    /// given the next version number, kept in `server_meta`, and logged as a server-signed
    /// `_schema` entry (``SchemaRegistry``). Serving processes take it up at their next request.
    ///
    /// - Returns: the schema installed (its version bumped) and the seq of its history entry.
    /// - Throws: ``ServerError`` `schema_refused` naming the first change that is not additive.
    public func applySchema(_ proposed: Schema, now: Int64) throws -> (schema: Schema, seq: Int64) {
        try writeSync { db in
            let installed = self.schema
            do throws(ProtocolError) {
                try SchemaEvolution.check(from: installed, to: proposed)
            } catch {
                throw ServerError(.unprocessable, "schema_refused", error.message)
            }
            var next = proposed
            next.version = installed.version + 1
            do throws(ProtocolError) {
                try next.validate()
            } catch {
                throw ServerError(.unprocessable, "schema_refused", error.message)
            }
            let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
            let change = self.serverSigned(
                SchemaRegistry.installation(of: next, changeID: UUIDv7Generator.id(at: clock), hlc: clock.description))
            let seq = try Self.appendLog(
                change, author: Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice),
                outcome: Outcome(status: .applied, version: Int64(next.version), applied: ["document", "version"]),
                now: now, serverKey: self.serverKey, db: db)
            try db.execute(
                sql: """
                    INSERT INTO server_meta(key, value) VALUES ('schema', ?), ('schema_version', ?)
                    ON CONFLICT(key) DO UPDATE SET value = excluded.value
                    """, arguments: [next.json.serialized(), String(next.version)])
            try self.refreshSchema(db)
            return (next, seq)
        }
    }
}
