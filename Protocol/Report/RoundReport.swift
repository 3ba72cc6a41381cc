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

    public init(round: Int64, statuses: [String], sectors: [String], exchanges: [Exchange]) {
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
    }

    /// The JSON shape of SPEC §3.
    public var json: JSONValue {
        .object([
            JSONMember("round", .int(round)),
            JSONMember(
                "exchanges",
                .object([
                    JSONMember("total", .int(Int64(totalExchanges))),
                    JSONMember(
                        "by_status", .object(exchangesByStatus.map { JSONMember($0.status, .int(Int64($0.count))) })),
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
        ])
    }

    public static func == (lhs: RoundReport, rhs: RoundReport) -> Bool {
        lhs.json == rhs.json
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(json) }
}
