import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// Personal data that can be erased without breaking the history (SPEC §8, issue 14): the
/// history commits to personal values, the values travel beside it to whoever may see them, and
/// `erase` removes them while every hash and signature still verifies.
@Suite struct StoreSuitePersonalTests {
    /// A name long and odd enough that finding its bytes anywhere means it is there.
    static let name = "Anastazija Quintero-Wojcik"

    @Test(arguments: StoreKind.allCases)
    func theHistoryCommitsToPersonalValuesAndTheyTravelBesideIt(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ana = try await bench.person(of: bench.ministry, Self.name)
        _ = try await bench.exchange(person: ana, home: bench.ministry, host: bench.company)
        // The history itself never holds the name: only its commitment.
        let lines = try await bench.store.history(since: 0, limit: 10_000)
        #expect(!lines.contains { $0.line.contains(Self.name) })
        let insert = try #require(try await bench.entries().first { $0.change["record_id"] == .string(ana) })
        let commitment = try #require(Commitment.hex(in: insert.change["fields"]?["full_name"] ?? .null))
        // A coordinator's history line carries the value beside the entry, outside its hash.
        let line = try #require(
            try await bench.store.history(since: insert.seq - 1, limit: 1, for: bench.coordinator).first)
        let values = try Openings(json: #require(try JSONValue.parse(line.line)[LogEntry.valuesMember]))
        #expect(values.value(of: commitment) == .string(Self.name))
        var verifier = ChainVerifier()
        for earlier in try await bench.store.history(since: 0, limit: Int(insert.seq) - 1, for: bench.coordinator) {
            _ = try verifier.append(line: Array(earlier.line.utf8))
        }
        _ = try verifier.append(line: Array(line.line.utf8))
        // The member who may see Ana (her ministry, and the host of her exchange) pulls the value,
        // as the store reads a page and as `GET /v1/pull` answers (by its token, in one read).
        for organisation in [bench.ministry, bench.company] {
            let page = try await bench.store.pullPage(since: 0, limit: 1000, for: bench.member(organisation))
            #expect(page.values.value(of: commitment) == .string(Self.name))
            let token = try #require(bench.tokens[organisation])
            let signed = try #require(
                try await bench.store.signedPullPage(.token(token), since: 0, limit: 1000, now: bench.now))
            #expect(signed.page.values.value(of: commitment) == .string(Self.name))
        }
        // The town does not see her: neither her record nor her name.
        let town = try await bench.store.pullPage(since: 0, limit: 1000, for: bench.member(bench.town))
        #expect(town.values.isEmpty && !town.items.contains { $0.contains(Self.name) })
        // An auditor verifies without it: no values, and the person's record without its personal fields.
        let audited = try await bench.store.pullPage(since: 0, limit: 1000, for: bench.auditor)
        #expect(audited.values.isEmpty && !audited.items.contains { $0.contains(Self.name) })
        let signedAudit = try #require(
            try await bench.store.signedPullPage(.principal(bench.auditor), since: 0, limit: 1000, now: bench.now))
        #expect(signedAudit.page.values.isEmpty && !signedAudit.json.contains(Self.name))
        let auditorLine = try #require(
            try await bench.store.history(since: insert.seq - 1, limit: 1, for: bench.auditor).first)
        #expect(auditorLine.line == lines[Int(insert.seq) - 1].line)
        // …unless its token was issued with --personal.
        let token = try await bench.store.issueToken(
            role: .auditor, organisation: nil, seesPersonalValues: true, now: bench.now)
        let personal = try #require(try await bench.store.authenticate(token: token))
        #expect(personal.seesPersonalValues)
        let opened = try await bench.store.pullPage(since: 0, limit: 1000, for: personal)
        #expect(opened.values.value(of: commitment) == .string(Self.name))
        #expect(try await bench.store.verify().failure == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aPlainPersonalValueRefusesThePushWholeAndAnUnopenedOneIsRejected(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let head = try await bench.store.headSeq()
        // Signed by a registered device, but with the name in plain: it would sit in the chain for ever.
        let device = bench.deviceID("d", for: ministry)
        var plain = bench.insert("person", bench.newID(), bench.personFields(bench.ministry, Self.name))
        plain.device = device
        let round = bench.insert("round", bench.newID(), ["number": .int(9)])
        do {
            _ = try await bench.store.push(
                [
                    TestDevices.shared.signed(round, as: device),
                    plain.signed(with: TestDevices.shared.key(for: device)),
                ],
                carrying: [], values: Openings(), by: ministry, now: bench.now)
            Issue.record("a plain personal value was taken")
        } catch let error as ServerError {
            #expect(error.code == "plain_personal_value" && error.message.contains("changes[1].fields.full_name"))
        }
        #expect(try await bench.store.headSeq() == head, "nothing written")
        // Committed to, but without its value beside it (or with an altered one): rejected, logged
        // with the commitment only.
        let sealed = TestDevices.shared.signed(
            bench.insert("person", bench.newID(), bench.personFields(bench.ministry, Self.name)), as: device)
        let commitment = try #require(Commitment.hex(in: sealed.fields["full_name"] ?? .null))
        let genuine = TestDevices.shared.openings(of: [sealed])
        var altered = genuine
        altered[commitment]?.value = .string("Mallory")
        for values in [Openings(), altered] {
            let results = try await bench.store.push(
                [sealed], carrying: [], values: values, by: ministry, now: bench.now)
            #expect(results.map(\.reason) == ["commitment:full_name"])
            if results.first?.status == .rejected, values.isEmpty {
                // Refused for its opening, the change does not hold its id: the genuine one still comes.
                continue
            }
        }
        let results = try await bench.store.push([sealed], carrying: [], values: genuine, by: ministry, now: bench.now)
        #expect(results.map(\.status) == [.duplicate] || results.map(\.status) == [.applied])
        let history = try await bench.store.history(since: head, limit: 100)
        #expect(!history.contains { $0.line.contains(Self.name) || $0.line.contains("Mallory") })
        #expect(try await bench.store.verify().failure == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func anErasureRemovesTheValuesAndTheHistoryStillVerifies(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let ana = try await bench.person(of: bench.ministry, Self.name)
        _ = try await bench.exchange(person: ana, home: bench.ministry, host: bench.company)
        try await bench.expect(
            [.applied, .applied],
            [
                bench.update("person", ana, base: 1, ["title": .string("Director of Quintero Affairs")]),
                bench.update("person", ana, base: 2, ["email": .string("quintero-wojcik@gov.example")]),
            ], by: ministry)
        // Only a coordinator erases; a table without personal data, an unknown record: refused.
        await #expect(throws: ServerError.self) {
            try await bench.store.erase(EraseRequest(table: "person", recordID: ana), by: ministry, now: bench.now)
        }
        for (request, code) in [
            (EraseRequest(table: "round", recordID: bench.round), "no_personal_data"),
            (EraseRequest(table: "person", recordID: bench.newID()), "not_found"),
        ] {
            do {
                _ = try await bench.store.erase(request, by: bench.coordinator, now: bench.now)
                Issue.record("\(request) was erased")
            } catch let error as ServerError {
                #expect(error.code.rawValue == code)
            }
        }
        let erased = try await bench.store.erase(
            EraseRequest(table: "person", recordID: ana), by: bench.coordinator, now: bench.now)
        #expect(erased.erased == ["email", "full_name", "title"] && erased.unerasable == 0)
        // The record stays, its id and reference with it; its personal fields are null.
        let item = try #require(try await bench.record(ana))
        #expect(item.record == ["organisation": .string(bench.ministry)] && item.version == erased.version)
        #expect(item.entry?.op == .erase && item.entry?.author.role == .coordinator)
        // No one receives the values any more, and no later change may edit the record.
        for principal in [bench.coordinator, ministry, bench.member(bench.company)] {
            let page = try await bench.store.pullPage(since: 0, limit: 1000, for: principal)
            #expect(page.values.isEmpty && !page.items.contains { $0.contains("Quintero") })
        }
        let history = try await bench.store.history(since: 0, limit: 10_000, for: bench.coordinator)
        #expect(!history.contains { $0.line.contains("Quintero") })
        try await bench.expect(
            [.rejected], [bench.update("person", ana, base: erased.version, ["title": .string("Back")])], by: ministry)
        #expect(try await bench.entries().last?.outcome["reason"] == .string("erased"))
        do {
            _ = try await bench.store.erase(
                EraseRequest(table: "person", recordID: ana), by: bench.coordinator, now: bench.now)
            Issue.record("erased twice")
        } catch let error as ServerError {
            #expect(error.code == "erased")
        }
        #expect(try await bench.store.verify().failure == nil)
        // Not a byte of the values in the store's files (SQLite: the database, its WAL).
        if kind == .sqliteOnDisk, let folder = bench.subject.resources as? TemporaryDirectory {
            let directory = folder.path("data")
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(file))
                #expect(bytes.range(of: Data("Quintero".utf8)) == nil, "\(file) holds an erased value")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anAlteredValueBesideTheHistoryIsFoundByVerify(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ana = try await bench.person(of: bench.ministry, Self.name)
        let insert = try #require(try await bench.entries().first { $0.change["record_id"] == .string(ana) })
        let commitment = try #require(Commitment.hex(in: insert.change["fields"]?["full_name"] ?? .null))
        try await bench.subject.tamper(.opening(commitment, #""Mallory""#))
        let report = try await bench.store.verify()
        #expect(report.failure?.seq == insert.seq, "\(String(describing: report.failure))")
    }
}
