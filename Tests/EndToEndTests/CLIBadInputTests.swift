import Foundation
import GRDB
import TandemTesting
import Testing

/// Every bad input ends with one stderr line naming what is wrong, a sysexits code, and nothing written.
@Suite struct CLIBadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let arguments: @Sendable (CLIFixture) -> [String]
        let status: Int32
        let stderr: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "wrong type", arguments: { _ in ["add", "round", "number=five"] }, status: 65,
            stderr: "round.number: \"five\" is not an integer"),
        Case(
            name: "unknown enum value", arguments: { $0.exchangeArgs(["status=maybe"]) }, status: 65,
            stderr: "exchange.status: \"maybe\" is not one of draft, proposed, confirmed, completed, cancelled"),
        Case(
            name: "missing required field", arguments: { _ in ["add", "organisation", "name=Nameless"] }, status: 65,
            stderr: "organisation.sector: is required"),
        Case(
            name: "unknown field", arguments: { $0.exchangeArgs(["colour=red"]) }, status: 65,
            stderr: "exchange: no field named \"colour\""),
        Case(
            name: "unknown table", arguments: { _ in ["add", "meeting", "title=x"] }, status: 66,
            stderr: "no table named \"meeting\""),
        Case(
            name: "dangling reference",
            arguments: { _ in ["add", "person", "organisation=0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", "full_name=X"] },
            status: 65, stderr: "person.organisation: no organisation with id 0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"),
        Case(
            name: "ends_on before starts_on", arguments: { $0.exchangeArgs(["ends_on=2026-05-01"]) }, status: 65,
            stderr: "exchange.ends_on: 2026-05-01 is before starts_on 2026-05-04"),
        Case(
            name: "impossible date", arguments: { $0.exchangeArgs(["starts_on=2026-02-30"]) }, status: 65,
            stderr: "exchange.starts_on: \"2026-02-30\" is not a date (YYYY-MM-DD)"),
        Case(
            name: "duplicate unique value", arguments: { _ in ["add", "round", "number=5"] }, status: 65,
            stderr: "round.number: \"5\" is already used by"),
        Case(
            name: "not field=value", arguments: { _ in ["add", "round", "number"] }, status: 64,
            stderr: "expected field=value, got \"number\""),
        Case(
            name: "field given twice", arguments: { _ in ["add", "round", "number=6", "number=7"] }, status: 64,
            stderr: "round.number: given more than once"),
        Case(
            name: "set of a missing record", arguments: { _ in ["set", "exchange", "0193aaaa", "status=draft"] },
            status: 66,
            stderr: "exchange: no record with id 0193aaaa"),
        Case(
            name: "too short a prefix", arguments: { ["get", "person", String($0.ana.prefix(3))] }, status: 64,
            stderr: "person: id prefix"),
        Case(
            name: "required field set to NULL", arguments: { ["set", "person", $0.ana, "full_name="] }, status: 65,
            stderr: "person.full_name: is required"),
        Case(
            name: "bad bool-like value for int", arguments: { _ in ["add", "round", "number=1.5"] }, status: 65,
            stderr: "round.number: \"1.5\" is not an integer"),
        Case(
            name: "negative limit", arguments: { _ in ["list", "round", "--limit=-1"] }, status: 64,
            stderr: "--limit must be 0 or more"),
    ]

    @Test(arguments: cases)
    func isRefusedWithOneLineAndNothingWritten(_ testCase: Case) throws {
        let fixture = try CLIFixture.populated()
        let before = try fixture.snapshot()
        let result = try fixture.tandem(testCase.arguments(fixture))
        #expect(result.status == testCase.status, "\(result)")
        #expect(result.stderr.hasPrefix("tandem: " + testCase.stderr), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "one line: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try fixture.snapshot() == before)
    }

    @Test func usageErrorsFromTheParserExit64() throws {
        let fixture = try CLIFixture.populated()
        #expect(try fixture.tandem(["get", "exchange"]).status == 64)
        #expect(try fixture.tandem(["list", "exchange", "--format", "xml"]).status == 64)
        #expect(try fixture.tandem(["frobnicate"]).status == 64)
    }

    @Test func aMissingReplicaIs66() throws {
        let folder = try TemporaryDirectory()
        let result = try BinaryRunner.run("tandem", ["list", "round", "--db", folder.path("none.sqlite")])
        #expect(result.status == 66)
        #expect(result.stderr.hasPrefix("tandem: no replica at "))
        #expect(!FileManager.default.fileExists(atPath: folder.path("none.sqlite")))
    }

    @Test func aFileThatIsNotADatabaseIsRefusedUntouched() throws {
        let folder = try TemporaryDirectory()
        let path = try folder.write(String(repeating: "not a database\n", count: 400), to: "notes.sqlite")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for arguments in [["list", "round"], ["add", "round", "number=1"], ["status"]] {
            let result = try BinaryRunner.run("tandem", arguments + ["--db", path])
            #expect(result.status == 65, "\(result)")
            #expect(result.stderr == "tandem: \(path) is not a Tandem replica (not an SQLite database)\n")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func anotherSQLiteDatabaseIsRefusedUntouched() throws {
        let fixture = try CLIFixture()
        // A valid SQLite file made by tandem itself, with Tandem's marker table removed.
        try rawSQL(fixture.db, "DROP TABLE tandem_meta")
        let result = try fixture.tandem(["add", "round", "number=1"])
        #expect(result.status == 65)
        #expect(result.stderr == "tandem: \(fixture.db) is an SQLite database but not a Tandem replica\n")
    }

    @Test func anUnwritablePlaceIs73() throws {
        let folder = try TemporaryDirectory()
        let file = try folder.write("x", to: "plain-file")
        let result = try BinaryRunner.run("tandem", ["init", "--db", file + "/replica.sqlite"])
        #expect(result.status == 73, "\(result)")
        #expect(result.stderr.hasPrefix("tandem: cannot create"))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func aFolderIsNotAReplica() throws {
        let folder = try TemporaryDirectory()
        let result = try BinaryRunner.run("tandem", ["status", "--db", folder.url.path])
        #expect(result.status == 65)
    }
}

extension CLIFixture {
    func exchangeArgs(_ overrides: [String]) -> [String] {
        var fields = exchange
        for override in overrides {
            let name = override.split(separator: "=")[0]
            fields.removeAll { $0.hasPrefix(name + "=") }
            fields.append(override)
        }
        return ["add", "exchange"] + fields
    }
}

/// Runs SQL on a file directly, outside Tandem.
func rawSQL(_ path: String, _ sql: String) throws {
    try DatabaseQueue(path: path).write { db in try db.execute(sql: sql) }
}

/// One value read directly from a file, outside Tandem.
func rawInt(_ path: String, _ sql: String) throws -> Int {
    try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
}
