import Foundation
import TandemTesting

/// A replica made by the real `tandem` binary in a temporary folder, with a round, organisations
/// and persons, for tests that run the CLI as a user's script would.
final class CLIFixture: Sendable {
    let folder: TemporaryDirectory
    let db: String
    let round: String
    let ministry: String
    let company: String
    let ana: String

    init() throws {
        folder = try TemporaryDirectory()
        db = folder.path("replica.sqlite")
        let created = try BinaryRunner.run("tandem", ["init", "--db", db])
        guard created.status == 0 else { throw FixtureError(result: created) }
        round = ""
        ministry = ""
        company = ""
        ana = ""
    }

    private init(folder: TemporaryDirectory, db: String, round: String, ministry: String, company: String, ana: String)
    {
        self.folder = folder
        self.db = db
        self.round = round
        self.ministry = ministry
        self.company = company
        self.ana = ana
    }

    /// A replica with round 5, a ministry (public), a company (private) and Ana of the ministry.
    static func populated() throws -> CLIFixture {
        let empty = try CLIFixture()
        let round = try empty.id(["add", "round", "number=5", "status=open"])
        let ministry = try empty.id(["add", "organisation", "name=Ministry", "sector=public"])
        let company = try empty.id(["add", "organisation", "name=Kovina", "sector=private", "registration_id=SI-1"])
        let ana = try empty.id(["add", "person", "organisation=\(ministry)", "full_name=Ana Novak"])
        return CLIFixture(
            folder: empty.folder, db: empty.db, round: round, ministry: ministry, company: company, ana: ana)
    }

    /// Runs `tandem ARGS --db DB`.
    func tandem(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        try BinaryRunner.run("tandem", arguments + ["--db", db], stdin: stdin)
    }

    /// Runs an `add` and returns the id it printed.
    func id(_ arguments: [String]) throws -> String {
        let result = try tandem(arguments)
        guard result.status == 0 else { throw FixtureError(result: result) }
        return result.output
    }

    /// The exchange assignments every test starts from.
    var exchange: [String] {
        [
            "round=\(round)", "person=\(ana)", "home=\(ministry)", "host=\(company)", "starts_on=2026-05-04",
            "ends_on=2026-05-08",
        ]
    }

    /// Everything a user could see of the replica: every table's JSON export and the status.
    func snapshot() throws -> String {
        var text = ""
        for table in ["round", "organisation", "person", "challenge", "exchange", "practice"] {
            text += try tandem(["export", table, "--format", "json"]).stdout
        }
        return text + (try tandem(["status", "--format", "json"]).stdout)
    }

    func json(_ arguments: [String]) throws -> Any {
        let result = try tandem(arguments + ["--format", "json"])
        guard result.status == 0 else { throw FixtureError(result: result) }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8), options: [.fragmentsAllowed])
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let result: ProcessResult
    var description: String { "command failed: \(result)" }
}
