import Crypto
import Foundation
import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    public func authenticate(token: String) async throws -> Principal? {
        let hash = Self.hash(token)
        return try await read { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT id, role, organisation FROM token WHERE hash = ? AND revoked_at IS NULL"),
                    arguments: [hash])
            else { return nil }
            let organisation: String? = row["organisation"]
            if let organisation, try self.loadRecord(organisation, db: db).map({ !$0.isDeleted }) != true {
                return nil  // the organisation was removed: its tokens die with it
            }
            guard let role = Role(rawValue: row["role"]) else { return nil }
            return Principal(tokenID: row["id"], organisation: organisation, role: role)
        }
    }

    public func issueToken(role: Role, organisation: String?, now: Int64) async throws -> String {
        try await write { db in try self.issueToken(role: role, organisation: organisation, now: now, db: db) }
    }

    func issueToken(role: Role, organisation: String?, now: Int64, db: Database) throws -> String {
        guard role != .server else { throw ServerError(.badRequest, "bad_role", "no token can have the server role") }
        if role == .member {
            guard let organisation else {
                throw ServerError(.badRequest, "no_organisation", "a member token needs an organisation")
            }
            guard let record = try loadRecord(organisation, db: db),
                record.table == "organisation"
                    || schema.tables.contains(where: { $0.name == record.table && $0.owners == ["id"] }),
                !record.isDeleted
            else { throw ServerError(.notFound, "no_organisation", "no organisation \(organisation)") }
        }
        let token = Self.makeToken()
        try db.execute(
            sql: "INSERT INTO token(id, hash, role, organisation, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                UUIDv7Generator.id(at: HLC(milliseconds: now, counter: 0, device: "")), Self.hash(token), role.rawValue,
                role == .member ? organisation : nil, Self.timestamp(now),
            ])
        return token
    }

    public func revoke(token: String, now: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE token SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL",
                arguments: [Self.timestamp(now), Self.hash(token)])
            return db.changesCount > 0
        }
    }

    public func addOrganisation(name: String, sector: String, now: Int64) async throws -> (id: String, token: String) {
        guard let table = schema.tables.first(where: { $0.owners == ["id"] }) else {
            throw ServerError(.badRequest, "no_organisations", "this schema has no organisation table")
        }
        return try await write { db in
            let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
            let id = UUIDv7Generator.id(at: clock)
            var fields: [String: JSONValue] = ["name": .string(name)]
            if table.fields.contains(where: { $0.name == "sector" }) { fields["sector"] = .string(sector) }
            let change = Change(
                changeID: UUIDv7Generator.id(at: clock), table: table.name, recordID: id, op: .insert, fields: fields,
                baseVersion: 0, hlc: clock.description, device: DeviceRegistry.serverDevice)
            let server = Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice)
            guard let result = try self.receiveServerChange(change, by: server, now: now, db: db).results.first else {
                throw ServerError(.unavailable, "storage", "the organisation was not merged")
            }
            guard result.status == .applied else {
                throw ServerError(
                    .badRequest, "bad_organisation", "the organisation is refused: \(result.reason ?? "rejected")")
            }
            return (id, try self.issueToken(role: .member, organisation: id, now: now, db: db))
        }
    }

    /// A token: 192 random bits, hex, with a `tdm_` prefix so that it is recognisable in a leak scan.
    static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "tdm_" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Tokens are stored only as their SHA-256.
    static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
