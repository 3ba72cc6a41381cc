import Foundation
import TandemTesting
import Testing

/// A server with a coordinator, a ministry and a company; a round, Ana of the ministry and an
/// exchange between the two, every replica cloned on the right clock.
final class ExchangeWorld: @unchecked Sendable {
    let server: ServerProcess
    let ministry: (id: String, token: String)
    let company: (id: String, token: String)
    private(set) var exchange = ""
    private(set) var ana = ""

    init() throws {
        server = try ServerProcess.start()
        ministry = try server.addOrganisation(name: "Ministry", sector: "public")
        company = try server.addOrganisation(name: "Kovina", sector: "private")
        try ok("coordinator", ["init", "--server", server.url, "--token", server.coordinatorToken])
        let round = try ok("coordinator", ["add", "round", "number=5", "status=open"])
        try ok("coordinator", ["sync"])
        try ok("ministry", ["init", "--server", server.url, "--token", ministry.token])
        try ok("company", ["init", "--server", server.url, "--token", company.token])
        ana = try ok("ministry", ["add", "person", "organisation=\(ministry.id)", "full_name=Ana Novak"])
        exchange = try ok(
            "ministry",
            [
                "add", "exchange", "round=\(round)", "person=\(ana)", "home=\(ministry.id)", "host=\(company.id)",
                "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        try ok("ministry", ["sync"])
        try ok("company", ["sync"])
        try ok("coordinator", ["sync"])
    }

    /// Runs `tandem ARGS --db NAME.sqlite`, on a clock shifted by `clock` (``FakeTime``) when given.
    func tandem(_ name: String, _ arguments: [String], clock: String? = nil) throws -> ProcessResult {
        try BinaryRunner.run(
            "tandem", arguments + ["--db", server.folder.path("\(name).sqlite")],
            environment: clock.map(FakeTime.environment) ?? [:])
    }

    @discardableResult
    func ok(_ name: String, _ arguments: [String], clock: String? = nil) throws -> String {
        let result = try tandem(name, arguments, clock: clock)
        guard result.status == 0 else { throw FixtureError(result: result) }
        return result.output
    }

    func json(_ name: String, _ arguments: [String], clock: String? = nil) throws -> [String: Any] {
        let text = try ok(name, arguments + ["--format", "json"], clock: clock)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
