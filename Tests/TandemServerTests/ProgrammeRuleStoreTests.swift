import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// The programme's rules decided by the SQLite store (its own count of a round's selected
/// challenges and its own look-up of the exchanges in a round), inside one push and across pushes.
extension VisibilityStoreTests {
    func challenge(_ title: String, status: String, mentor: String?) -> Change {
        var fields: [String: JSONValue] = [
            "round": .string(round), "title": .string(title), "proposer": .string(ministry), "status": .string(status),
        ]
        if let mentor { fields["mentor"] = .string(mentor) }
        return change(.insert, "challenge", newID(), fields, base: 0)
    }

    @Test func theStoreHoldsARoundToFiveSelectedChallengesEachWithAMentor() async throws {
        let mentor = try await person(of: ministry, "Mentor")
        // Five selected and a sixth in one push: the sixth sees the five before it.
        let six = (0..<6).map { challenge("C\($0)", status: "selected", mentor: mentor) }
        let results = try await push(six, by: coordinator)
        #expect(results.map(\.status) == [.applied, .applied, .applied, .applied, .applied, .rejected])
        #expect(results.last?.reason == "limit:round")
        // A proposed one may not be selected, nor inserted selected without a mentor.
        let proposed = challenge("Later", status: "proposed", mentor: nil)
        let noMentor = challenge("Bare", status: "in_progress", mentor: nil)
        let more = try await push([proposed, noMentor], by: coordinator)
        #expect(more.map(\.reason) == [nil, "check:mentor"])
        let select = change(
            .update, "challenge", proposed.recordID, ["status": .string("selected"), "mentor": .string(mentor)], base: 1
        )
        #expect(try await push([select], by: coordinator).map(\.reason) == ["limit:round"])
        // Editing a selected one is no sixth; completing one keeps it counted; deleting one frees a place.
        let edits = try await push(
            [
                change(.update, "challenge", six[0].recordID, ["description": .string("x")], base: 1),
                change(.update, "challenge", six[1].recordID, ["status": .string("completed")], base: 1),
            ], by: coordinator)
        #expect(edits.map(\.status) == [.applied, .applied])
        #expect(try await push([select], by: coordinator).map(\.reason) == ["limit:round"])
        _ = try await push([change(.delete, "challenge", six[2].recordID, [:], base: 1)], by: coordinator)
        let again = change(
            .update, "challenge", proposed.recordID, ["status": .string("selected"), "mentor": .string(mentor)], base: 1
        )
        #expect(try await push([again], by: coordinator).map(\.status) == [.applied])
    }

    @Test func theStoreKeepsExchangesInsideTheirRoundsWindow() async throws {
        try await expectStatus(
            [.applied],
            push(
                [
                    change(
                        .update, "round", round,
                        ["opens_on": .string("2026-04-15"), "closes_on": .string("2026-09-30")], base: 1)
                ],
                by: coordinator))
        let ana = try await person(of: ministry, "Ana")
        let exchange = try await exchange(person: ana, home: ministry, host: company)
        let outside = change(
            .update, "exchange", exchange, ["starts_on": .string("2026-04-01")], base: 1)
        #expect(try await push([outside], by: member(ministry)).map(\.reason) == ["check:starts_on"])
        // The round may not close before the exchange ends (4–8 May), and may close on its last day.
        let early = change(.update, "round", round, ["closes_on": .string("2026-05-07")], base: 2)
        #expect(try await push([early], by: coordinator).map(\.reason) == ["check:closes_on"])
        let exact = change(.update, "round", round, ["closes_on": .string("2026-05-08")], base: 2)
        #expect(try await push([exact], by: coordinator).map(\.status) == [.applied])
        #expect(try store.verify().failure == nil)
    }
}
