import Foundation
import TandemTesting
import Testing

/// The programme's rules with real binaries (SPEC §2): the CLI refuses a broken rule before it
/// writes, one line naming the rule and the record; two coordinators who each select a fifth
/// challenge offline end with one of them refused — in the loser's `tandem status` — and both
/// replicas agree.
@Suite struct ProgrammeRulesEndToEndTests {
    @Test func twoCoordinatorsSelectingAFifthChallengeOfflineConvergeWithOneRefused() throws {
        let folder = try TemporaryDirectory(prefix: "tandem-rules")
        let server = try ServerProcess.start()
        defer { server.stop() }
        let ministry = try server.addOrganisation(name: "Ministry", sector: "public")
        let second = try server.admin(["token", "issue", "--role", "coordinator"])
        #expect(second.status == 0, "\(second)")
        let cli = CLIReplicas(folder: folder, server: server)
        func replica(_ name: String, _ token: String) throws -> String { try cli.make(name, token: token) }
        func tandem(_ db: String, _ arguments: [String]) throws -> ProcessResult { try cli.run(db, arguments) }
        func add(_ db: String, _ arguments: [String]) throws -> String {
            let result = try tandem(db, ["add"] + arguments)
            #expect(result.status == 0, "\(result)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let anna = try replica("anna", server.coordinatorToken)
        let boris = try replica("boris", second.output.trimmingCharacters(in: .whitespacesAndNewlines))
        let member = try replica("ministry", ministry.token)

        // Round 5 runs from 15 April to the end of September; four challenges are selected.
        let round = try add(anna, ["round", "number=5", "opens_on=2026-04-15", "closes_on=2026-09-30"])
        let mentor = try add(anna, ["person", "organisation=\(ministry.id)", "full_name=Mira Mentor"])
        for index in 0..<4 {
            _ = try add(
                anna,
                [
                    "challenge", "round=\(round)", "title=Selected \(index)", "proposer=\(ministry.id)",
                    "status=selected", "mentor=\(mentor)",
                ])
        }
        let first = try add(anna, ["challenge", "round=\(round)", "title=Open data", "proposer=\(ministry.id)"])
        let other = try add(anna, ["challenge", "round=\(round)", "title=Permits", "proposer=\(ministry.id)"])
        #expect(try tandem(anna, ["sync"]).status == 0)
        #expect(try tandem(boris, ["sync"]).status == 0)

        // The CLI's own checks: no mentor; outside the round; the round closing before an exchange ends.
        let bare = try tandem(anna, ["set", "challenge", first, "status=selected"])
        #expect(bare.status == 65, "\(bare)")
        #expect(
            bare.stderr
                == "tandem: challenge.mentor: mentor is required when status is selected, in_progress, completed (challenge \(first))\n"
        )
        #expect(try tandem(member, ["sync"]).status == 0)
        let ana = try add(member, ["person", "organisation=\(ministry.id)", "full_name=Ana"])
        let early = try tandem(
            member,
            [
                "add", "exchange", "round=\(round)", "person=\(ana)", "home=\(ministry.id)", "host=\(ministry.id)",
                "starts_on=2026-04-01", "ends_on=2026-04-20",
            ])
        #expect(early.status == 65)
        #expect(
            early.stderr
                == "tandem: exchange.starts_on: starts_on must be on or after round.opens_on and on or before round.closes_on\n"
        )
        let exchange = try add(
            member,
            [
                "exchange", "round=\(round)", "person=\(ana)", "home=\(ministry.id)", "host=\(ministry.id)",
                "starts_on=2026-05-04", "ends_on=2026-05-08",
            ])
        #expect(try tandem(member, ["sync"]).status == 0)
        #expect(try tandem(anna, ["sync"]).status == 0)
        let closing = try tandem(anna, ["set", "round", round, "closes_on=2026-05-07"])
        #expect(closing.status == 65)
        #expect(
            closing.stderr
                == "tandem: round.closes_on: exchange \(exchange) would break ends_on must be on or after round.opens_on and on or before round.closes_on\n"
        )

        // Offline, each coordinator selects a fifth — each replica sees only four selected.
        #expect(try tandem(anna, ["set", "challenge", first, "status=selected", "mentor=\(mentor)"]).status == 0)
        #expect(try tandem(boris, ["set", "challenge", other, "status=selected", "mentor=\(mentor)"]).status == 0)
        let sixth = try tandem(
            anna,
            [
                "add", "challenge", "round=\(round)", "title=Sixth", "proposer=\(ministry.id)", "status=selected",
                "mentor=\(mentor)",
            ])
        #expect(sixth.status == 65)
        #expect(sixth.stderr.hasPrefix("tandem: challenge.round: at most 5 records whose status is selected"))
        #expect(sixth.stderr.hasSuffix(" per round (round \(round) has 5 already)\n"), "\(sixth)")

        // Anna syncs first and wins; Boris's selection is refused, and his status says why.
        #expect(try tandem(anna, ["sync"]).status == 0)
        let lost = try tandem(boris, ["sync"])
        #expect(lost.status == 0 && lost.stderr.contains("1 change"), "\(lost)")
        let status = try tandem(boris, ["status", "--format", "json"])
        #expect(status.stdout.contains(#""reason":"limit:round""#), "\(status)")
        #expect(status.stdout.contains(other))

        // Both replicas hold the same five selected challenges.
        _ = try tandem(anna, ["sync"])
        _ = try tandem(boris, ["sync"])
        for db in [anna, boris] {
            let listed = try tandem(db, ["list", "challenge", "--where", "status=selected", "--format", "json"])
            let ids = listed.stdout.split(separator: "\n").filter { $0.contains(#""id""#) }
            #expect(ids.count == 5, "\(listed)")
            #expect(listed.stdout.contains(first) && !listed.stdout.contains(other))
        }
    }
}
