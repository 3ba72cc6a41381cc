import TandemProtocol
import Testing

private let statuses = partnershipField("exchange", "status").values!
private let sectors = partnershipField("organisation", "sector").values!

private func report(_ exchanges: [RoundReport.Exchange], round: Int64 = 5) -> RoundReport {
    RoundReport(round: round, statuses: statuses, sectors: sectors, exchanges: exchanges)
}

private func exchange(
    _ status: String = "confirmed", person: String, home: String, _ homeSector: String?, host: String,
    _ hostSector: String?
) -> RoundReport.Exchange {
    RoundReport.Exchange(
        status: status, person: person, home: home, homeSector: homeSector, host: host, hostSector: hostSector)
}

private func figures(_ report: RoundReport, _ sector: String) -> (organisations: Int, employees: Int)? {
    report.sectors.first(where: { $0.sector == sector }).map { ($0.organisations, $0.employees) }
}

@Test func anEmptyRoundListsEveryStatusAndSectorWithZeros() {
    let empty = report([])
    #expect(empty.totalExchanges == 0)
    #expect(empty.exchangesByStatus.map(\.status) == statuses)
    #expect(empty.exchangesByStatus.allSatisfy { $0.count == 0 })
    #expect(empty.sectors.map(\.sector) == sectors)
    #expect(empty.sectors.allSatisfy { $0.organisations == 0 && $0.employees == 0 })
    #expect(empty.employeesExchanged == 0)
    #expect(
        empty.json.serialized()
            == #"{"round":5,"exchanges":{"total":0,"by_status":{"draft":0,"proposed":0,"confirmed":0,"completed":0,"#
            + #""cancelled":0}},"sectors":{"public":{"organisations":0,"employees":0},"private":{"organisations":0,"#
            + #""employees":0},"ngo":{"organisations":0,"employees":0},"municipality":{"organisations":0,"#
            + #""employees":0},"education":{"organisations":0,"employees":0},"other":{"organisations":0,"#
            + #""employees":0}},"employees_exchanged":0}"#)
}

@Test func cancelledExchangesCountNowhere() {
    let result = report([
        exchange("cancelled", person: "p1", home: "ministry", "public", host: "firm", "private"),
        exchange("cancelled", person: "p2", home: "school", "education", host: "ngo", "ngo"),
    ])
    #expect(result == report([]))
    #expect(result.totalExchanges == 0)
    #expect(result.exchangesByStatus.first(where: { $0.status == "cancelled" })?.count == 0)
    #expect(result.employeesExchanged == 0)
    #expect(result.sectors.allSatisfy { $0.organisations == 0 && $0.employees == 0 })
}

@Test func exchangesAreCountedByStatus() {
    let result = report([
        exchange("draft", person: "p1", home: "a", "public", host: "b", "private"),
        exchange("confirmed", person: "p2", home: "a", "public", host: "b", "private"),
        exchange("confirmed", person: "p3", home: "a", "public", host: "b", "private"),
        exchange("completed", person: "p4", home: "a", "public", host: "b", "private"),
        exchange("cancelled", person: "p5", home: "a", "public", host: "b", "private"),
    ])
    #expect(result.totalExchanges == 4)
    #expect(result.exchangesByStatus.map(\.status) == statuses)
    #expect(result.exchangesByStatus.map(\.count) == [1, 0, 2, 1, 0])
}

@Test func anOrganisationCountsOnceInItsSectorWhetherHomeOrHost() {
    let result = report([
        exchange(person: "ana", home: "ministry", "public", host: "firm", "private"),
        exchange(person: "marko", home: "firm", "private", host: "ministry", "public"),
        exchange(person: "eva", home: "ministry", "public", host: "firm", "private"),
    ])
    #expect(figures(result, "public")! == (1, 2))
    #expect(figures(result, "private")! == (1, 1))
    #expect(result.employeesExchanged == 3)
}

@Test func employeesCountByTheirHomeOrganisationsSector() {
    let result = report([
        exchange(person: "ana", home: "ministry", "public", host: "firm", "private"),
        exchange(person: "ana", home: "ministry", "public", host: "tree", "ngo"),
        exchange(person: "tim", home: "school", "education", host: "town", "municipality"),
    ])
    #expect(figures(result, "public")! == (1, 1))
    #expect(figures(result, "private")! == (1, 0))
    #expect(figures(result, "ngo")! == (1, 0))
    #expect(figures(result, "education")! == (1, 1))
    #expect(figures(result, "municipality")! == (1, 0))
    #expect(figures(result, "other")! == (0, 0))
    #expect(result.totalExchanges == 3)
    #expect(result.employeesExchanged == 2)
}

