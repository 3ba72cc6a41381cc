import GRDB
public import TandemProtocol

extension Replica {
    /// The figures of round `number` (SPEC §7), from the records in this replica.
    ///
    /// - Throws: `notFound` when there is no such round; `usage` when the schema is not one
    ///   with rounds, exchanges and organisations with sectors.
    public func roundReport(number: Int64) throws(ReplicaError) -> RoundReport {
        let statuses: [String]
        let sectors: [String]
        do {
            let exchange = try schema.table(named: "exchange")
            let organisation = try schema.table(named: "organisation")
            _ = try schema.table(named: "round").field(named: "number")
            for name in ["round", "person", "home", "host"] { _ = try exchange.field(named: name) }
            statuses = try exchange.field(named: "status").values ?? []
            sectors = try organisation.field(named: "sector").values ?? []
        } catch {
            throw ReplicaError(.usage, "the round report needs the partnership schema (\(error.message))")
        }
        // The challenge figures, when the schema has challenges of rounds with a status; the
        // selected statuses are those the schema's limit on a round's challenges counts.
        let challenges = try? schema.table(named: "challenge")
        let challengeStatuses = (try? challenges?.field(named: "status").values) ?? nil
        let selectedStatuses =
            challenges?.constraints.first { $0.kind == .limit && $0.field.field == "round" }?.when?.values.compactMap {
                value -> String? in
                if case let .string(text) = value { text } else { nil }
            } ?? []
        let hasChallenges =
            challengeStatuses != nil
            && ["round", "title", "mentor"].allSatisfy { (try? challenges?.field(named: $0)) != nil }
        return try read { db in
            guard let round = try String.fetchOne(db, sql: "SELECT id FROM round WHERE number = ?", arguments: [number])
            else { throw ReplicaError(.notFound, "round: no round number \(number)") }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.status, e.person, e.home, home.sector AS home_sector, e.host, host.sector AS host_sector
                    FROM exchange e
                    LEFT JOIN organisation home ON home.id = e.home
                    LEFT JOIN organisation host ON host.id = e.host
                    WHERE e.round = ?
                    """, arguments: [round])
            let exchanges = rows.map { row in
                RoundReport.Exchange(
                    status: row["status"] ?? "", person: row["person"], home: row["home"],
                    homeSector: row["home_sector"], host: row["host"], hostSector: row["host_sector"])
            }
            var challengeRows: [RoundReport.Challenge] = []
            if hasChallenges {
                challengeRows = try Row.fetchAll(
                    db, sql: "SELECT id, title, status, mentor FROM challenge WHERE round = ? ORDER BY id",
                    arguments: [round]
                ).map {
                    RoundReport.Challenge(
                        id: $0["id"], title: $0["title"] ?? "", status: $0["status"] ?? "", mentor: $0["mentor"])
                }
            }
            return RoundReport(
                round: number, statuses: statuses, sectors: sectors, exchanges: exchanges,
                challengeStatuses: hasChallenges ? challengeStatuses ?? [] : [], selectedStatuses: selectedStatuses,
                challenges: challengeRows)
        }
    }
}
