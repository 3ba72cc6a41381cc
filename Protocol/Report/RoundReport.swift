/// The figures of one round (SPEC §7), computed from its exchanges: exchanges by status; per
/// sector, the organisations taking part (as home or host) and the employees exchanged
/// (distinct persons whose home organisation has that sector); and all distinct employees.
/// Cancelled exchanges count nowhere. Every status and sector appears, with zeros.
///
/// ```swift
/// let report = RoundReport(round: 5, statuses: statuses, sectors: sectors, exchanges: rows)
/// report.employeesExchanged  // 58
/// ```
public struct RoundReport: Hashable, Sendable {
    /// One exchange of the round, with the sectors of its two organisations.
    public struct Exchange: Hashable, Sendable {
        public var status: String
        public var person: String
        public var home: String
        public var homeSector: String?
        public var host: String
        public var hostSector: String?

        public init(
            status: String, person: String, home: String, homeSector: String?, host: String, hostSector: String?
        ) {
            self.status = status
            self.person = person
            self.home = home
            self.homeSector = homeSector
            self.host = host
            self.hostSector = hostSector
        }
    }

    /// One challenge of the round.
    public struct Challenge: Hashable, Sendable {
        public var id: String
        public var title: String
        public var status: String
        public var mentor: String?

        public init(id: String, title: String, status: String, mentor: String?) {
            self.id = id
            self.title = title
            self.status = status
            self.mentor = mentor
        }
    }

    public struct SectorFigures: Hashable, Sendable {
        public var sector: String
        public var organisations: Int
        public var employees: Int
    }

    public static let excludedStatus = "cancelled"

    public var round: Int64
    /// Every status in declared order with its count.
    public var exchangesByStatus: [(status: String, count: Int)]
    public var totalExchanges: Int
    /// Every sector in declared order.
    public var sectors: [SectorFigures]
    public var employeesExchanged: Int
    /// Every challenge status in declared order with its count; empty when the schema has no
    /// challenges (the report then has no `challenges` member).
    public var challengesByStatus: [(status: String, count: Int)] = []
    public var totalChallenges = 0
    /// The round's selected challenges (those the programme's limit counts: selected, in progress
    /// or completed), in id order, each with its mentor or none.
    public var selectedChallenges: [Challenge] = []

    /// - Parameters:
    ///   - challengeStatuses: every challenge status, in order (none: no challenge figures).
    ///   - selectedStatuses: the statuses that make a challenge selected.
    public init(
        round: Int64, statuses: [String], sectors: [String], exchanges: [Exchange], challengeStatuses: [String] = [],
        selectedStatuses: [String] = [], challenges: [Challenge] = []
    ) {
        let counted = exchanges.filter { $0.status != Self.excludedStatus }
        var byStatus: [String: Int] = [:]
        var organisations: [String: Set<String>] = [:]
        var employees: [String: Set<String>] = [:]
        for exchange in counted {
            byStatus[exchange.status, default: 0] += 1
            if let sector = exchange.homeSector {
                organisations[sector, default: []].insert(exchange.home)
                employees[sector, default: []].insert(exchange.person)
            }
            if let sector = exchange.hostSector { organisations[sector, default: []].insert(exchange.host) }
        }
        self.round = round
        self.exchangesByStatus = statuses.map { (status: $0, count: byStatus[$0] ?? 0) }
        self.totalExchanges = counted.count
        self.sectors = sectors.map {
            SectorFigures(
                sector: $0, organisations: organisations[$0]?.count ?? 0, employees: employees[$0]?.count ?? 0)
        }
        self.employeesExchanged = Set(counted.map(\.person)).count
        let challengeCounts = Dictionary(grouping: challenges, by: \.status).mapValues(\.count)
        challengesByStatus = challengeStatuses.map { (status: $0, count: challengeCounts[$0] ?? 0) }
        totalChallenges = challenges.count
        selectedChallenges = challenges.filter { selectedStatuses.contains($0.status) }.sorted { $0.id < $1.id }
    }

    /// How many selected challenges have a mentor.
    public var mentoredChallenges: Int { selectedChallenges.filter { $0.mentor != nil }.count }

    /// The JSON shape of SPEC §3.
    public var json: JSONValue {
        .object(
            [
                JSONMember("round", .int(round)),
                JSONMember(
                    "exchanges",
                    .object([
                        JSONMember("total", .int(Int64(totalExchanges))),
                        JSONMember(
                            "by_status", .object(exchangesByStatus.map { JSONMember($0.status, .int(Int64($0.count))) })
                        ),
                    ])),
                JSONMember(
                    "sectors",
                    .object(
                        sectors.map {
                            JSONMember(
                                $0.sector,
                                .object([
                                    JSONMember("organisations", .int(Int64($0.organisations))),
                                    JSONMember("employees", .int(Int64($0.employees))),
                                ]))
                        })),
                JSONMember("employees_exchanged", .int(Int64(employeesExchanged))),
            ] + challengesJSON)
    }

    /// `"challenges": {"total", "by_status", "selected": [{"id", "title", "status", "mentor"}], "mentored"}`.
    private var challengesJSON: [JSONMember] {
        guard !challengesByStatus.isEmpty else { return [] }
        return [
            JSONMember(
                "challenges",
                .object([
                    JSONMember("total", .int(Int64(totalChallenges))),
                    JSONMember(
                        "by_status",
                        .object(challengesByStatus.map { JSONMember($0.status, .int(Int64($0.count))) })),
                    JSONMember(
                        "selected",
                        .array(
                            selectedChallenges.map { challenge in
                                .object([
                                    JSONMember("id", .string(challenge.id)),
                                    JSONMember("title", .string(challenge.title)),
                                    JSONMember("status", .string(challenge.status)),
                                    JSONMember("mentor", challenge.mentor.map(JSONValue.string) ?? .null),
                                ])
                            })),
                    JSONMember("mentored", .int(Int64(mentoredChallenges))),
                ]))
        ]
    }

    public static func == (lhs: RoundReport, rhs: RoundReport) -> Bool {
        lhs.json == rhs.json
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(json) }
}
