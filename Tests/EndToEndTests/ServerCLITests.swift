import Foundation
import GRDB
import TandemTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The `tandem-server` binary as an administrator's script runs it (SPEC §4).
@Suite struct ServerCLITests {
    @Test func initPrintsATokenOnceAndRefusesASecondInit() throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("nested/data")
        let created = try BinaryRunner.run("tandem-server", ["init", "--data", data])
        #expect(created.status == 0, "\(created)")
        #expect(created.output.hasPrefix("tdm_") && !created.output.contains("\n"))
        #expect(created.stderr.isEmpty)

        let again = try BinaryRunner.run("tandem-server", ["init", "--data", data])
        #expect(again.status == 73)
        #expect(again.stdout.isEmpty)
        #expect(again.stderr.hasPrefix("tandem-server: ") && again.stderr.filter { $0 == "\n" }.count == 1)

        let other = folder.path("json")
        let json = try object(try BinaryRunner.run("tandem-server", ["init", "--data", other, "--format", "json"]))
        #expect(Set(json.keys) == ["token"])
    }

    @Test func orgAddPrintsAnIdAndAMemberToken() throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("data")
        #expect(try BinaryRunner.run("tandem-server", ["init", "--data", data]).status == 0)

        let text = try BinaryRunner.run(
            "tandem-server", ["org", "add", "--data", data, "--name", "Ministry", "--sector", "public"])
        #expect(text.status == 0, "\(text)")
        let lines = text.output.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].count == 36 && lines[1].hasPrefix("tdm_"))

        let json = try object(
            try BinaryRunner.run(
                "tandem-server",
                ["org", "add", "--data", data, "--name", "Kovina", "--sector", "private", "--format", "json"]))
        #expect(Set(json.keys) == ["id", "token"])
        #expect((json["id"] as? String)?.count == 36)

        let badSector = try BinaryRunner.run(
            "tandem-server", ["org", "add", "--data", data, "--name", "X", "--sector", "moon"])
        #expect(badSector.status == 65)
        #expect(badSector.stderr.hasPrefix("tandem-server: ") && badSector.stdout.isEmpty)

        let noStore = try BinaryRunner.run(
            "tandem-server", ["org", "add", "--data", folder.path("empty"), "--name", "X", "--sector", "public"])
        #expect(noStore.status == 66)
        #expect(noStore.stderr.hasPrefix("tandem-server: "))
    }

    @Test func tokenIssueNeedsAnOrganisationForMembers() throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("data")
        #expect(try BinaryRunner.run("tandem-server", ["init", "--data", data]).status == 0)
        let org = try object(
            try BinaryRunner.run(
                "tandem-server",
                ["org", "add", "--data", data, "--name", "Ministry", "--sector", "public", "--format", "json"]))

        let member = try BinaryRunner.run("tandem-server", ["token", "issue", "--data", data, "--role", "member"])
        #expect(member.status == 64)
        #expect(member.stderr.hasPrefix("tandem-server: ") && member.stderr.filter { $0 == "\n" }.count == 1)

        let issued = try BinaryRunner.run(
            "tandem-server",
            ["token", "issue", "--data", data, "--role", "member", "--org", org["id"] as? String ?? ""])
        #expect(issued.status == 0 && issued.output.hasPrefix("tdm_"), "\(issued)")
        let auditor = try object(
            try BinaryRunner.run(
                "tandem-server", ["token", "issue", "--data", data, "--role", "auditor", "--format", "json"]))
        #expect(Set(auditor.keys) == ["token"])

        let unknownOrg = try BinaryRunner.run(
            "tandem-server",
            ["token", "issue", "--data", data, "--role", "member", "--org", "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"])
        #expect(unknownOrg.status == 65)
        let badRole = try BinaryRunner.run("tandem-server", ["token", "issue", "--data", data, "--role", "admin"])
        #expect(badRole.status == 64)
        #expect(badRole.stderr.hasPrefix("tandem-server: "))
    }

    @Test func revokedTokenIsRefusedByARunningServerAtOnce() async throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("data")
        #expect(try BinaryRunner.run("tandem-server", ["init", "--data", data]).status == 0)
        let org = try object(
            try BinaryRunner.run(
                "tandem-server",
                ["org", "add", "--data", data, "--name", "Ministry", "--sector", "public", "--format", "json"]))
        let token = try #require(org["token"] as? String)

        let server = try RunningServer(data: data, log: folder.path("server.log"))
        defer { server.stop() }
        let health = try await server.get("/healthz")
        #expect(health.status == 200 && health.body == #"{"status":"ok"}"#)
        let before = try await server.get("/v1/whoami", token: token)
        #expect(before.status == 200 && before.body.contains(#""role":"member""#), "\(before)")

        let revoked = try BinaryRunner.run("tandem-server", ["token", "revoke", "--data", data, "--token", token])
        #expect(revoked.status == 0, "\(revoked)")
        let after = try await server.get("/v1/whoami", token: token)
        #expect(after.status == 401)
        #expect(after.body.contains(#""error":"unauthorized""#))

        let twice = try BinaryRunner.run("tandem-server", ["token", "revoke", "--data", data, "--token", token])
        #expect(twice.status == 65)
        #expect(server.stop() == 0)
    }

    @Test func verifyReportsASoundHistory() throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("data")
        #expect(try BinaryRunner.run("tandem-server", ["init", "--data", data]).status == 0)
        for name in ["Ministry", "Kovina"] {
            let added = try BinaryRunner.run(
                "tandem-server", ["org", "add", "--data", data, "--name", name, "--sector", "public"])
            #expect(added.status == 0, "\(added)")
        }
        // Entry 1 registers the server's key; each organisation is an entry.
        let head = try storedHash(data: data, seq: 3)

        let text = try BinaryRunner.run("tandem-server", ["verify", "--data", data])
        #expect(text.status == 0, "\(text)")
        #expect(text.stderr.isEmpty)
        #expect(text.output == "ok: 3 entries, head seq 3 \(head), 0 checkpoints verified")

        let json = try object(try BinaryRunner.run("tandem-server", ["verify", "--data", data, "--format", "json"]))
        #expect(Set(json.keys) == ["entries", "seq", "hash", "checkpoints", "withdrawn_grants", "rollback_reports"])
        #expect(json["entries"] as? Int == 3 && json["seq"] as? Int == 3 && json["checkpoints"] as? Int == 0)
        #expect((json["withdrawn_grants"] as? [Any])?.isEmpty == true)
        #expect(json["rollback_reports"] as? Int == 0)
        #expect(json["hash"] as? String == head)

        let noStore = try BinaryRunner.run("tandem-server", ["verify", "--data", folder.path("empty")])
        #expect(noStore.status == 66)
        #expect(noStore.stderr.hasPrefix("tandem-server: "))
    }

    @Test func verifyNamesTheFirstTamperedSeqAndServeStillServes() async throws {
        let folder = try TemporaryDirectory()
        let data = folder.path("data")
        let created = try BinaryRunner.run("tandem-server", ["init", "--data", data])
        let coordinator = created.output
        for name in ["Ministry", "Kovina", "Town"] {
            #expect(
                try BinaryRunner.run(
                    "tandem-server", ["org", "add", "--data", data, "--name", name, "--sector", "public"]
                ).status == 0)
        }
        #expect(try BinaryRunner.run("tandem-server", ["verify", "--data", data]).status == 0)
        // Someone with the file renames the second organisation in its history entry (seq 3).
        do {
            let file = try DatabaseQueue(path: (data as NSString).appendingPathComponent("store.sqlite"))
            try await file.write { db in
                try db.execute(sql: "UPDATE log SET entry = replace(entry, 'Kovina', 'Kovlna') WHERE seq = 3")
                #expect(db.changesCount == 1)
            }
        }

        for arguments in [["verify", "--data", data], ["verify", "--data", data, "--format", "json"]] {
            let refused = try BinaryRunner.run("tandem-server", arguments)
            #expect(refused.status == 65, "\(refused)")
            #expect(refused.stdout.isEmpty)
            #expect(refused.stderr.hasPrefix("tandem-server: seq 3: "), "\(refused.stderr)")
            #expect(refused.stderr.filter { $0 == "\n" }.count == 1 && refused.stderr.hasSuffix("\n"))
        }

        // The server starts anyway, so that auditors can pull the evidence, and says why loudly.
        let log = folder.path("server.log")
        let server = try RunningServer(data: data, log: log)
        defer { server.stop() }
        #expect(try await server.get("/healthz").status == 200)
        let history = try await server.get("/v1/history", token: coordinator)
        #expect(history.status == 200)
        #expect(history.body.split(separator: "\n").count == 4 && history.body.contains("Kovlna"))
        #expect(server.stop() == 0)
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        #expect(logged.contains("seq 3"), "\(logged)")
    }

    /// The hash of the entry at `seq`, as the store in `data` holds it.
    private func storedHash(data: String, seq: Int64) throws -> String {
        let file = try DatabaseQueue(path: (data as NSString).appendingPathComponent("store.sqlite"))
        let hash = try file.read { db in
            try String.fetchOne(db, sql: "SELECT hash FROM log WHERE seq = ?", arguments: [seq])
        }
        let found = try #require(hash)
        #expect(found.count == 64 && found.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        return found
    }

    private func object(_ result: ProcessResult) throws -> [String: Any] {
        guard result.status == 0 else { throw ServerCLIError(description: "command failed: \(result)") }
        let value = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        guard let object = value as? [String: Any] else {
            throw ServerCLIError(description: "not an object: \(result)")
        }
        return object
    }
}

struct ServerCLIError: Error, CustomStringConvertible {
    let description: String
}

/// `tandem-server serve --port 0` in the background: its address comes from the one line it
/// prints once listening.
final class RunningServer: Sendable {
    let process: ChildProcess
    let address: String

    init(data: String, log: String) throws {
        let process = ChildProcess()
        process.executableURL = BinaryRunner.binaryDirectory.appendingPathComponent("tandem-server")
        process.arguments = ["serve", "--data", data, "--port", "0"]
        let output = Pipe()
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        // A server that never says where it listens is stopped, which ends the read below (and
        // only such a server: a slow test must not lose its server after 30 s).
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        watchdog.cancel()
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("tandem-server listening on http://"), let address = text.split(separator: " ").last else {
            process.terminate()
            throw ServerCLIError(description: "serve did not start: \(text)")
        }
        self.process = process
        self.address = String(address)
    }

    /// GET `path`, with `token` as the bearer token when given.
    func get(_ path: String, token: String? = nil) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: try #require(URL(string: address + path)))
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Sends SIGTERM and waits; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