@Test func aCancelledExchangeDoesNotHideTheSamePersonsOtherExchange() {
    let result = report([
        exchange("cancelled", person: "ana", home: "ministry", "public", host: "tree", "ngo"),
        exchange("completed", person: "ana", home: "ministry", "public", host: "firm", "private"),
    ])
    #expect(figures(result, "public")! == (1, 1))
    #expect(figures(result, "private")! == (1, 0))
    #expect(figures(result, "ngo")! == (0, 0))
    #expect(result.employeesExchanged == 1)
}

@Test func organisationsWithoutAKnownSectorCountOnlyInTheTotals() {
    let result = report([exchange(person: "ana", home: "ghost", nil, host: "firm", "private")])
    #expect(result.totalExchanges == 1)
    #expect(result.employeesExchanged == 1)
    #expect(figures(result, "private")! == (1, 0))
    #expect(result.sectors.map(\.employees).reduce(0, +) == 0)
}

/// SPEC §7: "15 public bodies with 37 employees and 32 companies with 21 employees took part:
/// 58 employees exchanged."
@Test func theSpecRoundReportsItsFigures() {
    let publicBodies = (0..<15).map { "public-\($0)" }
    let companies = (0..<32).map { "company-\($0)" }
    var exchanges: [RoundReport.Exchange] = []
    for index in 0..<37 {
        exchanges.append(
            exchange(
                index % 3 == 0 ? "completed" : "confirmed", person: "civil-servant-\(index)",
                home: publicBodies[index % 15], "public", host: companies[index % 32], "private"))
    }
    for index in 0..<21 {
        exchanges.append(
            exchange(
                "confirmed", person: "employee-\(index)", home: companies[index % 21], "private",
                host: publicBodies[index % 15], "public"))
    }
    // Some civil servants go twice; some plans fell through. Neither changes the figures.
    exchanges.append(
        exchange("draft", person: "civil-servant-0", home: publicBodies[0], "public", host: companies[5], "private"))
    exchanges.append(
        exchange("cancelled", person: "volunteer", home: "tree", "ngo", host: publicBodies[3], "public"))
    exchanges.append(
        exchange("cancelled", person: "employee-99", home: "company-99", "private", host: "town", "municipality"))

    let result = report(exchanges)
    #expect(figures(result, "public")! == (15, 37))
    #expect(figures(result, "private")! == (32, 21))
    #expect(figures(result, "ngo")! == (0, 0))
    #expect(figures(result, "municipality")! == (0, 0))
    #expect(result.employeesExchanged == 58)
    #expect(result.totalExchanges == 59)
    #expect(result.exchangesByStatus.map(\.count) == [1, 0, 45, 13, 0])

    #expect(result.json["round"] == .int(5))
    #expect(result.json["employees_exchanged"] == .int(58))
    #expect(result.json["exchanges"]?["total"] == .int(59))
    #expect(
        result.json["sectors"]?["public"] == .object([.init("organisations", .int(15)), .init("employees", .int(37))]))
    #expect(
        result.json["sectors"]?["private"] == .object([.init("organisations", .int(32)), .init("employees", .int(21))]))
}

@Test func reportJSONHasTheSpecShape() {
    let result = report(
        [
            exchange("confirmed", person: "ana", home: "ministry", "public", host: "firm", "private"),
            exchange("completed", person: "marko", home: "firm", "private", host: "tree", "ngo"),
        ], round: 7)
    #expect(
        result.json.serialized()
            == #"{"round":7,"exchanges":{"total":2,"by_status":{"draft":0,"proposed":0,"confirmed":1,"completed":1,"#
            + #""cancelled":0}},"sectors":{"public":{"organisations":1,"employees":1},"private":{"organisations":1,"#
            + #""employees":1},"ngo":{"organisations":1,"employees":0},"municipality":{"organisations":0,"#
            + #""employees":0},"education":{"organisations":0,"employees":0},"other":{"organisations":0,"#
            + #""employees":0}},"employees_exchanged":2}"#)
}

@Test func reportsWithTheSameFiguresAreEqual() {
    let one = report([exchange(person: "ana", home: "ministry", "public", host: "firm", "private")])
    let same = report([
        exchange(person: "ana", home: "ministry", "public", host: "firm", "private"),
        exchange("cancelled", person: "bob", home: "x", "other", host: "y", "other"),
    ])
    #expect(one == same)
    #expect(one.hashValue == same.hashValue)
    #expect(one != report([]))
}
