import Foundation
import PostgresNIO
import TandemProtocol
import TandemTesting
import Testing

/// `tandem-server` with `--database` (SPEC §4): what it records in DIR, the password's ways in,
/// one line and a sysexits code for each way a database can be wrong, and `migrate`.
@Suite struct PostgresServerCLITests {
    func server(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try BinaryRunner.run("tandem-server", arguments, environment: environment)
    }

    @Test func initRecordsTheDatabaseInDirAndLaterCommandsNeedOnlyDir() async throws {
        let url = try await TestPostgres.newDatabase()
        let folder = try TemporaryDirectory(prefix: "tandem-pg-cli")
        let data = folder.path("data")
        let created = try server(["init", "--data", data, "--database", url])
        #expect(created.status == 0, "\(created)")
        #expect(created.output.hasPrefix("tdm_"))
        let recorded = try String(contentsOfFile: folder.path("data/database.url"), encoding: .utf8)
        #expect(recorded.trimmingCharacters(in: .whitespacesAndNewlines) == url)
        #expect(!FileManager.default.fileExists(atPath: folder.path("data/store.sqlite")), "no SQLite store beside it")

        let organisation = try server(["org", "add", "--data", data, "--name", "Acme", "--sector", "private"])
        #expect(organisation.status == 0, "\(organisation)")
        let verified = try server(["verify", "--data", data, "--format", "json"])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.output.contains(#""seq":2"#), "the key's entry and the organisation's")
        // The same store through the URL, with any folder.
        let again = try server(["verify", "--data", folder.path("elsewhere"), "--database", url])
        #expect(again.status == 0, "\(again)")

        let twice = try server(["init", "--data", folder.path("other"), "--database", url])
        #expect(twice.status == 73, "\(twice)")
        #expect(twice.stderr.split(separator: "\n").count == 1)
    }

    @Test func eachWayADatabaseCanBeWrongIsOneLineAndItsCode() async throws {
        let cluster = try TestPostgres.clusterURL()
        let folder = try TemporaryDirectory(prefix: "tandem-pg-cli")
        let data = folder.path("data")
        var closed = URLComponents(string: cluster)!
        closed.port = 1
        let cases: [(url: String, status: Int32, says: String)] = [
            (closed.string!, 69, "cannot connect"),
            (cluster.replacingOccurrences(of: "/postgres@", with: "/postgres:secret@"), 64, "PGPASSWORD"),
            (cluster + "?sslmode=sometimes", 64, "sslmode"),
            (cluster, 66, "no Tandem store"),
        ]
        for (url, status, says) in cases {
            let result = try server(["verify", "--data", data, "--database", url])
            #expect(result.status == status, "\(url): \(result)")
            #expect(result.stderr.contains(says), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(!result.stderr.contains("secret"), "the password never shows")
        }
        var missing = URLComponents(string: cluster)!
        missing.path = "/no_such_database"
        let absent = try server(["verify", "--data", data, "--database", missing.string!])
        #expect(absent.status == 69 && absent.stderr.contains("does not exist"), "\(absent)")
    }

    @Test func aStoreMadeByANewerTandemIsRefusedUntouched() async throws {
        let url = try await TestPostgres.newDatabase()
        let folder = try TemporaryDirectory(prefix: "tandem-pg-cli")
        #expect(try server(["init", "--data", folder.path("data"), "--database", url]).status == 0)
        try await TestPostgres.execute("UPDATE server_meta SET value = '99' WHERE key = 'postgres_version'", in: url)
        let refused = try server(["verify", "--data", folder.path("data")])
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("newer"), "\(refused.stderr)")
    }

    @Test func thePasswordComesFromPGPASSWORDOrAPassfileAndIsNeverKept() async throws {
        let cluster = try TestPostgres.clusterURL()
        let database = try await TestPostgres.newDatabase()
        let name = "tandem_user_" + UUID().uuidString.prefix(8).lowercased()
        try await TestPostgres.execute(
            PostgresQuery(
                unsafeSQL: "CREATE ROLE \(name) LOGIN PASSWORD 'pa:ss' SUPERUSER IN ROLE tandem_password_users"),
            in: cluster)
        // Members of tandem_password_users give a password (scripts/with-postgres.sh).
        var url = URLComponents(string: database)!
        url.user = name
        let folder = try TemporaryDirectory(prefix: "tandem-pg-cli")
        let made = try server(
            ["init", "--data", folder.path("data"), "--database", url.string!], environment: ["PGPASSWORD": "pa:ss"])
        #expect(made.status == 0, "\(made)")
        let wrong = try server(
            ["verify", "--data", folder.path("data")], environment: ["PGPASSWORD": "guess"])
        #expect(wrong.status == 69 && wrong.stderr.contains("password"), "\(wrong)")
        #expect(!wrong.stderr.contains("guess"))
        let none = try server(["verify", "--data", folder.path("data")])
        #expect(none.status == 69, "\(none)")
        let passfile = folder.path("pgpass")
        try "# host:port:database:user:password\n*:*:*:\(name):pa\\:ss\n".write(
            toFile: passfile, atomically: true, encoding: .utf8)
        url.queryItems = [URLQueryItem(name: "passfile", value: passfile)]
        let viaFile = try server(["verify", "--data", folder.path("x"), "--database", url.string!])
        #expect(viaFile.status == 0, "\(viaFile)")
        for file in try FileManager.default.subpathsOfDirectory(atPath: folder.path("data")) {
            let text = try String(contentsOfFile: folder.path("data/\(file)"), encoding: .utf8)
            #expect(!text.contains("pa:ss") && !text.contains("pa\\:ss"), "\(file) holds the password")
        }
    }

    @Test func migrateCopiesAnSQLiteStoreThatVerifiesWithTheSameHead() async throws {
        let folder = try TemporaryDirectory(prefix: "tandem-pg-cli")
        let data = folder.path("data")
        #expect(try server(["init", "--data", data]).status == 0)
        for name in ["A", "B", "C"] {
            #expect(try server(["org", "add", "--data", data, "--name", name, "--sector", "public"]).status == 0)
        }
        let token = try server(["token", "issue", "--data", data, "--role", "auditor"]).output
        let before = try server(["verify", "--data", data, "--format", "json"])
        let url = try await TestPostgres.newDatabase()
        let migrated = try server(["migrate", "--data", data, "--database", url, "--format", "json"])
        #expect(migrated.status == 0, "\(migrated)")
        let after = try server(["verify", "--data", folder.path("x"), "--database", url, "--format", "json"])
        #expect(after.status == 0, "\(after)")
        #expect(after.output == before.output, "the same head, entries and checkpoints")
        // Tokens came along: the auditor's token works against the copy.
        let served = try ServerProcess.serving(
            existing: folder.path("x"), coordinatorToken: "", arguments: ["--database", url])
        let replica = try BinaryRunner.run(
            "tandem", ["init", "--server", served.url, "--token", token, "--db", folder.path("auditor.sqlite")])
        #expect(replica.status == 0, "\(replica)")
        let status = try BinaryRunner.run(
            "tandem", ["status", "--format", "json", "--db", folder.path("auditor.sqlite")])
        #expect(status.output.contains(#""role":"auditor""#), "\(status)")

        let again = try server(["migrate", "--data", data, "--database", url])
        #expect(again.status == 73, "\(again)")
        let nothing = try server([
            "migrate", "--data", folder.path("none"), "--database", try await TestPostgres.newDatabase(),
        ])
        #expect(nothing.status == 66, "\(nothing)")
    }
}
