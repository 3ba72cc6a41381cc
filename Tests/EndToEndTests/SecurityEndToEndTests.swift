import Foundation
import TandemClient
import TandemTesting
import Testing

/// TLS with a private certificate authority, rate limits seen from the CLI, tokens kept out of
/// logs and in files only their owner reads, and a replica that refuses what its role may not do
/// (SPEC §3, §4, §6).
@Suite struct SecurityEndToEndTests {
    /// A throwaway certificate authority and a certificate it signed for 127.0.0.1, made with
    /// `openssl` (scripts/install-deps.sh installs it).
    struct Certificates {
        let folder: TemporaryDirectory
        var ca: String { folder.path("ca.pem") }
        var certificate: String { folder.path("server.pem") }
        var key: String { folder.path("server.key") }

        init() throws {
            folder = try TemporaryDirectory(prefix: "tandem-tls")
            _ = try folder.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n", to: "ext.cnf")
            let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            try Self.openssl(
                ["req", "-x509"] + curve
                    + ["-keyout", folder.path("ca.key"), "-out", ca, "-days", "2", "-subj", "/CN=Tandem test CA"])
            try Self.openssl(
                ["req"] + curve + ["-keyout", key, "-out", folder.path("server.csr"), "-subj", "/CN=127.0.0.1"])
            try Self.openssl([
                "x509", "-req", "-in", folder.path("server.csr"), "-CA", ca, "-CAkey", folder.path("ca.key"),
                "-CAcreateserial", "-out", certificate, "-days", "2", "-extfile", folder.path("ext.cnf"),
            ])
        }

