import GRDB
import TandemClient
import TandemProtocol

/// A replica in memory with a round, three organisations and two persons.
struct Fixture {
    let replica: Replica
    let round: String
    let ministry: String
    let company: String
    let ngo: String
    let ana: String
    let marko: String

    init(clock: ReplicaClock = .system) throws {
        replica = try Replica.create(in: try DatabaseQueue(), clock: clock)
        round = try replica.editor.insert(into: "round", [Assignment("number", "5"), Assignment("status", "open")]).id
        ministry = try replica.editor.insert(
            into: "organisation", [.init("name", "Ministry"), .init("sector", "public")]
        ).id
        company = try replica.editor.insert(
            into: "organisation",
            [.init("name", "Kovina"), .init("sector", "private"), .init("registration_id", "SI-1")]
        ).id
        ngo = try replica.editor.insert(into: "organisation", [.init("name", "Tree"), .init("sector", "ngo")]).id
        ana = try replica.editor.insert(into: "person", [.init("organisation", ministry), .init("full_name", "Ana")]).id
        marko = try replica.editor.insert(
            into: "person", [.init("organisation", company), .init("full_name", "Marko")]
        ).id
    }

    @discardableResult
    func exchange(_ extra: [Assignment] = [], person: String? = nil, home: String? = nil, host: String? = nil)
        throws -> TandemProtocol.Record
    {
        try replica.editor.insert(
            into: "exchange",
            [
                .init("round", round), .init("person", person ?? ana), .init("home", home ?? ministry),
                .init("host", host ?? company), .init("starts_on", "2026-05-04"), .init("ends_on", "2026-05-08"),
            ] + extra)
    }

    /// The outbox as (table, op, fields JSON or nil, frozen) rows in order.
    func outbox() throws -> [(table: String, recordID: String, op: String, fields: String?)] {
        try replica.withDatabase { db in
            try Row.fetchAll(db, sql: "SELECT tbl, record_id, op, fields FROM tandem_outbox ORDER BY seq").map {
                (table: $0["tbl"], recordID: $0["record_id"], op: $0["op"], fields: $0["fields"])
            }
        }
    }

    func count(_ table: String) throws -> Int {
        try replica.withDatabase { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }
}