        private static func openssl(_ arguments: [String]) throws {
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let said = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ServerCLIError(
                    description: "openssl \(arguments.first ?? "") failed: \(String(decoding: said, as: UTF8.self))")
            }
        }
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func httpsWithAPrivateAuthorityNeedsCAFileAndKeepsIt() throws {
        let certificates = try Certificates()
        let log = certificates.folder.path("server.log")
        let server = try ServerProcess.start(
            arguments: ["--tls-cert", certificates.certificate, "--tls-key", certificates.key], logLevel: "trace",
            log: log)
        defer { server.stop() }
        #expect(server.url.hasPrefix("https://127.0.0.1:"), "\(server.url)")
        let ministry = try server.addOrganisation(name: "Ministry", sector: "public")
        let db = certificates.folder.path("ministry.sqlite")

        // Without the authority: a certificate error, 69, nothing created.
        let refused = try BinaryRunner.run(
            "tandem", ["init", "--server", server.url, "--token", ministry.token, "--db", db])
        #expect(refused.status == 69, "\(refused)")
        #expect(refused.stderr.hasPrefix("tandem: cannot verify the certificate of \(server.url)"), "\(refused)")
        #expect(refused.stderr.contains("--ca-file"))
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: db))

        // With it: created, 0600 (and its WAL files), and later syncs use the stored authority.
        let created = try BinaryRunner.run(
            "tandem",
            ["init", "--server", server.url, "--token", ministry.token, "--ca-file", certificates.ca, "--db", db])
        #expect(created.status == 0, "\(created)")
        #expect(try mode(db) == 0o600)
        do {
            // While the replica is open after an edit, its WAL and shared-memory files exist: they
            // hold the token's row too, so they are 0600 as well.
            let replica = try Replica.open(at: db)
            try replica.editor.insert(into: "person", [.init("organisation", ministry.id), .init("full_name", "Bo")])
            for suffix in ["", "-wal", "-shm"] {
                #expect(FileManager.default.fileExists(atPath: db + suffix), "\(db + suffix)")
                #expect(try mode(db + suffix) == 0o600, "\(db + suffix)")
            }
        }
        let added = try BinaryRunner.run(
            "tandem", ["add", "person", "organisation=\(ministry.id)", "full_name=Ana", "--db", db])
        #expect(added.status == 0, "\(added)")
        let synced = try BinaryRunner.run("tandem", ["sync", "--db", db])
        #expect(synced.status == 0 && synced.stdout.hasPrefix("Pushed 2 changes"), "\(synced)")
        let status = try BinaryRunner.run("tandem", ["status", "--db", db, "--format", "json"])
        #expect(status.stdout.contains(#""server":"\#(server.url)""#), "\(status)")

        // A missing --ca-file is 66 and changes nothing.
        let missing = try BinaryRunner.run(
            "tandem", ["sync", "--ca-file", certificates.folder.path("nope.pem"), "--db", db])
        #expect(missing.status == 66, "\(missing)")

        // No token reaches the log, even at trace level.
        server.stop()
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!logged.isEmpty)
        for token in [ministry.token, server.coordinatorToken] {
            #expect(!logged.contains(token))
            #expect(!logged.contains(String(token.dropFirst(4))))
        }
    }

    @Test func serveRefusesMissingOrBadCertificates() throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("data")
        #expect(try BinaryRunner.run("tandem-server", ["init", "--data", data]).status == 0)
        _ = try folder.write("not a certificate\n", to: "bad.pem")
        let missing = try BinaryRunner.run(
            "tandem-server",
            [
                "serve", "--data", data, "--port", "0", "--tls-cert", folder.path("no.pem"), "--tls-key",
                folder.path("no.key"),
            ])
        #expect(missing.status == 66, "\(missing)")
        let bad = try BinaryRunner.run(
            "tandem-server",
            [
                "serve", "--data", data, "--port", "0", "--tls-cert", folder.path("bad.pem"), "--tls-key",
                folder.path("bad.pem"),
            ])
        #expect(bad.status == 65, "\(bad)")
        #expect(bad.stderr.hasPrefix("tandem-server: "))
        let alone = try BinaryRunner.run(
            "tandem-server", ["serve", "--data", data, "--port", "0", "--tls-cert", folder.path("bad.pem")])
        #expect(alone.status == 64, "\(alone)")
    }

    @Test func theCLIWaitsOutA429AndCarriesOn() throws {
        // One pull a burst, refilled every 2 s: init takes it; the sync right after waits.
        let server = try ServerProcess.start(arguments: ["--pull-rate", "0.5", "--pull-burst", "1"])
        defer { server.stop() }
        let db = server.folder.path("coordinator.sqlite")
        let created = try BinaryRunner.run(
            "tandem", ["init", "--server", server.url, "--token", server.coordinatorToken, "--db", db])
        #expect(created.status == 0, "\(created)")
        let synced = try BinaryRunner.run("tandem", ["sync", "--db", db])
        #expect(synced.status == 0, "\(synced)")
        #expect(synced.stderr.contains("tandem: the server is rate-limiting this token; retrying GET /v1/pull in"))
    }

    @Test func aMembersReplicaRefusesWhatItsOrganisationDoesNotOwn() throws {
        let server = try ServerProcess.start()
        defer { server.stop() }
        let ministry = try server.addOrganisation(name: "Ministry", sector: "public")
        let company = try server.addOrganisation(name: "Kovina", sector: "private")
        let auditor = try server.admin(["token", "issue", "--role", "auditor"]).output
        func tandem(_ name: String, _ arguments: [String]) throws -> ProcessResult {
            try BinaryRunner.run("tandem", arguments + ["--db", server.folder.path("\(name).sqlite")])
        }
        #expect(try tandem("ministry", ["init", "--server", server.url, "--token", ministry.token]).status == 0)
        #expect(try tandem("auditor", ["init", "--server", server.url, "--token", auditor]).status == 0)
        let before = try tandem("ministry", ["status", "--format", "json"]).stdout

        let round = try tandem("ministry", ["add", "round", "number=7"])
        #expect(round.status == 77, "\(round)")
        #expect(round.stderr == "tandem: round: not permitted: only coordinators may change round records\n")
        let other = try tandem("ministry", ["set", "organisation", company.id, "name=Mine"])
        #expect(other.status == 77, "\(other)")
        #expect(other.stderr.hasPrefix("tandem: organisation \(company.id): not permitted"))
        #expect(try tandem("ministry", ["status", "--format", "json"]).stdout == before)
        #expect(try tandem("ministry", ["set", "organisation", ministry.id, "name=Ministry of Work"]).status == 0)

        let audit = try tandem("auditor", ["add", "person", "organisation=\(ministry.id)", "full_name=Eve"])
        #expect(audit.status == 77, "\(audit)")
        #expect(audit.stderr == "tandem: person: not permitted: an auditor may not edit records\n")
        #expect(try tandem("auditor", ["rm", "organisation", ministry.id]).status == 77)
    }
}
